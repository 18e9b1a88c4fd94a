"""Redis pub/sub, once per process: the notices that keep caches fresh and wake claim waiters.

`Notifications` holds one subscription connection and calls the callbacks registered per channel. `Cached` is the
one invalidating cache every service uses: values per key, loaded from Redis on first use, dropped everywhere
when any replica writes (the write and its notice go in one transaction). While the listener is not subscribed
(start-up, Redis restart) nothing is cached, so a missed notice cannot leave a stale value behind.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, Generic, TypeVar

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import ConnectionError as RedisConnectionError

log = logging.getLogger("qunbus.notify")

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

Callback = Callable[[str], None]
"""Called with the notice's text, in the listener's task: keep it quick and never raise."""

_ALL = "*"
"""The notice that drops every key of a cache."""


_HUBS: weakref.WeakKeyDictionary[Redis, Notifications] = weakref.WeakKeyDictionary()


class Notifications:
    """One per Redis client: `Notifications.of(redis)` in a service's deps factory gives the runtime's hub."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._callbacks: dict[str, list[Callback]] = {}
        self._on_reset: list[Callable[[], None]] = []
        self._started = False
        self.listening = asyncio.Event()

    @classmethod
    def of(cls, redis: Redis) -> Notifications:
        hub = _HUBS.get(redis)
        if hub is None:
            hub = _HUBS[redis] = cls(redis)
        return hub

    def on(self, channel: str, callback: Callback, *, on_reset: Callable[[], None] | None = None) -> None:
        """`callback(text)` for every notice on `channel`; `on_reset()` whenever notices may have been missed.
        Register before the runtime starts listening (in the deps factory), never later."""
        if self._started:
            raise RuntimeError(f"subscribe to {channel!r} before the service starts listening")
        self._callbacks.setdefault(channel, []).append(callback)
        if on_reset is not None:
            self._on_reset.append(on_reset)

    async def publish(self, channel: str, text: str) -> None:
        await self._redis.publish(channel, text)

    async def listen(self) -> None:
        """Runs for the instance's lifetime (restarted by the runtime when Redis fails)."""
        self._started = True
        pubsub = self._redis.pubsub()
        try:
            if self._callbacks:
                await pubsub.subscribe(*self._callbacks)
            self._reset()  # anything read before the subscription may have missed a notice
            self.listening.set()
            if not self._callbacks:
                await asyncio.Event().wait()
            async for message in pubsub.listen():
                if message["type"] != "message":
                    continue
                for callback in self._callbacks.get(str(message["channel"]), ()):
                    callback(str(message["data"]))
        except RedisConnectionError:
            log.warning("notifications lost Redis; caches paused until it is back")
            raise
        finally:
            self.listening.clear()
            self._reset()
            await pubsub.aclose()  # type: ignore[no-untyped-call]  # redis-py leaves it unannotated

    def _reset(self) -> None:
        for reset in self._on_reset:
            reset()


class Cached(Generic[K, V]):
    """Values loaded by `load(key)`, cached while the process listens, dropped by `changed(key)` anywhere.

    rooms = Cached("qun:rooms:changed", notifications, load=read_room, key_of=str, parse=str)
    prefs = await rooms.get(room_id)
    await rooms.write(room_id, lambda pipe: pipe.hset(...))     # the write + its notice, one transaction
    """

    def __init__(
        self,
        channel: str,
        notifications: Notifications,
        redis: Redis,
        load: Callable[[K], Awaitable[V]],
        *,
        parse: Callable[[str], K],
        max_size: int = 100_000,
    ) -> None:
        self.channel = channel
        self._notifications = notifications
        self._redis = redis
        self._load = load
        self._parse = parse
        self._max_size = max_size
        self._values: dict[K, V] = {}
        self._generation = 0  # bumped by every invalidation: a load that raced one is not cached
        notifications.on(channel, self._noticed, on_reset=self.forget_all)

    async def get(self, key: K) -> V:
        if key in self._values:
            return self._values[key]
        generation = self._generation
        value = await self._load(key)
        if self._notifications.listening.is_set() and generation == self._generation:
            if len(self._values) >= self._max_size:
                self._values.pop(next(iter(self._values)))
            self._values[key] = value
        return value

    async def write(self, key: K | None, write: Callable[[Pipeline], object]) -> list[Any]:
        """Run `write` and the notice for `key` (None: every key) in one transaction; returns the write's replies.
        This process forgets at once, before the notice comes back."""
        async with self._redis.pipeline(transaction=True) as pipe:
            write(pipe)
            pipe.publish(self.channel, _ALL if key is None else str(key))
            replies: list[Any] = await pipe.execute()
        self._forget(key)
        return replies[:-1]

    def forget_all(self) -> None:
        self._forget(None)

    def _noticed(self, text: str) -> None:
        self._forget(None if text == _ALL else self._parse(text))

    def _forget(self, key: K | None) -> None:
        self._generation += 1
        if key is None:
            self._values.clear()
        else:
            self._values.pop(key, None)
