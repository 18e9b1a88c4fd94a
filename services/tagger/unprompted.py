"""Which rooms allow unprompted answers, cached per replica: every question-shaped chat message asks.

Reading the switch from Redis for each such message cost a round trip on the tagger's busiest path. The set of
rooms is small, so each replica keeps all of it. Every switch publishes the room id on
`keys.unprompted_changed()` in the same transaction (TagStore.set_unprompted); a listener drops the cached set
when a notice arrives, so a change made through any replica applies everywhere at once. While the listener is
not subscribed (start-up, Redis restart) nothing is cached and every check reads Redis, as before.
"""

from __future__ import annotations

import asyncio
import logging

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from services.tagger import keys
from services.tagger.store import TagStore

log = logging.getLogger("qunbus.tagger.unprompted")


class UnpromptedRooms:
    def __init__(self, store: TagStore, redis: Redis) -> None:
        self._store = store
        self._redis = redis
        self._rooms: frozenset[str] | None = None
        self._generation = 0  # bumped by every invalidation: a read that raced one is not cached
        self.listening = asyncio.Event()

    async def enabled(self, room_id: str) -> bool:
        if self._rooms is None:
            generation = self._generation
            rooms = await self._store.unprompted_rooms()
            if not (self.listening.is_set() and generation == self._generation):
                return room_id in rooms
            self._rooms = rooms
        return room_id in self._rooms

    async def switch(self, room_id: str, *, enabled: bool) -> None:
        await self._store.set_unprompted(room_id, enabled=enabled)
        self.forget()  # this replica sees its own change at once, before the notice comes back

    def forget(self) -> None:
        self._generation += 1
        self._rooms = None

    async def listen(self) -> None:
        """Keep the cache fresh; runs for the service's lifetime (restarted by the supervisor if Redis fails)."""
        pubsub = self._redis.pubsub()
        try:
            await pubsub.subscribe(keys.unprompted_changed())
            self.forget()  # anything read before the subscription may have missed a notice
            self.listening.set()
            async for message in pubsub.listen():
                if message["type"] == "message":
                    self.forget()
        except RedisConnectionError:
            log.warning("unprompted-rooms listener lost Redis; caching paused until it is back")
            raise
        finally:
            self.listening.clear()
            self.forget()
            await pubsub.aclose()  # type: ignore[no-untyped-call]  # redis-py leaves it unannotated
