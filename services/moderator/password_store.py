"""Room passwords in Redis: digest -> room, and room -> digest to replace or clear a room's password."""

from __future__ import annotations

from enum import StrEnum

from services.moderator import keys
from services.moderator.redis_types import StrRedis

_SET = """
local owner = redis.call('HGET', KEYS[1], ARGV[2])
if owner and owner ~= ARGV[1] then return 'taken' end
local old = redis.call('HGET', KEYS[2], ARGV[1])
if old then redis.call('HDEL', KEYS[1], old) end
redis.call('HSET', KEYS[1], ARGV[2], ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return 'set'
"""

_CLEAR = """
local old = redis.call('HGET', KEYS[2], ARGV[1])
if not old then return 0 end
redis.call('HDEL', KEYS[1], old)
redis.call('HDEL', KEYS[2], ARGV[1])
return 1
"""


class SetOutcome(StrEnum):
    """Result of setting a password."""

    SET = "set"
    TAKEN = "taken"
    """Another room of this bot has the same password: a DM could not tell which room is meant."""


class PasswordStore:
    """Stores digests only (see ``password``)."""

    def __init__(self, redis: StrRedis) -> None:
        self._redis = redis
        self._set = redis.register_script(_SET)
        self._clear = redis.register_script(_CLEAR)

    def _keys(self, bot_id: str) -> list[str]:
        return [keys.password_to_room(bot_id), keys.room_to_password(bot_id)]

    async def set(self, bot_id: str, room_id: str, digest: str) -> SetOutcome:
        """Give the room this password, replacing its previous one."""
        return SetOutcome(await self._set(keys=self._keys(bot_id), args=[room_id, digest]))

    async def clear(self, bot_id: str, room_id: str) -> bool:
        """Remove the room's password; False if it had none."""
        return bool(await self._clear(keys=self._keys(bot_id), args=[room_id]))

    async def room_for(self, bot_id: str, digest: str) -> str | None:
        """The room this password opens, if any."""
        room_id = await self._redis.hget(keys.password_to_room(bot_id), digest)
        return None if room_id is None else str(room_id)

    async def rooms_with_password(self, bot_id: str) -> list[str]:
        """Ids of the rooms one can join by password."""
        return sorted(str(room_id) for room_id in await self._redis.hkeys(keys.room_to_password(bot_id)))
