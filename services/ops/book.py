"""The alert book in Redis: which alerts are active, when each was last announced, and the outbox of deliveries.

Every decision to announce is one Redis transaction that also queues one delivery per channel, so an event acked
after `fire` returned has its notifications stored, and two replicas (or a redelivered event) cannot announce the
same alert twice. Deliveries are claimed one at a time (a lease in the outbox's score), retried with backoff, and
capped per channel per hour.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from redis.asyncio import Redis
from redis.exceptions import WatchError

from services.ops import keys
from services.ops.alerts import POLLED_KINDS, QUIET_END, Alert
from services.ops.channels import Channel, DeliveryError, Notification, Skipped

log = logging.getLogger("qunbus.ops.alerts")

_NOTE_IDS = uuid.UUID("5a0c7d3e-1f2b-4c6d-8e9a-0b1c2d3e4f50")
LOG_SIZE = 200
NOTE_TTL_S = 3 * 24 * 3600
CLAIM_S = 120.0

_CLAIM = """
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if score and tonumber(score) <= tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
  return 1
end
return 0
"""


def _epoch(moment: datetime) -> float:
    return moment.timestamp()


@dataclass(frozen=True)
class BookPolicy:
    repeat_s: float = 4 * 3600.0
    max_per_hour: int = 20
    retry_s: float = 30.0
    attempts: int = 6


class AlertBook:
    def __init__(self, redis: Redis, channels: Sequence[str], policy: BookPolicy) -> None:
        self._redis = redis
        self.channels = list(channels)
        self.policy = policy

    # -- deciding ----------------------------------------------------------------------------------------------

    async def fire(self, alert: Alert, now: datetime) -> Notification | None:
        """Announce `alert` unless the same key is active and was announced less than `repeat_s` ago."""

        def decide(current: dict[str, Any] | None) -> tuple[dict[str, Any], bool]:
            if current is not None and _epoch(now) - current["notified"] < self.policy.repeat_s:
                return {**current, "alert": alert.to_json()}, False
            first = current["first"] if current else _epoch(now)
            return {"alert": alert.to_json(), "first": first, "notified": _epoch(now)}, True

        return await self._transact(alert.key, decide, alert, "firing", now)

    async def resolve(self, key: str, now: datetime) -> Notification | None:
        """End an active alert; its end is announced unless its kind ends quietly."""
        async with self._redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(keys.ACTIVE_ALERTS)
                    raw = await pipe.hget(keys.ACTIVE_ALERTS, key)
                    if raw is None:
                        await pipe.reset()  # type: ignore[no-untyped-call]
                        return None
                    alert = Alert.from_json(json.loads(raw)["alert"])
                    pipe.multi()  # type: ignore[no-untyped-call]
                    pipe.hdel(keys.ACTIVE_ALERTS, key)
                    note = None
                    if alert.kind not in QUIET_END:
                        note = self._note(alert, "resolved", now)
                        self._queue(pipe, note, now)
                    await pipe.execute()
                except WatchError:
                    continue
                else:
                    return note

    async def once(self, alert: Alert, now: datetime) -> Notification | None:
        """A one-off alert (no end), announced at most once per `repeat_s` per key."""
        async with self._redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(keys.ONE_OFF_ALERTS)
                    last = await pipe.hget(keys.ONE_OFF_ALERTS, alert.key)
                    if last is not None and _epoch(now) - float(last) < self.policy.repeat_s:
                        await pipe.reset()  # type: ignore[no-untyped-call]
                        return None
                    note = self._note(alert, "firing", now)
                    pipe.multi()  # type: ignore[no-untyped-call]
                    pipe.hset(keys.ONE_OFF_ALERTS, alert.key, _epoch(now))
                    self._queue(pipe, note, now)
                    await pipe.execute()
                except WatchError:
                    continue
                else:
                    return note

    async def sync(self, holding: Sequence[Alert], now: datetime) -> list[Notification]:
        """The polled alerts that hold now: new ones are announced, gone ones resolved."""
        notes = [note for alert in holding if (note := await self.fire(alert, now)) is not None]
        wanted = {alert.key for alert in holding}
        for key, raw in (await self._redis.hgetall(keys.ACTIVE_ALERTS)).items():
            if key not in wanted and json.loads(raw)["alert"]["kind"] in POLLED_KINDS:
                note = await self.resolve(str(key), now)
                if note is not None:
                    notes.append(note)
        return notes

    async def _transact(
        self, key: str, decide: Any, alert: Alert, status: Literal["firing", "resolved"], now: datetime
    ) -> Notification | None:
        async with self._redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(keys.ACTIVE_ALERTS)
                    raw = await pipe.hget(keys.ACTIVE_ALERTS, key)
                    record, announce = decide(json.loads(raw) if raw else None)
                    pipe.multi()  # type: ignore[no-untyped-call]
                    pipe.hset(keys.ACTIVE_ALERTS, key, json.dumps(record, ensure_ascii=False))
                    note = None
                    if announce:
                        note = self._note(alert, status, now)
                        self._queue(pipe, note, now)
                    await pipe.execute()
                except WatchError:
                    continue
                else:
                    return note

    def _note(self, alert: Alert, status: Literal["firing", "resolved"], now: datetime) -> Notification:
        note_id = uuid.uuid5(_NOTE_IDS, f"{alert.key}/{status}/{now.isoformat()}").hex
        return Notification(note_id, alert, status, now.isoformat())

    def _queue(self, pipe: Any, note: Notification, now: datetime) -> None:
        pipe.set(keys.note(note.id), json.dumps(note.to_json(), ensure_ascii=False), ex=NOTE_TTL_S)
        if self.channels:
            pipe.hset(keys.note_deliveries(note.id), mapping=dict.fromkeys(self.channels, "pending"))
            pipe.expire(keys.note_deliveries(note.id), NOTE_TTL_S)
        pipe.lpush(keys.ALERT_LOG, note.id)
        pipe.ltrim(keys.ALERT_LOG, 0, LOG_SIZE - 1)
        if self.channels:
            pipe.zadd(keys.OUTBOX, {f"{note.id}|{channel}": _epoch(now) for channel in self.channels})

    # -- reading -----------------------------------------------------------------------------------------------

    async def active(self) -> list[dict[str, Any]]:
        raw = await self._redis.hgetall(keys.ACTIVE_ALERTS)
        records = [json.loads(value) for value in raw.values()]
        return sorted(records, key=lambda record: record["first"], reverse=True)

    async def recent(self, limit: int = 50) -> list[dict[str, Any]]:
        ids = [str(note_id) for note_id in await self._redis.lrange(keys.ALERT_LOG, 0, limit - 1)]
        if not ids:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for note_id in ids:
                pipe.get(keys.note(note_id))
                pipe.hgetall(keys.note_deliveries(note_id))
            results = await pipe.execute()
        return [
            {**json.loads(raw), "deliveries": deliveries}
            for raw, deliveries in zip(results[::2], results[1::2], strict=True)
            if raw
        ]

    # -- delivering --------------------------------------------------------------------------------------------

    async def deliver_due(self, channels: Sequence[Channel], now: datetime) -> int:
        """Send what is due; returns how many deliveries were settled (sent, skipped or given up)."""
        by_name = {channel.name: channel for channel in channels}
        due = [
            str(member) for member in await self._redis.zrangebyscore(keys.OUTBOX, "-inf", _epoch(now), 0, 50)
        ]
        settled = 0
        for member in due:
            if not await self._redis.eval(_CLAIM, 1, keys.OUTBOX, member, _epoch(now), _epoch(now) + CLAIM_S):
                continue  # another replica took it
            note_id, _, channel_name = member.rpartition("|")
            settled += await self._deliver(member, note_id, by_name.get(channel_name), channel_name, now)
        return settled

    async def _deliver(
        self, member: str, note_id: str, channel: Channel | None, channel_name: str, now: datetime
    ) -> int:
        raw = await self._redis.get(keys.note(note_id))
        if raw is None or channel is None:
            await self._redis.zrem(keys.OUTBOX, member)
            return 1
        if not await self._within_cap(channel_name, member, now):
            return 0
        note = Notification.from_json(json.loads(raw))
        try:
            await channel.send(note)
        except Skipped as skipped:
            await self._settle(member, note_id, channel_name, f"skipped: {skipped}")
            return 1
        except DeliveryError as error:
            return await self._failed(member, note_id, channel_name, str(error), now)
        except Exception as error:  # a channel bug must not stop the others; retried like a refusal
            log.exception("alert channel %s failed", channel_name)
            return await self._failed(member, note_id, channel_name, type(error).__name__, now)
        await self._redis.zadd(keys.sent(channel_name), {member: _epoch(now)})
        await self._settle(member, note_id, channel_name, "sent")
        log.info("alert %s (%s) sent to %s", note.alert.key, note.status, channel_name)
        return 1

    async def _within_cap(self, channel_name: str, member: str, now: datetime) -> bool:
        sent_key = keys.sent(channel_name)
        hour_ago = _epoch(now) - 3600
        await self._redis.zremrangebyscore(sent_key, "-inf", hour_ago)
        oldest = await self._redis.zrange(sent_key, 0, 0, withscores=True)
        if await self._redis.zcard(sent_key) < self.policy.max_per_hour:
            return True
        retry_at = (float(oldest[0][1]) if oldest else _epoch(now)) + 3600
        await self._redis.zadd(keys.OUTBOX, {member: retry_at})
        log.warning("alert channel %s reached its hourly cap; delivery postponed", channel_name)
        return False

    async def _failed(self, member: str, note_id: str, channel_name: str, reason: str, now: datetime) -> int:
        attempts = int(await self._redis.hincrby(keys.ATTEMPTS, member, 1))
        if attempts >= self.policy.attempts:
            log.error("alert channel %s: giving up after %d attempts (%s)", channel_name, attempts, reason)
            await self._settle(member, note_id, channel_name, f"failed: {reason}")
            return 1
        delay = self.policy.retry_s * 2 ** (attempts - 1)
        log.warning("alert channel %s failed (%s); retry in %.0fs", channel_name, reason, delay)
        await self._redis.zadd(keys.OUTBOX, {member: _epoch(now) + delay})
        await self._record(note_id, channel_name, f"retrying: {reason}")
        return 0

    async def _settle(self, member: str, note_id: str, channel_name: str, result: str) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zrem(keys.OUTBOX, member)
            pipe.hdel(keys.ATTEMPTS, member)
            await pipe.execute()
        await self._record(note_id, channel_name, result)

    async def _record(self, note_id: str, channel_name: str, result: str) -> None:
        """The delivery result, for the console and `qunctl alerts`."""
        await self._redis.hset(keys.note_deliveries(note_id), channel_name, result)
