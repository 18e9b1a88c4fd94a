"""Reminders in Redis: one hash of JSON bodies, one sorted set of due times, one set of ids per room and one per
creator (the quotas count them).

Exactly-once across replicas rests on three atomic scripts:

- ADD stores a reminder once per source event (a redelivered command event returns the same id), unless its room
  or its creator already has as many active reminders as allowed (checked and stored in one step, so two replicas
  cannot both take the last place).
- CLAIM takes every reminder due by `now` and hides it for a lease (its score moves to `now + lease`), recording a
  lease token. Another replica cannot see it until the lease ends, so only one replica fires it.
- COMPLETE, only while the caller's token is still the lease on record, deletes a one-off or moves a recurring
  reminder to its next due time — so a recurring reminder is rescheduled exactly once.

If a replica dies between CLAIM and COMPLETE, the lease runs out and another replica fires it again; the firing
carries a command id made of reminder id + due time, so the bus's deduplication drops the second copy.

A body that no longer reads as a Reminder (hand-edited, or written by a newer release that changed a field) is
judged on its own: it is moved to the dead-letter hash with a log line, and every other reminder read alongside it
(claimed in the same batch, listed in the same room) goes on as usual.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from pydantic import ValidationError
from redis.asyncio import Redis

from services.scheduler.metrics import CORRUPT
from services.scheduler.reminder import Reminder

log = logging.getLogger(__name__)


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

    def creator(self, bot_id: str, creator_id: str) -> str:
        """Set: ids of the active reminders one contact set through one bot, wherever they fire (for the quota)."""
        return f"{self.prefix}:creator:{bot_id}:{creator_id}"

    @property
    def dead(self) -> str:
        """Hash: reminder id -> body that could not be read, moved aside for an operator to repair or drop."""
        return f"{self.prefix}:dead"

    def source_event(self, event_id: str) -> str:
        """String: reminder id created by this event (kept a day, longer than any redelivery)."""
        return f"{self.prefix}:event:{event_id}"


_ADD = """
-- KEYS: reminders, due, next_id, place, source_event, creator
-- ARGV: body with id "__ID__", due_ms, event_ttl_s (0: none), max per place, max per creator (0: no limit)
-- returns {id, 1} when stored, {id, 0} when this event stored it before, {'', 'place'|'creator'} when full
local dedupe = tonumber(ARGV[3]) > 0
if dedupe then
  local existing = redis.call('GET', KEYS[5])
  if existing then return {existing, 0} end
end
-- A full set is first cleared of ids whose reminder is gone (fired, cancelled, or moved aside as unreadable).
local function full(key, limit)
  if limit <= 0 or redis.call('SCARD', key) < limit then return false end
  for _, id in ipairs(redis.call('SMEMBERS', key)) do
    if redis.call('HEXISTS', KEYS[1], id) == 0 then redis.call('SREM', key, id) end
  end
  return redis.call('SCARD', key) >= limit
end
if full(KEYS[4], tonumber(ARGV[4])) then return {'', 'place'} end
if full(KEYS[6], tonumber(ARGV[5])) then return {'', 'creator'} end
local id = tostring(redis.call('INCR', KEYS[3]))
local body = string.gsub(ARGV[1], '"__ID__"', '"' .. id .. '"', 1)
redis.call('HSET', KEYS[1], id, body)
redis.call('ZADD', KEYS[2], ARGV[2], id)
redis.call('SADD', KEYS[4], id)
redis.call('SADD', KEYS[6], id)
if dedupe then redis.call('SET', KEYS[5], id, 'EX', ARGV[3]) end
return {id, 1}
"""

_CLAIM = """
-- KEYS: due, reminders, leases   ARGV: now_ms, lease_until_ms, limit, token   returns {id, body, id, body, ...}
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
local out = {}
for _, id in ipairs(ids) do
  local body = redis.call('HGET', KEYS[2], id)
  if body then
    redis.call('ZADD', KEYS[1], ARGV[2], id)
    redis.call('HSET', KEYS[3], id, ARGV[4])
    table.insert(out, id)
    table.insert(out, body)
  else
    redis.call('ZREM', KEYS[1], id)
  end
end
return out
"""

_COMPLETE = """
-- KEYS: due, reminders, leases, place, creator   ARGV: id, token, next_due_ms ('' = done), next body
if redis.call('HGET', KEYS[3], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('HDEL', KEYS[3], ARGV[1])
if ARGV[3] == '' then
  redis.call('ZREM', KEYS[1], ARGV[1])
  redis.call('HDEL', KEYS[2], ARGV[1])
  redis.call('SREM', KEYS[4], ARGV[1])
  redis.call('SREM', KEYS[5], ARGV[1])
else
  redis.call('HSET', KEYS[2], ARGV[1], ARGV[4])
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
end
return 1
"""

_CANCEL = """
-- KEYS: due, reminders, leases, place, creator   ARGV: id
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
redis.call('SREM', KEYS[4], ARGV[1])
redis.call('SREM', KEYS[5], ARGV[1])
return redis.call('HDEL', KEYS[2], ARGV[1])
"""

_MOVE_ASIDE = """
-- KEYS: reminders, due, leases, dead[, place]   ARGV: id, body as read
-- Only the body that was judged unreadable: one rewritten meanwhile (repaired, or fired) is left alone.
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[4], ARGV[1], ARGV[2])
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
if KEYS[5] then redis.call('SREM', KEYS[5], ARGV[1]) end
return 1
"""

_PLACEHOLDER_ID = "__ID__"
SOURCE_EVENT_TTL_S = 86_400


@dataclass(frozen=True)
class Limits:
    """Active reminders allowed per room (or direct conversation) and per creator; 0 means no limit."""

    per_place: int = 0
    per_creator: int = 0


class LimitReached(Exception):  # noqa: N818 - a refusal members see, not a fault
    def __init__(self, scope: str, limit: int) -> None:
        super().__init__(f"{scope} has {limit} active reminders")
        self.scope = scope
        """'place' (the room or direct conversation) or 'creator'."""
        self.limit = limit


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
        self._move_aside = redis.register_script(_MOVE_ASIDE)

    async def add(self, draft: Reminder, limits: Limits | None = None) -> tuple[Reminder, bool]:
        """Store `draft` under a fresh id; returns it and whether it is new (False: this event already did).
        Raises `LimitReached` when its room (or direct conversation) or its creator has `limits` active ones."""
        keys = self.keys
        limits = limits or Limits()
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
                    keys.creator(draft.bot_id, draft.creator_id),
                ],
                args=[
                    body,
                    epoch_ms(draft.next_due),
                    SOURCE_EVENT_TTL_S if draft.source_event_id else 0,
                    limits.per_place,
                    limits.per_creator,
                ],
            ),
        )
        if not reminder_id:
            raise LimitReached(created, limits.per_place if created == "place" else limits.per_creator)
        stored = await self.get(str(reminder_id))
        if stored is None:  # created by the same event, then already fired or cancelled
            return draft.model_copy(update={"id": str(reminder_id)}), False
        return stored, bool(created)

    async def get(self, reminder_id: str) -> Reminder | None:
        """The reminder, or None if there is none (an unreadable one is moved aside and counts as none)."""
        body = cast("str | None", await self._redis.hget(self.keys.reminders, reminder_id))
        return None if body is None else await self._read(reminder_id, body)

    async def list_place(self, bot_id: str, place_id: str) -> list[Reminder]:
        """Pending reminders of one room or direct conversation, soonest first; unreadable ones moved aside."""
        place_key = self.keys.place(bot_id, place_id)
        ids = sorted(cast("set[str]", await self._redis.smembers(place_key)))  # decode_responses=True
        if not ids:
            return []
        bodies = cast("list[str | None]", await self._redis.hmget(self.keys.reminders, ids))
        reminders: list[Reminder] = []
        gone: list[str] = []
        for reminder_id, body in zip(ids, bodies, strict=True):
            if body is None:
                gone.append(reminder_id)  # moved aside by a claim or a lookup, which did not know its room
            elif (reminder := await self._read(reminder_id, body, place_key)) is not None:
                reminders.append(reminder)
        if gone:  # every write of a live reminder sets its body and its room together, so this is stale
            await self._redis.srem(place_key, *gone)
        return sorted(reminders, key=lambda reminder: (reminder.next_due, int(reminder.id)))

    async def dead_letters(self) -> dict[str, str]:
        """Bodies moved aside as unreadable, by reminder id."""
        return cast("dict[str, str]", await self._redis.hgetall(self.keys.dead))

    async def _read(self, reminder_id: str, body: str, place_key: str | None = None) -> Reminder | None:
        """One stored body as a Reminder, judged alone: an unreadable one is moved aside, never fired or listed."""
        try:
            return Reminder.model_validate_json(body)
        except ValidationError as error:
            reason = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors()[:3])
        keys = self.keys
        moved = await self._move_aside(
            keys=[keys.reminders, keys.due, keys.leases, keys.dead, *([place_key] if place_key else [])],
            args=[reminder_id, body],
        )
        if moved:
            CORRUPT.inc()
            log.error("reminder %s is unreadable, moved to %s: %s", reminder_id, keys.dead, reason)
        return None

    async def cancel(self, reminder: Reminder) -> bool:
        keys = self.keys
        removed = await self._cancel(
            keys=[
                keys.due,
                keys.reminders,
                keys.leases,
                keys.place(reminder.bot_id, reminder.place_id),
                keys.creator(reminder.bot_id, reminder.creator_id),
            ],
            args=[reminder.id],
        )
        return bool(removed)

    async def claim_due(self, now: datetime, *, lease_ms: int, limit: int) -> list[Claim]:
        """Take up to `limit` reminders due by `now`, hidden from other replicas for `lease_ms`."""
        token = secrets.token_hex(8)
        now_ms = epoch_ms(now)
        flat = cast(
            "list[str]",
            await self._claim(
                keys=[self.keys.due, self.keys.reminders, self.keys.leases],
                args=[now_ms, now_ms + lease_ms, limit, token],
            ),
        )
        claims = []
        for reminder_id, body in zip(flat[::2], flat[1::2], strict=True):
            if (reminder := await self._read(reminder_id, body)) is not None:
                claims.append(Claim(reminder, token))
        return claims

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
            keys=[
                keys.due,
                keys.reminders,
                keys.leases,
                keys.place(reminder.bot_id, reminder.place_id),
                keys.creator(reminder.bot_id, reminder.creator_id),
            ],
            args=[reminder.id, claim.token, *next_args],
        )
        return bool(done)

    async def next_claimable_ms(self) -> int | None:
        """When the earliest reminder (or lease end) comes due, in epoch ms; None when nothing is pending."""
        first = await self._redis.zrange(self.keys.due, 0, 0, withscores=True)
        return int(first[0][1]) if first else None

    async def pending_count(self) -> int:
        return int(await self._redis.zcard(self.keys.due))
