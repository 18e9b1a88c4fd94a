"""Which rooms allow unprompted answers, cached per replica: every question-shaped chat message asks.

Reading the switch from Redis for each such message cost a round trip on the tagger's busiest path, so each
replica caches it per room with the shared invalidating cache (`services.shared.notify.Cached`): a switch and its
notice go in one transaction, every replica drops its cached value when the notice arrives, and nothing is cached
while the process is not listening (start-up, Redis restart).
"""

from __future__ import annotations

from redis.asyncio import Redis

from services.shared.notify import Cached, Notifications
from services.tagger import keys

MAX_CACHED_ROOMS = 50_000


class UnpromptedRooms:
    def __init__(self, redis: Redis, notifications: Notifications | None = None) -> None:
        self._redis = redis
        self._cache: Cached[str, bool] = Cached(
            keys.unprompted_changed(),
            notifications if notifications is not None else Notifications.of(redis),
            redis,
            self._load,
            parse=str,
            max_size=MAX_CACHED_ROOMS,
        )

    async def enabled(self, room_id: str) -> bool:
        return await self._cache.get(room_id)

    async def switch(self, room_id: str, *, enabled: bool) -> None:
        key = keys.unprompted_rooms()
        await self._cache.write(
            room_id, lambda pipe: pipe.sadd(key, room_id) if enabled else pipe.srem(key, room_id)
        )

    async def _load(self, room_id: str) -> bool:
        return bool(await self._redis.sismember(keys.unprompted_rooms(), room_id))
