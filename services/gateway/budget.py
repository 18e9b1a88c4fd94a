"""The account's budget in Redis: token buckets, daily budgets, the send lease and the record of every part sent.

One Lua script per send decides atomically, for the process holding the account's send lease:
- whether the part was handed to WeChat before (its record says `intent` or `sent`): then it is never sent again;
- whether today's budget of its kind (text, file, invite, friend) is used up: then the kind is held until midnight;
- whether the account's and the conversation's token buckets hold a token: otherwise how long to wait;
and if all say yes, takes the tokens, counts the day's use and records the intent, before the WeChat call.

So restarts, reconnects and a second gateway process never grant extra budget, and a part is never sent twice:
when the process dies (or Redis goes away) between recording and confirming, the part stays `intent`, its outcome is
unknown, and it is not sent again (at most once: a lost part is better than a double).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from redis.asyncio import Redis

from services.gateway.pacing import PacingLimits

KINDS = ("text", "file", "invite", "friend")
"""Daily budgets: texts, images and files, room invitations (adds), friend accepts."""

MIN_WAIT_S = 0.001
"""Shortest wait handed out: the clock must be able to move past it."""

RECORD_TTL_S = 24 * 3600
"""How long a command's record is kept; commands older than GATEWAY_MAX_COMMAND_AGE_S are dropped anyway."""

_SEND = """
local now = tonumber(ARGV[1])
if now <= 0 then
  local clock = redis.call('TIME')
  now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
end
if redis.call('GET', KEYS[1]) ~= ARGV[2] then
  return {'lease'}
end
local state = redis.call('HGET', KEYS[5], ARGV[3])
if state then
  return {'already', state}
end
local limit = tonumber(ARGV[8])
local offset = tonumber(ARGV[9])
local day = math.floor((now + offset) / 86400)
local used = 0
if limit > 0 then
  used = tonumber(redis.call('HGET', KEYS[4], day) or '0')
  if used >= limit then
    return {'exhausted', tostring(used), tostring(limit), tostring((day + 1) * 86400 - offset - now)}
  end
end
local function level(key, rate, capacity)
  local bucket = redis.call('HMGET', key, 'tokens', 'at')
  local tokens, at = tonumber(bucket[1]), tonumber(bucket[2])
  if tokens == nil or at == nil then
    return capacity, now
  end
  if now > at then
    tokens = math.min(capacity, tokens + (now - at) * rate)
    at = now
  end
  return tokens, at
end
local account_rate, account_capacity = tonumber(ARGV[4]), tonumber(ARGV[5])
local room_rate, room_capacity = tonumber(ARGV[6]), tonumber(ARGV[7])
-- A token is there when 1 is reached up to rounding (a wait of 1e-13 s cannot pass on a clock of 1.7e9 s).
local whole = 1 - 1e-9
local account, account_at = level(KEYS[2], account_rate, account_capacity)
if account < whole then
  return {'wait', 'account', tostring((1 - account) / account_rate)}
end
local room, room_at = level(KEYS[3], room_rate, room_capacity)
if room < whole then
  return {'wait', 'conversation', tostring((1 - room) / room_rate)}
end
local function take(key, tokens, at, rate, capacity)
  redis.call('HSET', key, 'tokens', string.format('%.17g', tokens - 1), 'at', string.format('%.17g', at))
  -- Once full again the bucket carries no information: an absent key reads as full.
  redis.call('PEXPIRE', key, math.ceil((capacity - tokens + 1) / rate * 1000) + 60000)
end
take(KEYS[2], account, account_at, account_rate, account_capacity)
take(KEYS[3], room, room_at, room_rate, room_capacity)
if limit > 0 then
  used = redis.call('HINCRBY', KEYS[4], day, 1)
  redis.call('HDEL', KEYS[4], day - 2)
  redis.call('EXPIRE', KEYS[4], 3 * 86400)
end
redis.call('HSET', KEYS[5], ARGV[3], ARGV[10])
redis.call('EXPIRE', KEYS[5], tonumber(ARGV[11]))
return {'go', tostring(used), tostring(limit)}
"""


@dataclass(frozen=True)
class Go:
    """Tokens taken and the intent recorded: hand the part to WeChat now, then `confirm` it."""

    used: int
    limit: int


@dataclass(frozen=True)
class Already:
    """The part was handed to WeChat before: `sent`, or `intent` (the outcome is unknown). Never again."""

    state: str

    @property
    def outcome_unknown(self) -> bool:
        return self.state != "sent"


@dataclass(frozen=True)
class Wait:
    """A bucket is empty: `scope` is `account` (nothing may be sent) or `conversation` (only this one waits)."""

    scope: str
    seconds: float


@dataclass(frozen=True)
class Exhausted:
    """Today's budget of this kind is used up: hold the kind for `seconds` (until midnight)."""

    used: int
    limit: int
    seconds: float


@dataclass(frozen=True)
class NotLeader:
    """This process does not hold the account's send lease (any more)."""


Verdict = Go | Already | Wait | Exhausted | NotLeader


@dataclass(frozen=True)
class Progress:
    """What the record says about a command: per part index `sent` or `intent:...`, and whether it is done."""

    parts: Mapping[int, str] = field(default_factory=dict)
    done: bool = False


@dataclass(frozen=True)
class DailyLimits:
    """Per kind; 0 means no daily limit."""

    text: int = 3000
    file: int = 300
    invite: int = 50
    friend: int = 100

    def of(self, kind: str) -> int:
        return int(getattr(self, kind, 0)) if kind in KINDS else 0

    def as_dict(self) -> dict[str, int]:
        return {kind: self.of(kind) for kind in KINDS}


Clock = Callable[[], float]


class SendBudget:
    """The Redis side of sending for one account. `clock` (epoch seconds) is for simulations; None means Redis'
    own clock, the same for every gateway process."""

    def __init__(
        self,
        redis: Redis,
        bot_id: str,
        limits: PacingLimits,
        daily: DailyLimits,
        *,
        zone: ZoneInfo,
        clock: Clock | None = None,
    ) -> None:
        self.redis = redis
        self.bot_id = bot_id
        self.limits = limits
        self.daily = daily
        self.zone = zone
        self.clock = clock
        self._script = redis.register_script(_SEND)
        self._prefix = f"qun:gateway:{bot_id}"

    def record_key(self, command_id: str) -> str:
        return f"{self._prefix}:command:{command_id}"

    def lease_key(self) -> str:
        return f"{self._prefix}:lease"

    def _daily_key(self, kind: str) -> str:
        return f"{self._prefix}:daily:{kind}"

    def _utc_offset_s(self, at: float) -> int:
        offset = datetime.fromtimestamp(at, self.zone).utcoffset()
        return int(offset.total_seconds()) if offset is not None else 0

    def _now(self) -> float:
        return self.clock() if self.clock is not None else time.time()

    async def try_send(self, lease: str, conversation: str, kind: str, command_id: str, part: int) -> Verdict:
        limits = self.limits
        now = self.clock() if self.clock is not None else 0.0
        reply = await self._script(
            keys=[
                self.lease_key(),
                f"{self._prefix}:bucket:account",
                f"{self._prefix}:bucket:{conversation}",
                self._daily_key(kind),
                self.record_key(command_id),
            ],
            args=[
                repr(now),
                lease,
                f"p{part}",
                repr(limits.account_per_minute / 60.0),
                limits.account_burst,
                repr(limits.room_per_second),
                limits.room_burst,
                self.daily.of(kind),
                self._utc_offset_s(self._now()),
                f"intent:{lease}",
                RECORD_TTL_S,
            ],
        )
        match [str(item) for item in reply]:
            case ["go", used, limit]:
                return Go(int(used), int(limit))
            case ["already", state]:
                return Already(state)
            case ["wait", scope, seconds]:
                return Wait(scope, max(float(seconds), MIN_WAIT_S))
            case ["exhausted", used, limit, seconds]:
                return Exhausted(int(used), int(limit), float(seconds))
            case ["lease"]:
                return NotLeader()
        raise RuntimeError(f"unexpected answer from the send script: {reply!r}")

    async def confirm(self, command_id: str, part: int) -> None:
        """WeChat accepted the part."""
        await self.redis.hset(self.record_key(command_id), f"p{part}", "sent")

    async def forget(self, command_id: str, part: int) -> None:
        """WeChat refused the part (it was not sent): it may be tried again."""
        await self.redis.hdel(self.record_key(command_id), f"p{part}")

    async def progress(self, command_id: str) -> Progress:
        record = await self.redis.hgetall(self.record_key(command_id))
        fields = {str(name): str(state) for name, state in record.items()}
        parts = {int(name[1:]): state for name, state in fields.items() if name.startswith("p")}
        return Progress(parts, fields.get("done") == "1")

    async def finish(self, command_id: str) -> None:
        key = self.record_key(command_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, "done", "1")
            pipe.expire(key, RECORD_TTL_S)
            await pipe.execute()

    def day(self, at: float | None = None) -> int:
        moment = self._now() if at is None else at
        return math.floor((moment + self._utc_offset_s(moment)) / 86400)

    async def daily_used(self) -> dict[str, int]:
        today = self.day()
        async with self.redis.pipeline(transaction=False) as pipe:
            for kind in KINDS:
                pipe.hget(self._daily_key(kind), str(today))
            values = await pipe.execute()
        return {kind: int(value or 0) for kind, value in zip(KINDS, values, strict=True)}
