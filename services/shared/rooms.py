"""Per-room preferences kept in Redis: service switches, reply language, room admins.

Reads come from a per-process cache, because every event needs them. Every write publishes the room id on
`qun:rooms:changed`; each process listens and drops that room from its cache, so a change made through any replica
applies everywhere at once. While the listener is not subscribed (start-up, Redis restart) nothing is cached.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import ConnectionError as RedisConnectionError

from schemas import Room
from services.shared.commands import Lang

log = logging.getLogger("qunbus.rooms")

CHANGED = "qun:rooms:changed"


def room_key(room_id: str) -> str:
    return f"qun:room:{room_id}"


def room_admins_key(room_id: str) -> str:
    return f"qun:room:{room_id}:admins"


_OFF = "off:"
_LANG = "lang"
_ZONE = "timezone"


@dataclass(frozen=True)
class RoomPrefs:
    disabled_services: frozenset[str] = frozenset()
    lang: Lang | None = None
    timezone: str | None = None
    admins: frozenset[str] = frozenset()


class RoomStore:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._cache: dict[str, RoomPrefs] = {}
        self._generation = 0  # bumped by every invalidation: a read that raced one is not cached
        self.listening = asyncio.Event()

    async def prefs(self, room_id: str) -> RoomPrefs:
        if (cached := self._cache.get(room_id)) is not None:
            return cached
        generation = self._generation
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(room_key(room_id))
            pipe.smembers(room_admins_key(room_id))
            fields, admins = await pipe.execute()
        lang = fields.get(_LANG)
        prefs = RoomPrefs(
            disabled_services=frozenset(name[len(_OFF) :] for name in fields if name.startswith(_OFF)),
            lang="zh" if lang == "zh" else "en" if lang == "en" else None,
            timezone=fields.get(_ZONE),
            admins=frozenset(admins),
        )
        if self.listening.is_set() and generation == self._generation:
            self._cache[room_id] = prefs
        return prefs

    async def set_service_enabled(self, room_id: str, service: str, *, enabled: bool) -> None:
        field = _OFF + service
        await self._change(
            room_id,
            lambda p: p.hdel(room_key(room_id), field) if enabled else p.hset(room_key(room_id), field, "1"),
        )

    async def set_lang(self, room_id: str, lang: Lang | None) -> None:
        await self._change(
            room_id,
            lambda p: (
                p.hdel(room_key(room_id), _LANG) if lang is None else p.hset(room_key(room_id), _LANG, lang)
            ),
        )

    async def set_timezone(self, room_id: str, zone: str | None) -> None:
        """An IANA zone name (validated by the caller), or None for QUN_TIMEZONE."""
        await self._change(
            room_id,
            lambda p: (
                p.hdel(room_key(room_id), _ZONE) if zone is None else p.hset(room_key(room_id), _ZONE, zone)
            ),
        )

    async def add_admin(self, room_id: str, contact_id: str) -> None:
        await self._change(room_id, lambda p: p.sadd(room_admins_key(room_id), contact_id))

    async def remove_admin(self, room_id: str, contact_id: str) -> None:
        await self._change(room_id, lambda p: p.srem(room_admins_key(room_id), contact_id))

    async def _change(self, room_id: str, write: Callable[[Pipeline], object]) -> None:
        """The write and its invalidation notice in one transaction; this process forgets the room at once."""
        async with self._redis.pipeline(transaction=True) as pipe:
            write(pipe)
            pipe.publish(CHANGED, room_id)
            await pipe.execute()
        self.forget(room_id)

    def forget(self, room_id: str | None = None) -> None:
        self._generation += 1
        if room_id is None:
            self._cache.clear()
        else:
            self._cache.pop(room_id, None)

    async def listen(self) -> None:
        """Keep the cache fresh; runs for the service's lifetime (restarted by the supervisor if Redis fails)."""
        pubsub = self._redis.pubsub()
        try:
            await pubsub.subscribe(CHANGED)
            self.forget()
            self.listening.set()
            async for message in pubsub.listen():
                if message["type"] == "message":
                    self.forget(str(message["data"]))
        except RedisConnectionError:
            log.warning("room cache listener lost Redis; caching paused until it is back")
            raise
        finally:
            self.listening.clear()
            self.forget()
            await pubsub.aclose()  # type: ignore[no-untyped-call]  # redis-py leaves it unannotated


class AdminCheck:
    """The one admin rule: `QUN_ADMINS`, the room's owner, or an admin added for that room."""

    def __init__(self, global_admins: frozenset[str], rooms: RoomStore) -> None:
        self._global = global_admins
        self._rooms = rooms

    async def is_admin(self, contact_id: str, room: Room | None) -> bool:
        if contact_id in self._global:
            return True
        if room is None:
            return False
        if room.owner_id is not None and room.owner_id == contact_id:
            return True
        return contact_id in (await self._rooms.prefs(room.id)).admins
