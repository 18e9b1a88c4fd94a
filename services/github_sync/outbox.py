"""A durable queue of GitHub writes: a requested issue or comment is never lost.

A write is stored before it is first tried. If GitHub is down or rate-limits us, it stays, due again after a
backoff (or GitHub's Retry-After), and a background loop on any replica drains it. A lock per write keeps two
replicas from sending the same one; the outcome is kept for a while so a redelivered chat event gets the same
answer instead of a second issue.

One window remains: GitHub created the issue but we crashed before storing that — the retry files it twice.
GitHub offers no idempotency key for issues, so this is the least bad choice (a duplicate beats a loss).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from redis.asyncio import Redis

from services.github_sync import keys, metrics
from services.github_sync.github_client import GitHubRejectedError, GitHubUnavailableError, IssueTracker
from services.github_sync.writes import Done, PendingWrite, perform


@dataclass(frozen=True)
class OutboxPolicy:
    first_retry: timedelta = timedelta(seconds=30)
    max_retry: timedelta = timedelta(minutes=30)
    lock_for: timedelta = timedelta(minutes=2)  # longer than one attempt with githubkit's inline retries
    keep_results_for: timedelta = timedelta(days=7)

    def delay(self, attempts: int, retry_after: timedelta | None) -> timedelta:
        backoff: timedelta = min(self.first_retry * (2 ** max(attempts - 1, 0)), self.max_retry)
        return max(backoff, retry_after) if retry_after is not None else backoff


class Status(StrEnum):
    DONE = "done"  # GitHub accepted it (now or earlier)
    REJECTED = "rejected"  # GitHub refused it for good
    DELAYED = "delayed"  # kept; will be tried again
    BUSY = "busy"  # another replica is attempting it right now


@dataclass(frozen=True)
class Attempt:
    status: Status
    write: PendingWrite
    done: Done | None = None
    first_delay: bool = False  # this attempt is the one that first delayed the write: tell the room once


class Outbox:
    def __init__(self, redis: Redis, policy: OutboxPolicy) -> None:
        self._redis = redis
        self._policy = policy

    async def submit(self, write: PendingWrite, *, now: datetime) -> Done | None:
        """Store a new write. Returns the earlier outcome if this request was already finished.

        The submitter attempts it right away; the background loop only picks it up after `first_retry`, in case
        the submitter died before trying (so the loop does not race the submitter and answer in its place)."""
        finished = await self.result(write.id)
        if finished is not None:
            return finished
        due = now + self._policy.first_retry
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hsetnx(keys.outbox_jobs(), write.id, write.model_dump_json())
            pipe.zadd(keys.outbox_due(), {write.id: due.timestamp()}, nx=True)
            await pipe.execute()
        return None

    async def result(self, write_id: str) -> Done | None:
        raw = await self._redis.get(keys.outbox_result(write_id))
        return None if raw is None else Done.model_validate_json(str(raw))

    async def pending(self, write_id: str) -> PendingWrite | None:
        raw = await self._redis.hget(keys.outbox_jobs(), write_id)
        return None if raw is None else PendingWrite.model_validate_json(str(raw))

    async def due(self, *, now: datetime, limit: int = 20) -> list[str]:
        ids = await self._redis.zrangebyscore(keys.outbox_due(), "-inf", now.timestamp(), 0, limit)
        return [str(write_id) for write_id in ids]

    async def size(self) -> int:
        return int(await self._redis.zcard(keys.outbox_due()))

    async def attempt(self, write_id: str, tracker: IssueTracker, *, now: datetime) -> Attempt | None:
        """Try one stored write. None if it is gone (finished meanwhile)."""
        lock = keys.outbox_lock(write_id)
        if not await self._redis.set(lock, "1", nx=True, px=self._policy.lock_for):
            write = await self.pending(write_id)
            return None if write is None else Attempt(Status.BUSY, write)
        try:
            attempt = await self._attempt_locked(write_id, tracker, now=now)
        finally:
            await self._redis.delete(lock)
        if attempt is not None:
            metrics.WRITES.labels(attempt.write.job.kind, attempt.status).inc()
        return attempt

    async def _attempt_locked(self, write_id: str, tracker: IssueTracker, *, now: datetime) -> Attempt | None:
        write = await self.pending(write_id)
        if write is None:
            return None
        try:
            done = await perform(write, tracker, now=now)
        except GitHubUnavailableError as exc:
            return await self._postpone(write, exc.retry_after, now=now)
        except GitHubRejectedError as exc:
            done = Done(ok=False, error=exc.message or str(exc.status), finished_at=now)
            await self._finish(write, done)
            return Attempt(Status.REJECTED, write, done)
        await self._finish(write, done)
        return Attempt(Status.DONE, write, done)

    async def _postpone(
        self, write: PendingWrite, retry_after: timedelta | None, *, now: datetime
    ) -> Attempt:
        later = write.model_copy(update={"attempts": write.attempts + 1})
        due = now + self._policy.delay(later.attempts, retry_after)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(keys.outbox_jobs(), write.id, later.model_dump_json())
            pipe.zadd(keys.outbox_due(), {write.id: due.timestamp()})
            await pipe.execute()
        return Attempt(Status.DELAYED, later, first_delay=later.attempts == 1)

    async def _finish(self, write: PendingWrite, done: Done) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(keys.outbox_result(write.id), done.model_dump_json(), ex=self._policy.keep_results_for)
            pipe.hdel(keys.outbox_jobs(), write.id)
            pipe.zrem(keys.outbox_due(), write.id)
            await pipe.execute()
