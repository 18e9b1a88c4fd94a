"""What github-sync does with a room's ordinary messages, cached per process: every message needs it, and only an
admin's command (or a restart with a new config file) changes it.

The writes that change it (bind, unbind) publish the room id on a Redis channel in the same
transaction; every replica listens and drops that room from its cache, this one at once. While the listener is not
subscribed (start-up, Redis lost) nothing is cached. The same pattern as the plumbing's `services/shared/rooms.py`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import ConnectionError as RedisConnectionError

from services.github_sync import keys

if TYPE_CHECKING:
    from services.github_sync.bindings import Bindings

log = logging.getLogger("qunbus.github-sync")

Forget = Callable[[str | None], None]  # a room id, or None for every room


class RoomChanges:
    """The channel that tells every replica a room's status changed."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._forgetters: list[Forget] = []
        self.listening = asyncio.Event()

    def on_change(self, forget: Forget) -> None:
        self._forgetters.append(forget)

    async def write(self, room_id: str, write: Callable[[Pipeline], object]) -> list[Any]:
        """The write and its notice in one transaction; returns the write's replies. This process forgets at once."""
        async with self._redis.pipeline(transaction=True) as pipe:
            write(pipe)
            pipe.publish(keys.rooms_changed(), room_id)
            replies: list[Any] = await pipe.execute()
        self._forget(room_id)
        return replies[:-1]

    async def listen(self) -> None:
        """Keep caches fresh; runs for the service's lifetime (restarted by the supervisor if Redis fails)."""
        pubsub = self._redis.pubsub()
        try:
            await pubsub.subscribe(keys.rooms_changed())
            self._forget(None)  # whatever was read before subscribing may have missed a notice
            self.listening.set()
            async for message in pubsub.listen():
                if message["type"] == "message":
                    self._forget(str(message["data"]))
        except RedisConnectionError:
            log.warning("room status listener lost Redis; caching paused until it is back")
            raise
        finally:
            self.listening.clear()
            self._forget(None)
            await pubsub.aclose()  # type: ignore[no-untyped-call]  # redis-py leaves it unannotated

    def _forget(self, room_id: str | None) -> None:
        for forget in self._forgetters:
            forget(room_id)


@dataclass(frozen=True)
class RoomStatus:
    follows: bool  # at least one repository, from the config file or bound in chat


class RoomStatuses:
    """`await statuses.of(room_id)`: answered from memory after the room's first message."""

    def __init__(self, bindings: Bindings, changes: RoomChanges) -> None:
        self._bindings = bindings
        self._changes = changes
        self._cache: dict[str, RoomStatus] = {}
        self._generation = 0  # bumped by every invalidation: a read that raced one is not cached
        changes.on_change(self._forget)

    async def of(self, room_id: str) -> RoomStatus:
        if (cached := self._cache.get(room_id)) is not None:
            return cached
        generation = self._generation
        status = RoomStatus(follows=await self._bindings.follows_anything(room_id))
        if self._changes.listening.is_set() and generation == self._generation:
            self._cache[room_id] = status
        return status

    def _forget(self, room_id: str | None) -> None:
        self._generation += 1
        if room_id is None:
            self._cache.clear()
        else:
            self._cache.pop(room_id, None)
