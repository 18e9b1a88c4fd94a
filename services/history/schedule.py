"""When each room's reports are due, and claiming them so each goes out once per period across replicas.

One sorted set of due times (member `<room>|<kind>`), one hash of schedules, one hash of leases. CLAIM takes what
is due and hides it for a lease (its score moves to the lease's end) under a random token; COMPLETE, only while
that token still holds the lease, moves it to its next due time. A replica that dies between the two leaves the
lease to run out, and another replica sends the report again with the same command ids (derived from the room,
the kind and the period), which JetStream's and the gateway's deduplication drop.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import asdict, dataclass
from datetime import datetime, time, timedelta
from typing import cast
from zoneinfo import ZoneInfo

from redis.asyncio import Redis

from services.history import keys
from services.history.reports import Kind
from services.history.store import epoch_ms, from_ms
from services.shared.commands import Lang


@dataclass(frozen=True)
class ReportSchedule:
    room_id: str
    room_name: str
    kind: Kind
    bot_id: str
    zone: str
    lang: Lang
    at: str
    """Local time of day, HH:MM."""
    weekday: int = 7
    """ISO weekday of a weekly report (7 = Sunday)."""

    @property
    def member(self) -> str:
        return member(self.room_id, self.kind)

    @property
    def clock(self) -> time:
        hours, minutes = self.at.split(":")
        return time(int(hours), int(minutes))

    def next_due(self, after: datetime) -> datetime:
        return next_due(self.kind, after, self.clock, ZoneInfo(self.zone), self.weekday)


def member(room_id: str, kind: Kind) -> str:
    return f"{room_id}|{kind}"


def next_due(kind: Kind, after: datetime, at: time, zone: ZoneInfo, weekday: int = 7) -> datetime:
    """The first local `at` strictly after `after` (on `weekday` for a weekly report)."""
    local = after.astimezone(zone)
    day = local.date()
    for offset in range(9):
        candidate = datetime.combine(day + timedelta(days=offset), at, zone)
        if candidate <= after:
            continue
        if kind == "weekly" and candidate.isoweekday() != weekday:
            continue
        return candidate
    raise AssertionError("unreachable: a week has every weekday")


_CLAIM = """
-- KEYS: due, conf, lease   ARGV: now ms, lease end ms, limit, token   returns {member, body, due ms, ...}
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[3]))
local out = {}
for i = 1, #due, 2 do
  local body = redis.call('HGET', KEYS[2], due[i])
  if body then
    redis.call('ZADD', KEYS[1], ARGV[2], due[i])
    redis.call('HSET', KEYS[3], due[i], ARGV[4])
    table.insert(out, due[i])
    table.insert(out, body)
    table.insert(out, due[i + 1])
  else
    redis.call('ZREM', KEYS[1], due[i])
  end
end
return out
"""

_COMPLETE = """
-- KEYS: due, conf, lease   ARGV: member, token, next due ms
if redis.call('HGET', KEYS[3], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('HDEL', KEYS[3], ARGV[1])
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1]) end
return 1
"""


@dataclass(frozen=True)
class Claim:
    schedule: ReportSchedule
    due: datetime
    """The due time this firing stands for: the end of the report's period."""
    token: str


class ReportStore:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._claim = redis.register_script(_CLAIM)
        self._complete = redis.register_script(_COMPLETE)

    async def enable(self, schedule: ReportSchedule, now: datetime) -> datetime:
        due = schedule.next_due(now)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(keys.REPORTS_CONF, schedule.member, json.dumps(asdict(schedule), ensure_ascii=False))
            pipe.zadd(keys.REPORTS_DUE, {schedule.member: epoch_ms(due)})
            await pipe.execute()
        return due

    async def disable(self, room_id: str, kind: Kind) -> bool:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hdel(keys.REPORTS_CONF, member(room_id, kind))
            pipe.zrem(keys.REPORTS_DUE, member(room_id, kind))
            removed, _ = await pipe.execute()
        return bool(removed)

    async def get(self, room_id: str, kind: Kind) -> ReportSchedule | None:
        body = await self._redis.hget(keys.REPORTS_CONF, member(room_id, kind))
        return _schedule(body) if body is not None else None

    async def claim_due(self, now: datetime, *, lease: timedelta, limit: int = 50) -> list[Claim]:
        token = secrets.token_hex(8)
        raw = cast(
            list[bytes],
            await self._claim(
                keys=[keys.REPORTS_DUE, keys.REPORTS_CONF, keys.REPORTS_LEASE],
                args=[epoch_ms(now), epoch_ms(now + lease), limit, token],
            ),
        )
        claims = []
        for at in range(0, len(raw), 3):
            schedule = _schedule(raw[at + 1])
            if schedule is not None:
                claims.append(Claim(schedule, from_ms(int(float(raw[at + 2]))), token))
        return claims

    async def complete(self, claim: Claim, now: datetime) -> bool:
        """Move the report to its next due time after the one just handled (and after now: no burst of missed
        periods after an outage). False when the lease was lost meanwhile."""
        next_at = claim.schedule.next_due(max(now, claim.due))
        done = await self._complete(
            keys=[keys.REPORTS_DUE, keys.REPORTS_CONF, keys.REPORTS_LEASE],
            args=[claim.schedule.member, claim.token, epoch_ms(next_at)],
        )
        return bool(done)

    async def next_due_ms(self) -> int | None:
        first = cast(
            list[tuple[bytes, float]], await self._redis.zrange(keys.REPORTS_DUE, 0, 0, withscores=True)
        )
        return int(first[0][1]) if first else None


def _schedule(body: bytes | str) -> ReportSchedule | None:
    try:
        return ReportSchedule(**json.loads(body))
    except (ValueError, TypeError):
        return None
