"""Scheduler measurements for `make bench`: how late reminders fire while 10,000 are pending, and what the
remind recogniser costs per message.

`firing_delay_benchmark` stores `pending` reminders under a private key prefix: `firing` of them come due spread
over the next `window_s` seconds, the rest tomorrow (they only make the sorted set big). One `FiringLoop` runs on
the real clock; the delay of a firing is when `send` was called minus its due time. Keys are deleted afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import statistics
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from redis.asyncio import Redis

from services.scheduler.firing import FiringLoop, FiringPlan, LoopSettings, Send
from services.scheduler.intent import recognise_reminder
from services.scheduler.reminder import Reminder
from services.scheduler.store import ReminderStore, SchedulerKeys

_STORE_CONCURRENCY = 50


@dataclass(frozen=True)
class BenchResult:
    pending: int
    fired: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    setup_s: float

    def summary(self) -> str:
        return (
            f"scheduler firing delay with {self.pending} pending: p50 {self.p50_ms:.1f} ms, "
            f"p99 {self.p99_ms:.1f} ms, max {self.max_ms:.1f} ms over {self.fired} firings (setup {self.setup_s:.1f} s)"
        )


async def firing_delay_benchmark(
    redis: Redis,
    *,
    pending: int = 10_000,
    firing: int = 1_000,
    window_s: float = 5.0,
    send: Send | None = None,
    timeout_s: float = 60.0,
) -> BenchResult:
    """Measure the firing delay; `send` defaults to recording only (pass one that publishes to measure the bus)."""
    store = ReminderStore(redis, SchedulerKeys(prefix=f"bench:{secrets.token_hex(4)}"))
    delays_ms: list[float] = []
    all_fired = asyncio.Event()

    async def record(reminder: Reminder, plan: FiringPlan) -> None:
        if send is not None:
            await send(reminder, plan)
        delays_ms.append((datetime.now(UTC) - reminder.next_due).total_seconds() * 1000)
        if len(delays_ms) >= firing:
            all_fired.set()

    setup_started = time.perf_counter()
    try:
        tomorrow = datetime.now(UTC) + timedelta(days=1)
        await _add_all(store, [_draft(n, tomorrow) for n in range(firing, pending)])
        # The firing ones last, due from shortly after they are stored, so setup time adds no delay.
        start = datetime.now(UTC) + timedelta(seconds=0.2 + firing / 5000)
        await _add_all(
            store, [_draft(n, start + timedelta(seconds=window_s * n / firing)) for n in range(firing)]
        )
        setup_s = time.perf_counter() - setup_started
        loop = FiringLoop(store, record, lambda: datetime.now(UTC), LoopSettings(poll_interval_s=0.5))
        runner = asyncio.create_task(loop.run())
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(all_fired.wait(), timeout_s)
        finally:
            runner.cancel()
            await asyncio.gather(runner, return_exceptions=True)
    finally:
        await _delete(redis, store.keys)
    ordered = sorted(delays_ms) or [float("nan")]
    return BenchResult(
        pending=pending,
        fired=len(delays_ms),
        p50_ms=statistics.median(ordered),
        p99_ms=ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))],
        max_ms=ordered[-1],
        setup_s=setup_s,
    )


@dataclass(frozen=True)
class RecogniserResult:
    messages: int
    p50_ms: float
    p99_ms: float


def recogniser_benchmark(
    messages: list[tuple[str, datetime, ZoneInfo]], rounds: int = 20
) -> RecogniserResult:
    """Time of the remind recogniser per message (it runs on every message addressed to the bot), after one
    warm-up round."""
    for body, now, zone in messages:
        recognise_reminder(body, now, zone)
    samples: list[float] = []
    for _ in range(rounds):
        for body, now, zone in messages:
            started = time.perf_counter()
            recognise_reminder(body, now, zone)
            samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return RecogniserResult(
        messages=len(messages),
        p50_ms=statistics.median(samples),
        p99_ms=samples[min(len(samples) - 1, int(0.99 * len(samples)))],
    )


async def _add_all(store: ReminderStore, drafts: list[Reminder]) -> None:
    for chunk in range(0, len(drafts), _STORE_CONCURRENCY):
        await asyncio.gather(*(store.add(draft) for draft in drafts[chunk : chunk + _STORE_CONCURRENCY]))


def _draft(number: int, due: datetime) -> Reminder:
    return Reminder(
        id="",
        bot_id="bench",
        room_id=f"room{number % 50}",
        creator_id="bench",
        text=f"bench {number}",
        zone="UTC",
        created_at=due,
        next_due=due,
    )


async def _delete(redis: Redis, keys: SchedulerKeys) -> None:
    names = [name async for name in redis.scan_iter(match=f"{keys.prefix}:*", count=1000)]
    for chunk in range(0, len(names), 1000):
        await redis.delete(*names[chunk : chunk + 1000])


if __name__ == "__main__":  # pragma: no cover - manual run: python -m services.scheduler.bench redis://...
    import sys

    async def _main(url: str) -> None:
        client = Redis.from_url(url, decode_responses=True)
        try:
            print((await firing_delay_benchmark(client)).summary())
        finally:
            await client.aclose()

    asyncio.run(_main(sys.argv[1] if len(sys.argv) > 1 else "redis://127.0.0.1:6379/0"))
