"""How many GitHub notices a room gets per hour; the rest wait, folded into one digest.

A room's budget is `per_hour` messages in a window of an hour that opens with its first notice. Notices go out at
once while fewer than `per_hour - 1` were sent in the window (one message is kept for the digest) and nothing is
waiting; after that they are held. The held ones go out as one digest at the end of the burst (no new notice for
`quiet`) when the window still has its digest message, else when the window ends and the budget renews. The digest
counts against the window it is sent in, so no window ever carries more than `per_hour` messages.

State per room in Redis, changed by one script per decision (replicas and restarts agree): the window (start,
messages sent, the last digest counted) and the held notices; plus one set of rooms with a digest due, scored by
when. Times are the service clock's (tests move it).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict
from redis.asyncio import Redis

from services.github_sync import keys

MAX_HELD = 200
"""Held notices kept per room; beyond that only counted (the digest lists a few lines anyway)."""


@dataclass(frozen=True)
class BudgetPolicy:
    per_hour: int = 6
    window: timedelta = timedelta(hours=1)
    quiet: timedelta = timedelta(minutes=2)

    def __post_init__(self) -> None:
        if self.per_hour < 2:
            raise ValueError("a room's notice budget needs at least 2 messages: one notice and the digest")


class HeldNotice(BaseModel):
    """One line of a digest: a notice that did not go out on its own."""

    model_config = ConfigDict(frozen=True)

    id: str  # the delivery it came from: the same delivery held twice is one line
    zh: str
    en: str


@dataclass(frozen=True)
class Held:
    """What waits for a room's digest: the lines kept, and how many more were only counted."""

    notices: tuple[HeldNotice, ...]
    members: tuple[str, ...]  # as stored, to remove exactly these once the digest is out
    overflow: int

    @property
    def total(self) -> int:
        return len(self.notices) + self.overflow


# KEYS: window hash, held zset, due zset. ARGV: now, window s, per hour, quiet s, room id, member, ttl s, max held.
# Returns 1: send it now; 0: held for the digest.
_ADMIT = """
local now, window, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local start = tonumber(redis.call('HGET', KEYS[1], 'start') or '-1')
local sent = tonumber(redis.call('HGET', KEYS[1], 'sent') or '0')
if start < 0 or now >= start + window then
  start, sent = now, 0
  redis.call('HSET', KEYS[1], 'start', ARGV[1], 'sent', 0)
end
redis.call('EXPIRE', KEYS[1], ARGV[7])
if sent < limit - 1 and redis.call('ZCARD', KEYS[2]) == 0 then
  redis.call('HSET', KEYS[1], 'sent', sent + 1)
  return 1
end
if redis.call('ZSCORE', KEYS[2], ARGV[6]) == false then
  if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[8]) then
    redis.call('HINCRBY', KEYS[1], 'overflow', 1)
  else
    redis.call('ZADD', KEYS[2], now, ARGV[6])
  end
end
redis.call('EXPIRE', KEYS[2], ARGV[7])
local due = start + window
if sent < limit then due = math.min(now + tonumber(ARGV[4]), due) end
local current = tonumber(redis.call('ZSCORE', KEYS[3], ARGV[5]) or '-1')
if current < 0 or current > now then
  redis.call('ZADD', KEYS[3], due, ARGV[5])
end
return 0
"""

# KEYS: window hash, held zset, due zset. ARGV: now, window s, per hour, quiet s, room id, digest id, overflow
# counted, ttl s, then the members the digest listed. Counts the digest once (whichever replica finishes first).
_FINISH = """
local now, window, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
for i = 9, #ARGV do redis.call('ZREM', KEYS[2], ARGV[i]) end
if redis.call('HGET', KEYS[1], 'digest') ~= ARGV[6] then
  redis.call('HINCRBY', KEYS[1], 'overflow', 0 - tonumber(ARGV[7]))
  local start = tonumber(redis.call('HGET', KEYS[1], 'start') or '-1')
  local sent = tonumber(redis.call('HGET', KEYS[1], 'sent') or '0')
  if start < 0 or now >= start + window then
    start, sent = now, 0
    redis.call('HSET', KEYS[1], 'start', ARGV[1])
  end
  redis.call('HSET', KEYS[1], 'sent', sent + 1, 'digest', ARGV[6])
  redis.call('EXPIRE', KEYS[1], ARGV[8])
end
local left = redis.call('ZCARD', KEYS[2]) + tonumber(redis.call('HGET', KEYS[1], 'overflow') or '0')
if left <= 0 then
  redis.call('ZREM', KEYS[3], ARGV[5])
  redis.call('HSET', KEYS[1], 'overflow', 0)
  return 0
end
local start = tonumber(redis.call('HGET', KEYS[1], 'start'))
local sent = tonumber(redis.call('HGET', KEYS[1], 'sent'))
local due = start + window
if sent < limit then due = math.min(now + tonumber(ARGV[4]), due) end
redis.call('ZADD', KEYS[3], due, ARGV[5])
return left
"""

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class NoticeBudget:
    def __init__(self, redis: Redis, policy: BudgetPolicy) -> None:
        self._redis = redis
        self._policy = policy
        self._admit = redis.register_script(_ADMIT)
        self._finish = redis.register_script(_FINISH)
        self._release = redis.register_script(_RELEASE)

    @property
    def policy(self) -> BudgetPolicy:
        return self._policy

    def _ttl_s(self) -> int:
        return int(self._policy.window.total_seconds() * 2) + 60

    def _common(self, now: datetime, room_id: str) -> list[str | float | int]:
        policy = self._policy
        return [
            now.timestamp(),
            policy.window.total_seconds(),
            policy.per_hour,
            policy.quiet.total_seconds(),
            room_id,
        ]

    async def admit(self, room_id: str, notice: HeldNotice, *, now: datetime) -> bool:
        """True: send it now (counted). False: held for the room's digest."""
        sent_now = await self._admit(
            keys=[keys.notice_window(room_id), keys.notices_held(room_id), keys.digests_due()],
            args=[*self._common(now, room_id), notice.model_dump_json(), self._ttl_s(), MAX_HELD],
        )
        return bool(sent_now)

    async def due(self, *, now: datetime, limit: int = 20) -> list[str]:
        """Rooms whose digest should go out now."""
        rooms = await self._redis.zrangebyscore(keys.digests_due(), "-inf", now.timestamp(), 0, limit)
        return [str(room) for room in rooms]

    async def held(self, room_id: str) -> Held:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zrange(keys.notices_held(room_id), 0, -1)
            pipe.hget(keys.notice_window(room_id), "overflow")
            members, overflow = await pipe.execute()
        members = [str(member) for member in members]
        return Held(
            notices=tuple(HeldNotice.model_validate_json(member) for member in members),
            members=tuple(members),
            overflow=max(int(overflow or 0), 0),
        )

    async def digest_sent(self, room_id: str, held: Held, digest_id: str, *, now: datetime) -> int:
        """The digest of `held` went out: forget those notices and count it. Returns how many still wait."""
        left = await self._finish(
            keys=[keys.notice_window(room_id), keys.notices_held(room_id), keys.digests_due()],
            args=[*self._common(now, room_id), digest_id, held.overflow, self._ttl_s(), *held.members],
        )
        return int(left)

    async def drop(self, room_id: str) -> None:
        """Nobody can be told (the service was switched off in the room, no bot speaks there): forget it."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(keys.notices_held(room_id))
            pipe.hset(keys.notice_window(room_id), "overflow", 0)
            pipe.zrem(keys.digests_due(), room_id)
            await pipe.execute()

    async def lock(self, room_id: str, *, hold_for: timedelta = timedelta(seconds=30)) -> str | None:
        """One replica sends a room's digest at a time; returns the token to release it with, or None."""
        token = secrets.token_hex(8)
        taken = await self._redis.set(keys.digest_lock(room_id), token, nx=True, px=hold_for)
        return token if taken else None

    async def unlock(self, room_id: str, token: str) -> None:
        await self._release(keys=[keys.digest_lock(room_id)], args=[token])
