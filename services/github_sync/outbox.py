"""A durable queue of GitHub writes: a requested issue or comment is never lost.

A chat handler only stores the write (due at once); the background loop on any replica sends it, so a slow or
unreachable GitHub never stalls the handlers of a room. If GitHub is down or rate-limits us, the write stays,
due again after a backoff (or GitHub's Retry-After). A lock per write keeps two replicas from sending the same
one: it holds a random token and is released only by its holder (compare-and-delete), so an attempt that outran
its lease cannot free the lock another replica took meanwhile. The outcome is kept for a while so a redelivered
chat event does not store the write again, and a finished write stays listed as unannounced until its room has
been told (posting to the room may fail after GitHub accepted: the news is then retried, never the write).

One window remains: GitHub created the issue but we crashed before storing that — the retry files it twice.
GitHub offers no idempotency key for issues, so this is the least bad choice (a duplicate beats a loss).
"""

from __future__ import annotations

import secrets
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


# Release the lock only if it still holds our token: after our lease ran out another replica may own it.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('DEL', KEYS[1])
end
return 0
"""

# Store a write unless it already finished (result kept) or is already stored: one check, one step.
_SUBMIT = """
if redis.call('EXISTS', KEYS[3]) == 1 then
    return 0
end
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 1 then
    redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
    return 1
end
return 0
"""


class Outbox:
    def __init__(self, redis: Redis, policy: OutboxPolicy) -> None:
        self._redis = redis
        self._policy = policy
        self._release = redis.register_script(_RELEASE)
        self._submit = redis.register_script(_SUBMIT)

    async def submit(self, write: PendingWrite, *, now: datetime) -> bool:
        """Store a new write, due at once for the background loop. False if this request was stored before
        (a redelivered chat event): it is not stored, nor filed, twice."""
        stored = await self._submit(
            keys=[keys.outbox_jobs(), keys.outbox_due(), keys.outbox_result(write.id)],
            args=[write.id, write.model_dump_json(), now.timestamp()],
        )
        return bool(stored)

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
        lock, token = keys.outbox_lock(write_id), secrets.token_hex(16)
        if not await self._redis.set(lock, token, nx=True, px=self._policy.lock_for):
            write = await self.pending(write_id)
            return None if write is None else Attempt(Status.BUSY, write)
        try:
            attempt = await self._attempt_locked(write_id, tracker, now=now)
        finally:
            await self._release(keys=[lock], args=[token])
        if attempt is not None:
            metrics.WRITES.labels(attempt.write.job.kind, attempt.status).inc()
        return attempt

    async def _attempt_locked(self, write_id: str, tracker: IssueTracker, *, now: datetime) -> Attempt | None:
        write = await self.pending(write_id)
        if write is None or await self.result(write_id) is not None:
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
        """Never sent again; the write itself is kept until its room was told (see `unannounced`)."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(keys.outbox_result(write.id), done.model_dump_json(), ex=self._policy.keep_results_for)
            pipe.zrem(keys.outbox_due(), write.id)
            pipe.zadd(keys.outbox_unannounced(), {write.id: done.finished_at.timestamp()})
            await pipe.execute()

    async def unannounced(self, *, limit: int = 20) -> list[Attempt]:
        """Finished writes whose room has not been told yet, oldest first."""
        found: list[Attempt] = []
        for raw_id in await self._redis.zrange(keys.outbox_unannounced(), 0, limit - 1):
            write_id = str(raw_id)
            write, done = await self.pending(write_id), await self.result(write_id)
            if write is None or done is None:  # told meanwhile, or kept past its result's lifetime
                await self._redis.zrem(keys.outbox_unannounced(), write_id)
                continue
            found.append(Attempt(Status.DONE if done.ok else Status.REJECTED, write, done))
        return found

    async def announced(self, write_id: str) -> None:
        """The room was told the outcome: forget the write (its result stays, against redeliveries)."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hdel(keys.outbox_jobs(), write_id)
            pipe.zrem(keys.outbox_unannounced(), write_id)
            await pipe.execute()
