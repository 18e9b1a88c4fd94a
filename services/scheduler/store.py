"""Reminders in Redis: one hash of JSON bodies, one sorted set of due times, one set of ids per room.

Exactly-once across replicas rests on three atomic scripts:

- ADD stores a reminder once per source event (a redelivered command event returns the same id).
- CLAIM takes every reminder due by `now` and hides it for a lease (its score moves to `now + lease`), recording a
  lease token. Another replica cannot see it until the lease ends, so only one replica fires it.
- COMPLETE, only while the caller's token is still the lease on record, deletes a one-off or moves a recurring
  reminder to its next due time — so a recurring reminder is rescheduled exactly once.

If a replica dies between CLAIM and COMPLETE, the lease runs out and another replica fires it again; the firing
carries a command id made of reminder id + due time, so the bus's deduplication drops the second copy.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from redis.asyncio import Redis

from services.scheduler.reminder import Reminder


@dataclass(frozen=True)
class SchedulerKeys:
    """Every Redis key the scheduler uses, built here and nowhere else."""

    prefix: str = "qun:scheduler"

    @property
    def reminders(self) -> str:
        """Hash: reminder id -> Reminder JSON."""
        return f"{self.prefix}:reminders"

    @property
    def due(self) -> str:
        """Sorted set: reminder id -> epoch milliseconds when it becomes claimable (due time, or lease end)."""
        return f"{self.prefix}:due"

    @property
    def leases(self) -> str:
        """Hash: reminder id -> token of the replica currently firing it."""
        return f"{self.prefix}:leases"

    @property
    def next_id(self) -> str:
        """Counter for short ids."""
        return f"{self.prefix}:next_id"

    def place(self, bot_id: str, place_id: str) -> str:
        """Set: ids of the reminders of one room (or one direct conversation) of one bot."""
        return f"{self.prefix}:place:{bot_id}:{place_id}"

    def zone(self, bot_id: str, place_id: str) -> str:
        """String: IANA time zone of one room (or direct conversation), overriding QUN_TIMEZONE."""
        return f"{self.prefix}:zone:{bot_id}:{place_id}"

    def source_event(self, event_id: str) -> str:
        """String: reminder id created by this event (kept a day, longer than any redelivery)."""
        return f"{self.prefix}:event:{event_id}"


_ADD = """
-- KEYS: reminders, due, next_id, place, source_event   ARGV: body with id "__ID__", due_ms, event_ttl_s (0: none)
local dedupe = tonumber(ARGV[3]) > 0
if dedupe then
  local existing = redis.call('GET', KEYS[5])
  if existing then return {existing, 0} end
end
local id = tostring(redis.call('INCR', KEYS[3]))
local body = string.gsub(ARGV[1], '"__ID__"', '"' .. id .. '"', 1)
redis.call('HSET', KEYS[1], id, body)
redis.call('ZADD', KEYS[2], ARGV[2], id)
redis.call('SADD', KEYS[4], id)
if dedupe then redis.call('SET', KEYS[5], id, 'EX', ARGV[3]) end
return {id, 1}
"""

_CLAIM = """
-- KEYS: due, reminders, leases   ARGV: now_ms, lease_until_ms, limit, token
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
local out = {}
for _, id in ipairs(ids) do
  local body = redis.call('HGET', KEYS[2], id)
  if body then
    redis.call('ZADD', KEYS[1], ARGV[2], id)
    redis.call('HSET', KEYS[3], id, ARGV[4])
    table.insert(out, body)
  else
    redis.call('ZREM', KEYS[1], id)
  end
end
return out
"""

_COMPLETE = """
-- KEYS: due, reminders, leases, place   ARGV: id, token, next_due_ms ('' = done), next body
if redis.call('HGET', KEYS[3], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('HDEL', KEYS[3], ARGV[1])
if ARGV[3] == '' then
  redis.call('ZREM', KEYS[1], ARGV[1])
  redis.call('HDEL', KEYS[2], ARGV[1])
  redis.call('SREM', KEYS[4], ARGV[1])
else
  redis.call('HSET', KEYS[2], ARGV[1], ARGV[4])
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
end
return 1
"""

_CANCEL = """
-- KEYS: due, reminders, leases, place   ARGV: id
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
redis.call('SREM', KEYS[4], ARGV[1])
return redis.call('HDEL', KEYS[2], ARGV[1])
"""

_PLACEHOLDER_ID = "__ID__"
SOURCE_EVENT_TTL_S = 86_400


@dataclass(frozen=True)
class Claim:
    """A reminder this replica holds the lease on; `reminder.next_due` is the firing being handled."""

    reminder: Reminder
    token: str


def epoch_ms(instant: datetime) -> int:
    return round(instant.astimezone(UTC).timestamp() * 1000)


class ReminderStore:
    def __init__(self, redis: Redis, keys: SchedulerKeys | None = None) -> None:
        self._redis = redis
        self.keys = keys or SchedulerKeys()
        self._add = redis.register_script(_ADD)
        self._claim = redis.register_script(_CLAIM)
        self._complete = redis.register_script(_COMPLETE)
        self._cancel = redis.register_script(_CANCEL)

    async def add(self, draft: Reminder) -> tuple[Reminder, bool]:
        """Store `draft` under a fresh id; returns it and whether it is new (False: this event already did)."""
        keys = self.keys
        event_key = keys.source_event(draft.source_event_id)
        body = draft.model_copy(update={"id": _PLACEHOLDER_ID}).model_dump_json()
        reminder_id, created = cast(
            "list[Any]",
            await self._add(
                keys=[
                    keys.reminders,
                    keys.due,
                    keys.next_id,
                    keys.place(draft.bot_id, draft.place_id),
                    event_key,
                ],
                args=[body, epoch_ms(draft.next_due), SOURCE_EVENT_TTL_S if draft.source_event_id else 0],
            ),
        )
        stored = await self.get(str(reminder_id))
        if stored is None:  # created by the same event, then already fired or cancelled
            return draft.model_copy(update={"id": str(reminder_id)}), False
        return stored, bool(created)

    async def get(self, reminder_id: str) -> Reminder | None:
        body = await self._redis.hget(self.keys.reminders, reminder_id)
        return None if body is None else Reminder.model_validate_json(body)

    async def list_place(self, bot_id: str, place_id: str) -> list[Reminder]:
        """Pending reminders of one room or direct conversation, soonest first."""
        ids = sorted(await self._redis.smembers(self.keys.place(bot_id, place_id)))
        if not ids:
            return []
        bodies = await self._redis.hmget(self.keys.reminders, ids)
        reminders = [Reminder.model_validate_json(body) for body in bodies if body is not None]
        return sorted(reminders, key=lambda reminder: (reminder.next_due, int(reminder.id)))

    async def cancel(self, reminder: Reminder) -> bool:
        keys = self.keys
        removed = await self._cancel(
            keys=[keys.due, keys.reminders, keys.leases, keys.place(reminder.bot_id, reminder.place_id)],
            args=[reminder.id],
        )
        return bool(removed)

    async def claim_due(self, now: datetime, *, lease_ms: int, limit: int) -> list[Claim]:
        """Take up to `limit` reminders due by `now`, hidden from other replicas for `lease_ms`."""
        token = secrets.token_hex(8)
        now_ms = epoch_ms(now)
        bodies = cast(
            "list[str]",
            await self._claim(
                keys=[self.keys.due, self.keys.reminders, self.keys.leases],
                args=[now_ms, now_ms + lease_ms, limit, token],
            ),
        )
        return [Claim(Reminder.model_validate_json(body), token) for body in bodies]

    async def complete(self, claim: Claim, next_due: datetime | None) -> bool:
        """Finish a firing: drop a one-off, or move a recurring one to `next_due`. False if the lease was lost."""
        keys = self.keys
        reminder = claim.reminder
        if next_due is None:
            next_args: list[str | int] = ["", ""]
        else:
            moved = reminder.model_copy(update={"next_due": next_due})
            next_args = [epoch_ms(next_due), moved.model_dump_json()]
        done = await self._complete(
            keys=[keys.due, keys.reminders, keys.leases, keys.place(reminder.bot_id, reminder.place_id)],
            args=[reminder.id, claim.token, *next_args],
        )
        return bool(done)

    async def next_claimable_ms(self) -> int | None:
        """When the earliest reminder (or lease end) comes due, in epoch ms; None when nothing is pending."""
        first = await self._redis.zrange(self.keys.due, 0, 0, withscores=True)
        return int(first[0][1]) if first else None

    async def zone_of(self, bot_id: str, place_id: str) -> str | None:
        zone = await self._redis.get(self.keys.zone(bot_id, place_id))
        return None if zone is None else str(zone)

    async def set_zone(self, bot_id: str, place_id: str, zone: str | None) -> None:
        if zone is None:
            await self._redis.delete(self.keys.zone(bot_id, place_id))
        else:
            await self._redis.set(self.keys.zone(bot_id, place_id), zone)

    async def pending_count(self) -> int:
        return int(await self._redis.zcard(self.keys.due))
