"""Per-room preferences kept in Redis: service switches, reply language, room admins.

Reads come from a per-process cache (`services.shared.notify.Cached`), because every event needs them. Every write
publishes the room id on `qun:rooms:changed` in the same transaction; each process drops that room from its cache,
so a change made through any replica applies everywhere at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis

from schemas import Room
from services.shared.commands import Lang
from services.shared.notify import Cached, Notifications

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
    """Reads for every service (cached per process); the writes are the moderator's alone."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._cache: Cached[str, RoomPrefs] = Cached(
            CHANGED, Notifications.of(redis), redis, self._load, parse=str, max_size=50_000
        )

    async def prefs(self, room_id: str) -> RoomPrefs:
        return await self._cache.get(room_id)

    async def _load(self, room_id: str) -> RoomPrefs:
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(room_key(room_id))
            pipe.smembers(room_admins_key(room_id))
            fields, admins = await pipe.execute()
        lang = fields.get(_LANG)
        return RoomPrefs(
            disabled_services=frozenset(name[len(_OFF) :] for name in fields if name.startswith(_OFF)),
            lang="zh" if lang == "zh" else "en" if lang == "en" else None,
            timezone=fields.get(_ZONE),
            admins=frozenset(admins),
        )

    async def set_service_enabled(self, room_id: str, service: str, *, enabled: bool) -> None:
        field = _OFF + service
        await self._cache.write(
            room_id,
            lambda p: p.hdel(room_key(room_id), field) if enabled else p.hset(room_key(room_id), field, "1"),
        )

    async def set_lang(self, room_id: str, lang: Lang | None) -> None:
        await self._cache.write(
            room_id,
            lambda p: (
                p.hdel(room_key(room_id), _LANG) if lang is None else p.hset(room_key(room_id), _LANG, lang)
            ),
        )

    async def set_timezone(self, room_id: str, zone: str | None) -> None:
        """An IANA zone name (validated by the caller), or None for QUN_TIMEZONE."""
        await self._cache.write(
            room_id,
            lambda p: (
                p.hdel(room_key(room_id), _ZONE) if zone is None else p.hset(room_key(room_id), _ZONE, zone)
            ),
        )

    async def add_admin(self, room_id: str, contact_id: str) -> None:
        await self._cache.write(room_id, lambda p: p.sadd(room_admins_key(room_id), contact_id))

    async def remove_admin(self, room_id: str, contact_id: str) -> None:
        await self._cache.write(room_id, lambda p: p.srem(room_admins_key(room_id), contact_id))


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
