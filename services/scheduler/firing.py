"""Deciding what a due reminder does, and the loop that fires them.

Late firings (everything was down, or the loop fell behind), decided here:
- up to `note_after` late: fired as if on time;
- up to `max_late` late: fired with a note saying how late it is;
- later than `max_late`: a recurring reminder skips the missed occurrence silently and moves to the next one after
  now; a one-off has no next occurrence, so it is still sent once, marked as missed, rather than lost without a word.
A recurring reminder that missed several occurrences fires at most once and continues from now (no burst).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from services.scheduler.metrics import FIRING_DELAY, FIRINGS
from services.scheduler.reminder import Reminder
from services.scheduler.store import Claim, ReminderStore, epoch_ms

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FiringPlan:
    send: bool
    late_by: timedelta
    """How late the message is, for the note; zero when it needs no note."""
    missed: bool
    next_due: datetime | None


@dataclass(frozen=True)
class LatePolicy:
    note_after: timedelta = timedelta(minutes=1)
    max_late: timedelta = timedelta(minutes=10)


def plan_firing(reminder: Reminder, now: datetime, policy: LatePolicy) -> FiringPlan:
    delay = now.astimezone(UTC) - reminder.next_due.astimezone(UTC)
    noted = delay if delay > policy.note_after else timedelta(0)
    too_late = delay > policy.max_late
    next_due = None
    if reminder.recurrence is not None:
        after = max(now, reminder.next_due, key=lambda instant: instant.astimezone(UTC))
        next_due = reminder.recurrence.next_after(after, ZoneInfo(reminder.zone))
        if too_late:
            return FiringPlan(send=False, late_by=delay, missed=True, next_due=next_due)
    return FiringPlan(send=True, late_by=noted, missed=too_late, next_due=next_due)


def _outcome(plan: FiringPlan) -> str:
    if not plan.send:
        return "skipped"
    if plan.missed:
        return "missed"
    return "late" if plan.late_by else "on_time"


Send = Callable[[Reminder, FiringPlan], Awaitable[None]]
Clock = Callable[[], datetime]


@dataclass(frozen=True)
class LoopSettings:
    poll_interval_s: float = 1.0
    """Longest sleep: bounds how long a reminder added by another replica can wait for this one to look."""
    lease_ms: int = 30_000
    batch: int = 200
    concurrency: int = 16
    """Firings in flight at once: bounded so one busy second cannot exhaust the Redis connection pool."""
    late: LatePolicy = LatePolicy()


class FiringLoop:
    """Claims due reminders and fires them; sleeps until the next due time, or until woken by a new reminder."""

    def __init__(
        self,
        store: ReminderStore,
        send: Send,
        clock: Clock,
        settings: LoopSettings,
        *,
        wake: asyncio.Event | None = None,
    ) -> None:
        """`wake` is set by whoever stores a reminder in this process (the command handlers)."""
        self._store = store
        self._send = send
        self._clock = clock
        self._settings = settings
        self._wake = wake or asyncio.Event()
        self._in_flight = asyncio.Semaphore(settings.concurrency)

    def wake(self) -> None:
        """A reminder was added or changed here: look again now (it may be due sooner than the one slept for)."""
        self._wake.set()

    async def fire_due(self) -> int:
        """One pass: claim what is due now and fire it. Returns how many were claimed."""
        claims = await self._store.claim_due(
            self._clock(), lease_ms=self._settings.lease_ms, limit=self._settings.batch
        )
        await asyncio.gather(*(self._fire(claim) for claim in claims))
        return len(claims)

    async def _fire(self, claim: Claim) -> None:
        async with self._in_flight:
            plan = plan_firing(claim.reminder, self._clock(), self._settings.late)
            if plan.send:
                await self._send(claim.reminder, plan)
                FIRING_DELAY.observe(max(0.0, (self._clock() - claim.reminder.next_due).total_seconds()))
            FIRINGS.labels(_outcome(plan)).inc()
            completed = await self._store.complete(claim, plan.next_due)
        if not completed:
            log.warning(
                "reminder %s: lease lost before completing; another replica owns it", claim.reminder.id
            )

    async def run(self) -> None:
        """Fire forever. A failing pass (Redis or the bus away) is logged and retried after a pause; what it had
        claimed comes back when its lease ends, so nothing is lost."""
        while True:
            try:
                claimed = await self.fire_due()
                if claimed >= self._settings.batch:
                    continue  # more are due right now
                await self._sleep_until_next()
            except Exception:
                log.exception("firing pass failed; retrying")
                await asyncio.sleep(self._settings.poll_interval_s)

    async def _sleep_until_next(self) -> None:
        self._wake.clear()  # before looking, so a reminder added meanwhile still wakes us
        timeout = self._settings.poll_interval_s
        next_ms = await self._store.next_claimable_ms()
        if next_ms is not None:
            timeout = min(timeout, max(0.0, (next_ms - epoch_ms(self._clock())) / 1000))
        # asyncio.timeout, not wait_for: on 3.11 wait_for swallows a cancellation that arrives together with the
        # wake-up, and the loop would outlive its service's shutdown.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self._wake.wait()
