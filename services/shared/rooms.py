"""Per-room preferences kept in Redis: service switches, reply language, room admins. One key per room.

Nothing is cached in the process, so a change made through any replica applies at once everywhere (one HGETALL
per event is far below the rest of the handling cost).
"""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis

from schemas import Room
from services.shared.commands import Lang


def room_key(room_id: str) -> str:
    return f"qun:room:{room_id}"


def room_admins_key(room_id: str) -> str:
    return f"qun:room:{room_id}:admins"


_OFF = "off:"
_LANG = "lang"


@dataclass(frozen=True)
class RoomPrefs:
    disabled_services: frozenset[str] = frozenset()
    lang: Lang | None = None


class RoomStore:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def prefs(self, room_id: str) -> RoomPrefs:
        fields = {str(k): str(v) for k, v in (await self._redis.hgetall(room_key(room_id))).items()}
        lang = fields.get(_LANG)
        return RoomPrefs(
            disabled_services=frozenset(name[len(_OFF) :] for name in fields if name.startswith(_OFF)),
            lang="zh" if lang == "zh" else "en" if lang == "en" else None,
        )

    async def set_service_enabled(self, room_id: str, service: str, *, enabled: bool) -> None:
        if enabled:
            await self._redis.hdel(room_key(room_id), _OFF + service)
        else:
            await self._redis.hset(room_key(room_id), _OFF + service, "1")

    async def set_lang(self, room_id: str, lang: Lang | None) -> None:
        if lang is None:
            await self._redis.hdel(room_key(room_id), _LANG)
        else:
            await self._redis.hset(room_key(room_id), _LANG, lang)

    async def add_admin(self, room_id: str, contact_id: str) -> None:
        await self._redis.sadd(room_admins_key(room_id), contact_id)

    async def remove_admin(self, room_id: str, contact_id: str) -> None:
        await self._redis.srem(room_admins_key(room_id), contact_id)

    async def room_admins(self, room_id: str) -> set[str]:
        return {str(member) for member in await self._redis.smembers(room_admins_key(room_id))}


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
        return contact_id in await self._rooms.room_admins(room.id)
