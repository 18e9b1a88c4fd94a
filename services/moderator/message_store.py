"""Everything one room message changes in Redis, in one Lua script: one round trip per message.

Each room message refreshes the room's directory entry, records the sender as a member, and counts the message in
the sender's sliding flood window; if that crosses the room's limits, it also records a flood strike, empties the
window and starts the grace: what the member sends before it ends is not counted. The script
reads the room's settings for the limits and returns them, so the caller needs no other read. Being one script, it
sees the settings and the counters at the same instant, whichever replica runs it.

Members of the windows are event ids, so a redelivered message counts once; a message that struck keeps its outcome
(strike number and count), so a redelivery gets the same answer.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.moderator import keys
from services.moderator.redis_types import StrRedis
from services.moderator.room_store import (
    FLOOD_GRACE_FIELD,
    FLOOD_LIMITS_FIELD,
    config_from_fields,
    directory_entry,
)
from services.moderator.rooms import FloodLimits, RoomConfig, RoomRecord
from services.shared.script_batch import BatchedScript

# KEYS: directory, members, room config, flood window, flood strikes, flood strike outcomes, flood quiet-until.
# ARGV: room id, directory entry, member id, event id, message time (ms), flood (1: count it), may strike (1: not an admin),
#       length, default max messages, default window (ms), default max length, strike memory (ms), limits field,
#       default grace (ms), grace field.
# Returns {messages in window, strike number (0: none), the room's settings as a flat field/value list}.
_OBSERVE = """
-- Times are the messages' own (WeChat's), so the window ending at this message counts what was sent before it,
-- not what arrived later (a replayed backlog, a redelivery after newer messages).
local function record(key, id, now, window)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  redis.call('ZADD', key, 'NX', now, id)
  redis.call('PEXPIRE', key, window)
  return redis.call('ZCOUNT', key, '(' .. (now - window), now)
end

-- An unchanged entry is not rewritten: a write would be replicated and logged for nothing.
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
redis.call('SADD', KEYS[2], ARGV[3])
local config = redis.call('HGETALL', KEYS[3])
if ARGV[6] ~= '1' then return {0, 0, config} end

-- A message that struck before (a redelivery) gets the same answer, whatever happened since.
local known = redis.call('HGET', KEYS[6], ARGV[4])
if known then
  local sep = string.find(known, ':', 1, true)
  return {tonumber(string.sub(known, sep + 1)), tonumber(string.sub(known, 1, sep - 1)), config}
end
local now = tonumber(ARGV[5])
-- After a strike, what the member sent within the grace (they could not have read the warning yet) is not counted.
local quiet_until = redis.call('GET', KEYS[7])
if quiet_until and now < tonumber(quiet_until) then return {0, 0, config} end

local max_messages, window, max_length = tonumber(ARGV[9]), tonumber(ARGV[10]), tonumber(ARGV[11])
local own = redis.call('HGET', KEYS[3], ARGV[13])
if own then
  local limits = cjson.decode(own)
  max_messages, window, max_length = limits.max_messages, limits.window_seconds * 1000, limits.max_length
end
local count = record(KEYS[4], ARGV[4], now, window)
local strike = 0
-- The same test as flood.assess: too long, or too many within the window.
if ARGV[7] == '1' and (tonumber(ARGV[8]) > max_length or count > max_messages) then
  -- Numbered by time: the strikes up to this one's time, ties included. Not its rank: WeChat times have one-second
  -- resolution, and ties are ordered by event id, which would let a later strike rank first.
  local memory = tonumber(ARGV[12])
  redis.call('ZREMRANGEBYSCORE', KEYS[5], '-inf', now - memory)
  redis.call('ZADD', KEYS[5], now, ARGV[4])
  strike = redis.call('ZCOUNT', KEYS[5], '-inf', now)
  redis.call('HSET', KEYS[6], ARGV[4], strike .. ':' .. count)
  redis.call('PEXPIRE', KEYS[5], memory)
  redis.call('PEXPIRE', KEYS[6], memory)
  -- A fresh start: only what is sent after the grace counts towards the next strike.
  local grace = tonumber(ARGV[14])
  local own_grace = redis.call('HGET', KEYS[3], ARGV[15])
  if own_grace then grace = tonumber(own_grace) * 1000 end
  redis.call('DEL', KEYS[4])
  if grace > 0 then redis.call('SET', KEYS[7], now + grace, 'PX', memory) end
end
return {count, strike, config}
"""


@dataclass(frozen=True)
class Observed:
    """What the script saw and counted for one message."""

    config: RoomConfig
    """The room's settings at that moment."""
    messages_in_window: int
    """The sender's messages within the flood window, this one included (0 when not counted)."""
    strike: int
    """The number of the flood strike this message recorded (1 for the first one remembered), 0 for none."""


@dataclass(frozen=True)
class FloodCount:
    """How to count a message against flooding."""

    defaults: FloodLimits
    """The limits of a room with none of its own."""
    strike_memory_ms: int
    """How long a strike is remembered."""
    length: int
    """The message's length in characters (Lua only sees bytes)."""
    may_strike: bool
    """False for admins (their messages count, but never earn a strike) and for stale messages."""
    grace_ms: int = 0
    """After a strike, messages sent within this time are not counted (the room's own grace wins)."""


class MessageStore:
    """The per-message bookkeeping of the room directory, its members, and the flood counters."""

    def __init__(self, redis: StrRedis) -> None:
        self._observe = BatchedScript(redis, _OBSERVE)

    async def observe(
        self,
        *,
        bot_id: str,
        room: RoomRecord,
        member_id: str,
        event_id: str,
        now_ms: int,
        flood: FloodCount | None,
    ) -> Observed:
        """Record one message of ``member_id`` in ``room``, sent at ``now_ms``; ``flood`` None: not counted (the
        bot's own)."""
        count, strike, fields = await self._observe(
            keys=[
                keys.room_directory(bot_id),
                keys.room_members(bot_id, room.id),
                keys.room_config(bot_id, room.id),
                keys.flood_window(bot_id, room.id, member_id),
                keys.flood_strikes(bot_id, room.id, member_id),
                keys.flood_strike_numbers(bot_id, room.id, member_id),
                keys.flood_quiet_until(bot_id, room.id, member_id),
            ],
            args=[
                room.id,
                directory_entry(room),
                member_id,
                event_id,
                now_ms,
                0 if flood is None else 1,
                1 if flood is not None and flood.may_strike else 0,
                0 if flood is None else flood.length,
                0 if flood is None else flood.defaults.max_messages,
                0 if flood is None else flood.defaults.window_seconds * 1000,
                0 if flood is None else flood.defaults.max_length,
                0 if flood is None else flood.strike_memory_ms,
                FLOOD_LIMITS_FIELD,
                0 if flood is None else flood.grace_ms,
                FLOOD_GRACE_FIELD,
            ],
        )
        pairs = iter(fields)
        config = config_from_fields({str(name): str(value) for name, value in zip(pairs, pairs, strict=True)})
        return Observed(config=config, messages_in_window=int(count), strike=int(strike))
