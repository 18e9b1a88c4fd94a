"""Reconnecting with backoff, on a fake clock."""

from __future__ import annotations

import asyncio
import random

import pytest

from services.gateway.supervisor import Backoff, supervise


def test_backoff_grows_exponentially_up_to_the_cap() -> None:
    backoff = Backoff(initial_s=1.0, maximum_s=8.0, rng=random.Random(1))

    delays = [backoff.next_delay() for _ in range(6)]

    ceilings = [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    assert all(ceiling / 2 <= delay <= ceiling for delay, ceiling in zip(delays, ceilings, strict=True))


def test_backoff_jitter_spreads_gateways_apart() -> None:
    delays = {Backoff(initial_s=4.0, rng=random.Random(seed)).next_delay() for seed in range(20)}

    assert len(delays) == 20


def test_backoff_reset_starts_over() -> None:
    backoff = Backoff(initial_s=1.0, maximum_s=60.0, rng=random.Random(2))
    for _ in range(5):
        backoff.next_delay()

    backoff.reset()

    assert backoff.next_delay() <= 1.0


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


async def test_sessions_are_restarted_after_failures_with_growing_delays() -> None:
    time = FakeTime()
    calls: list[str] = []
    reports: list[tuple[str | None, float]] = []

    async def session() -> None:
        calls.append("session")
        if calls.count("session") > 8:
            raise asyncio.CancelledError  # end the test: the supervisor cleans up and stops
        raise ConnectionError("puppet service unavailable")

    async def cleanup() -> None:
        calls.append("cleanup")

    async def ended(error: BaseException | None, delay: float) -> None:
        reports.append((str(error) if error else None, delay))

    with pytest.raises(asyncio.CancelledError):
        await supervise(
            session,
            cleanup,
            ended,
            Backoff(initial_s=1.0, maximum_s=4.0, rng=random.Random(3)),
            sleep=time.sleep,
            monotonic=time.monotonic,
        )

    assert calls[-1] == "cleanup"  # cleaned up after the cancellation too
    assert calls.count("session") == 9
    assert [error for error, _ in reports] == ["puppet service unavailable"] * 8
    assert time.sleeps[0] <= 1.0
    assert all(2.0 <= delay <= 4.0 for delay in time.sleeps[3:])


async def test_a_session_that_lasted_resets_the_backoff() -> None:
    time = FakeTime()
    runs = 0

    async def session() -> None:
        nonlocal runs
        runs += 1
        if runs == 6:
            time.now += 120  # a long, healthy session
        if runs > 7:
            raise asyncio.CancelledError
        raise ConnectionError("gone")

    async def nothing(*_: object) -> None:
        return None

    with pytest.raises(asyncio.CancelledError):
        await supervise(
            session,
            nothing,
            nothing,
            Backoff(initial_s=1.0, maximum_s=64.0, rng=random.Random(4)),
            healthy_after_s=60,
            sleep=time.sleep,
            monotonic=time.monotonic,
        )

    assert time.sleeps[4] >= 8.0  # fifth failure in a row
    assert time.sleeps[5] <= 1.0  # after the healthy session: from the start again


async def test_a_session_that_returns_is_restarted_too() -> None:
    time = FakeTime()
    runs = 0

    async def session() -> None:
        nonlocal runs
        runs += 1
        if runs == 3:
            raise asyncio.CancelledError

    async def nothing(*_: object) -> None:
        return None

    with pytest.raises(asyncio.CancelledError):
        await supervise(session, nothing, nothing, Backoff(), sleep=time.sleep, monotonic=time.monotonic)

    assert runs == 3
    assert len(time.sleeps) == 2
