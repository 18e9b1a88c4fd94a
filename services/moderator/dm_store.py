"""Direct messages counted per contact, in one Lua script: a contact who floods the bot is muted for a while.

Counted like room messages (a sliding window of event ids at the messages' own times), by number only: a long
direct message bothers nobody else. Crossing the limit records a strike and mutes the contact until the message's
time plus the mute; what they send before that is not counted. A struck message keeps its outcome, so a
redelivery gets the same answer (the warning again, with the same command id, dropped downstream).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.moderator import keys
from services.moderator.redis_types import StrRedis
from services.shared import quotas
from services.shared.script_batch import BatchedScript

# KEYS: window, strikes (event id -> 1), muted-until. ARGV: event id, time (ms), window (ms), max messages,
# may strike (1: not an admin, not stale), mute (ms). Returns {struck (1/0), muted (1/0)}.
_OBSERVE_DM = """
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then return {1, 1} end
local now, window, mute = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[6])
local until_ms = redis.call('GET', KEYS[3])
if until_ms and now < tonumber(until_ms) then return {0, 1} end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
redis.call('ZADD', KEYS[1], 'NX', now, ARGV[1])
redis.call('PEXPIRE', KEYS[1], window)
local count = redis.call('ZCOUNT', KEYS[1], '(' .. (now - window), now)
if ARGV[5] ~= '1' or count <= tonumber(ARGV[4]) then return {0, 0} end
redis.call('HSET', KEYS[2], ARGV[1], 1)
redis.call('PEXPIRE', KEYS[2], mute + window)
redis.call('DEL', KEYS[1])
redis.call('SET', KEYS[3], now + mute, 'PX', mute + window)
return {1, 1}
"""


@dataclass(frozen=True)
class DmCount:
    """How to count a direct message."""

    max_messages: int
    window_ms: int
    mute_ms: int
    may_strike: bool
    """False for global admins and for stale messages: counted, never muted for."""


@dataclass(frozen=True)
class DmSeen:
    struck: bool
    """This message crossed the limit: the contact is warned, once."""
    muted: bool
    """The contact is muted (by this message or an earlier one): nothing is answered."""


class DmStore:
    def __init__(self, redis: StrRedis) -> None:
        self._redis = redis
        self._observe = BatchedScript(redis, _OBSERVE_DM)

    async def silence_everywhere(self, *, bot_id: str, contact_id: str, until: datetime) -> None:
        """After the warning: no service answers the contact's direct messages until the mute ends."""
        await quotas.mute(self._redis, bot_id, None, contact_id, until)

    async def observe(
        self, *, bot_id: str, contact_id: str, event_id: str, now_ms: int, count: DmCount
    ) -> DmSeen:
        struck, muted = await self._observe(
            keys=[
                keys.dm_window(bot_id, contact_id),
                keys.dm_strikes(bot_id, contact_id),
                keys.dm_muted_until(bot_id, contact_id),
            ],
            args=[
                event_id,
                now_ms,
                count.window_ms,
                count.max_messages,
                int(count.may_strike),
                count.mute_ms,
            ],
        )
        return DmSeen(struck=bool(struck), muted=bool(muted))
