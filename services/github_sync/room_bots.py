"""Which bot account speaks in a room. Webhook notices arrive without any chat event, so we remember the bot
that last carried a message from each room that follows a repository, the only rooms notices go to (a room is
served by one logged-in account at a time).

Every message of such a room says which bot it came through; the answer rarely changes, so each replica writes it
when it changes and otherwise at most once per `refresh` (a Redis that lost the key learns it again soon)."""

from __future__ import annotations

import time

from redis.asyncio import Redis

from services.github_sync import keys


class RoomBots:
    def __init__(self, redis: Redis, *, refresh_s: float = 60.0, max_rooms: int = 100_000) -> None:
        self._redis = redis
        self._refresh_s = refresh_s
        self._max_rooms = max_rooms
        self._written: dict[str, tuple[str, float]] = {}  # room id -> (bot id, when this replica wrote it)

    async def seen(self, room_id: str, bot_id: str) -> None:
        now = time.monotonic()
        known = self._written.get(room_id)
        if known is not None and known[0] == bot_id and now - known[1] < self._refresh_s:
            return
        await self._redis.set(keys.room_bot(room_id), bot_id)
        if len(self._written) >= self._max_rooms and room_id not in self._written:
            self._written.pop(next(iter(self._written)))
        self._written[room_id] = (bot_id, now)

    async def bot_for(self, room_id: str) -> str | None:
        bot_id = await self._redis.get(keys.room_bot(room_id))
        return None if bot_id is None else str(bot_id)
