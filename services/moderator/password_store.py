"""Room passwords in Redis: digest -> room, and room -> digest to replace or clear a room's password; and each
contact's recent guesses, so nobody can try passwords without limit."""

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


# KEYS: the contact's guesses. ARGV: event id, now (ms), window (ms), limit.
# Returns the guess's number within the window, or 0 when the limit is used up (the guess is not taken).
# Members are event ids: a redelivered DM gets its own number back rather than spending another guess.
_TAKE_GUESS = """
local now, window = tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local rank = redis.call('ZRANK', KEYS[1], ARGV[1])
if rank then return rank + 1 end
local taken = redis.call('ZCARD', KEYS[1])
if taken >= tonumber(ARGV[4]) then return 0 end
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('PEXPIRE', KEYS[1], window)
return taken + 1
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
        self._take_guess = redis.register_script(_TAKE_GUESS)

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

    async def take_guess(
        self, bot_id: str, contact_id: str, *, event_id: str, now_ms: int, window_ms: int, limit: int
    ) -> int:
        """Spend one of the contact's ``limit`` guesses per ``window_ms`` on this DM (atomically, so replicas
        cannot hand out more): its number, 1 to ``limit``, or 0 when none is left. Taken before the check, so
        concurrent guesses cannot slip past the limit; a right one is handed back with ``return_guess``."""
        number = await self._take_guess(
            keys=[keys.password_guesses(bot_id, contact_id)], args=[event_id, now_ms, window_ms, limit]
        )
        return int(number)

    async def was_guess(self, bot_id: str, contact_id: str, *, event_id: str) -> bool:
        """Whether this DM was taken (and kept) as one of the contact's guesses."""
        return await self._redis.zscore(keys.password_guesses(bot_id, contact_id), event_id) is not None

    async def return_guess(self, bot_id: str, contact_id: str, *, event_id: str) -> None:
        """A guess that opened a room is no wrong guess: it does not count against the contact."""
        await self._redis.zrem(keys.password_guesses(bot_id, contact_id), event_id)
