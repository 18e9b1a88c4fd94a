"""The one loop that speaks to WeChat: parts of commands, one at a time, fair by conversation, paced by Redis.

`send(job)` queues the parts of one command and returns once WeChat accepted all of them (`SENT`), or once the
command went stale while it waited (`STALE`: dropped, never sent late); it raises the first failure (the parts not
sent yet are dropped, the consumer retries or pauses). `step()` offers the queued parts to the send script in
serving order (`FairQueue`) and sends at most one; `run()` calls it on the real clock, the soak on a simulated one.

Per part: the send script records the intent (and takes the tokens) → WeChat → `confirm`. A part WeChat refused is
`forget`-ten and may be retried; a part whose outcome is unknown (the call timed out or was cut, the process died,
Redis went away before the confirmation) is never sent again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum

from opentelemetry.trace import SpanKind, Tracer

from schemas.base import Priority
from services.gateway.budget import Already, Exhausted, Go, NotLeader, SendBudget, Verdict, Wait
from services.gateway.executor import Executor, Step, describe
from services.gateway.lease import LeaseLostError
from services.gateway.pacing import FairQueue
from services.shared import telemetry
from services.shared.consumer import is_outage

log = logging.getLogger("qunbus.gateway.sender")

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


class Outcome(Enum):
    SENT = "sent"
    STALE = "stale"


@dataclass(eq=False)
class Job:
    """One command's parts still to send."""

    command_id: str
    priority: Priority
    kind: str
    """Daily budget it counts against (text, file, invite, friend), "" for none."""
    steps: list[Step]
    expires_at: float
    """Epoch seconds after which nothing of it is sent (age limit or deadline)."""
    headers: Mapping[str, str] = field(default_factory=dict)
    left: int = 0
    done: asyncio.Future[Outcome] | None = None

    def finish(self, outcome: Outcome) -> None:
        if self.done is not None and not self.done.done():
            self.done.set_result(outcome)

    def fail(self, error: BaseException) -> None:
        if self.done is not None and not self.done.done():
            self.done.set_exception(error)

    @property
    def over(self) -> bool:
        return self.done is None or self.done.done()


@dataclass(frozen=True)
class _Part:
    job: Job
    step: Step


def outcome_unknown(error: BaseException) -> bool:
    """Whether WeChat may have received a part whose call ended with `error` (cut, timed out, cancelled): then it
    is not tried again. A refusal (the puppet answered with an error) or an unreachable puppet means not sent."""
    if isinstance(error, ConnectionRefusedError):
        return False
    unknown = (TimeoutError, ConnectionError, asyncio.CancelledError, EOFError)
    return isinstance(error, unknown) or type(error).__name__ == "StreamTerminatedError"


@dataclass
class SenderStats:
    sent: int = 0
    rate_limit_waits: int = 0
    """Stretches of time in which the account's bucket held sending back."""
    unknown_outcomes: int = 0
    daily_used: dict[str, int] = field(default_factory=dict)
    held: dict[str, str] = field(default_factory=dict)
    """Kind -> why it is held (its daily budget is used up)."""


class Sender:
    def __init__(
        self,
        executor: Executor,
        budget: SendBudget,
        tracer: Tracer,
        *,
        lease: Callable[[], str],
        jitter_s: float = 0.0,
        clock: Clock = time.time,
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        """`lease()` gives the current send-lease value the script checks; `clock`/`sleep` are real time except in
        the soak."""
        self.executor = executor
        self.budget = budget
        self.tracer = tracer
        self.lease = lease
        self.jitter_s = jitter_s
        self.clock = clock
        self.sleep = sleep
        self.rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
        self.queue: FairQueue[_Part] = FairQueue()
        self.stats = SenderStats()
        self._jobs: set[Job] = set()
        self._account_ready_at = 0.0
        self._held_until: dict[str, float] = {}
        self._waiting = False
        self._pause_after_send = False
        self._work = asyncio.Event()

    # -- status ----------------------------------------------------------------------------------------------

    @property
    def sent(self) -> int:
        return self.stats.sent

    @property
    def rate_limit_waits(self) -> int:
        return self.stats.rate_limit_waits

    def queue_sizes(self) -> dict[str, int]:
        return self.queue.sizes_by_conversation()

    # -- queueing --------------------------------------------------------------------------------------------

    def submit(self, job: Job) -> asyncio.Future[Outcome]:
        """Queue the job's parts; the future resolves as `send` describes."""
        job.done = asyncio.get_running_loop().create_future()
        job.left = len(job.steps)
        if not job.steps:
            job.finish(Outcome.SENT)
            return job.done
        self._jobs.add(job)
        for step in job.steps:
            self.queue.push(job.priority, step.conversation, _Part(job, step))
        self._work.set()
        return job.done

    async def send(self, job: Job) -> Outcome:
        return await self.wait(job, self.submit(job))

    async def wait(self, job: Job, done: asyncio.Future[Outcome]) -> Outcome:
        """Wait for a submitted job; cancelling the wait takes its unsent parts out of the queue."""
        try:
            return await done
        finally:
            if not job.over:  # cancelled (the consumer stopped): its parts must not go out any more
                job.fail(asyncio.CancelledError())
            self._forget(job)

    def _forget(self, job: Job) -> None:
        if job in self._jobs:
            self._jobs.discard(job)
            self.queue.remove(lambda part: part.job is job)

    def _fail_all(self, error: BaseException) -> None:
        for job in list(self._jobs):
            job.fail(error)
            self._forget(job)

    # -- sending ---------------------------------------------------------------------------------------------

    async def run(self) -> None:
        while True:
            wait = await self.step()
            if wait is not None and wait <= 0:
                continue
            self._work.clear()
            # asyncio.timeout, not wait_for: Python 3.11's wait_for can swallow a cancellation.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self._work.wait()

    async def step(self) -> float | None:
        """Send at most one part. Returns 0 (call again at once), seconds to wait, or None (nothing queued)."""
        if self._pause_after_send:
            # The pause after a send, before the next tokens are taken: an irregular rhythm.
            self._pause_after_send = False
            await self.sleep(self.rng.uniform(0.0, self.jitter_s))
        now = self.clock()
        self._drop_expired(now)
        if not len(self.queue):
            return None
        if self._account_ready_at > now:
            return self._account_ready_at - now
        for priority, conversation in self.queue.candidates(now):
            part = self.queue.head(priority, conversation)
            if self._held_until.get(part.job.kind, 0.0) > now:
                continue
            verdict = await self._ask(part)
            if verdict is None:
                return 0.0
            if isinstance(verdict, Go | Already):
                self.queue.pop(priority, conversation)
                if isinstance(verdict, Go):
                    await self._deliver(part, verdict)
                else:
                    self._skip(part, verdict)
                return 0.0
            wait = self._blocked(verdict, part, now)
            if wait is not None:
                return wait
        return self._soonest(now)

    def _blocked(self, verdict: Wait | Exhausted | NotLeader, part: _Part, now: float) -> float | None:
        """What a refusal means: a wait for everything (returned), or only for this conversation or kind (None)."""
        match verdict:
            case Wait(scope="account", seconds=seconds):
                self._count_wait()
                self._account_ready_at = now + seconds
                return seconds
            case Wait(seconds=seconds):
                self._count_wait()
                self.queue.defer(part.step.conversation, now + seconds)
            case Exhausted():
                self._hold(part.job.kind, verdict, now)
            case NotLeader():
                self._fail_all(LeaseLostError("this process does not hold the send lease"))
                return 1.0
        return None

    async def _ask(self, part: _Part) -> Verdict | None:
        job, step = part.job, part.step
        try:
            return await self.budget.try_send(
                self.lease(), step.conversation, job.kind, job.command_id, step.index
            )
        except Exception as error:  # noqa: BLE001 - an outage pauses everything, anything else fails this command
            if is_outage(error):
                # Redis is away: nothing may be sent unrecorded. Every command waits (the consumer pauses them).
                log.warning("cannot record before sending (%s); sending paused", type(error).__name__)
                self._fail_all(error)
            else:
                job.fail(error)
                self._forget(job)
            return None

    async def _deliver(self, part: _Part, go: Go) -> None:
        job, step = part.job, part.step
        self._waiting = False
        self._pause_after_send = self.jitter_s > 0
        if go.limit:
            self._count_daily(job.kind, go)
        try:
            with telemetry.continued(self.tracer, "wechat send", job.headers, SpanKind.PRODUCER):
                await self.executor.run(step)
        except BaseException as error:
            if outcome_unknown(error):
                self.stats.unknown_outcomes += 1
                log.exception("%s: outcome unknown; it will not be sent again", describe(step))
            else:
                log.warning("%s failed: %s", describe(step), error)
                with contextlib.suppress(Exception):  # unforgotten, the part counts as maybe sent: not resent
                    await self.budget.forget(job.command_id, step.index)
            job.fail(error)
            self._forget(job)
            if isinstance(error, asyncio.CancelledError):
                raise
            return
        self.stats.sent += 1
        try:
            await self.budget.confirm(job.command_id, step.index)
        except Exception as error:  # noqa: BLE001 - it stays `intent`: a retry skips it, as it should
            job.fail(error)
            self._forget(job)
            return
        self._part_done(job)

    def _skip(self, part: _Part, already: Already) -> None:
        if already.outcome_unknown:
            self.stats.unknown_outcomes += 1
            log.warning(
                "%s was handed to WeChat before with unknown outcome; not sent again", describe(part.step)
            )
        self._part_done(part.job)

    def _part_done(self, job: Job) -> None:
        job.left -= 1
        if job.left <= 0:
            job.finish(Outcome.SENT)
            self._forget(job)

    def _count_daily(self, kind: str, go: Go) -> None:
        self.stats.daily_used[kind] = go.used
        if go.used == math.ceil(go.limit * 0.8):
            log.warning("80%% of today's %s budget used (%d of %d)", kind, go.used, go.limit)

    def _hold(self, kind: str, exhausted: Exhausted, now: float) -> None:
        if self._held_until.get(kind, 0.0) <= now:
            log.error(
                "today's %s budget is used up (%d of %d): %s held for %.0f s, until midnight",
                kind,
                exhausted.used,
                exhausted.limit,
                kind,
                exhausted.seconds,
            )
        self._held_until[kind] = now + exhausted.seconds
        self.stats.daily_used[kind] = exhausted.used
        self.stats.held[kind] = f"daily {kind} budget used up ({exhausted.used}/{exhausted.limit})"

    def _drop_expired(self, now: float) -> None:
        for kind, until in list(self._held_until.items()):
            if until <= now:
                del self._held_until[kind]
                self.stats.held.pop(kind, None)
        for job in [job for job in self._jobs if job.expires_at <= now]:
            job.finish(Outcome.STALE)
            self._forget(job)

    def _count_wait(self) -> None:
        """Count each stretch of waiting for a bucket once, not every time the loop asks."""
        if not self._waiting:
            self._waiting = True
            self.stats.rate_limit_waits += 1

    def _soonest(self, now: float) -> float:
        waits = [until - now for until in self._held_until.values()]
        deferred = self.queue.soonest(now)
        if deferred is not None:
            waits.append(deferred)
        waits += [job.expires_at - now for job in self._jobs]
        return max(0.001, min(waits)) if waits else 1.0
