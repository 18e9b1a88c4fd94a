"""The simulated day of `make bench` and its checker: a day with a gateway and a Redis restart breaks no limit, and
the checker does catch what breaks one."""

from __future__ import annotations

from pathlib import Path

import pytest
from redis.asyncio import Redis

from schemas import SayText
from services.gateway.bench import DAY_START, Sent, bucket_violations, check, pacing_benchmark, soak
from services.gateway.budget import DailyLimits
from services.gateway.executor import Step
from services.gateway.pacing import PacingLimits
from tools.servers import start_redis


@pytest.mark.slow
async def test_a_simulated_day_with_restarts_breaks_no_limit_and_loses_no_reply(tmp_path: Path) -> None:
    data = tmp_path / "redis"
    server = [await start_redis(data, persistent=True)]

    async def kill() -> None:
        server[0].kill()

    async def start() -> None:
        server[0] = await start_redis(data, server[0].port, persistent=True)

    redis = Redis.from_url(server[0].url, decode_responses=True)
    try:
        report = await soak(redis, kill, start)
    finally:
        await redis.aclose()
        server[0].stop()

    assert report.problems == []
    assert report.restarts == ["gateway restart at 09:30:30", "redis restart at 21:00:30"]
    assert report.redelivered_in_redis_outage > 0  # commands were waiting when Redis went away
    assert report.unanswered == 0
    assert report.sends > 2000
    assert set(report.by_priority) == {"reply", "reminder", "notice", "broadcast"}
    assert report.delay(0.99) < 30


async def test_pacing_a_backlog_is_fair_and_within_the_limits(redis_url: str) -> None:
    redis = Redis.from_url(redis_url, decode_responses=True)
    try:
        result = await pacing_benchmark(redis, messages=200, rooms=20)
    finally:
        await redis.aclose()

    assert result["violations"] == []
    assert result["account_peak_per_minute"] <= result["account_cap_per_minute"]
    assert result["max_count_spread_between_rooms"] <= 1


def test_the_checker_catches_a_burst_a_double_a_late_send_and_a_daily_excess() -> None:
    limits = PacingLimits(room_per_second=1, room_burst=2, account_per_minute=60, account_burst=3)
    say = SayText(room_id="r", text="x")
    sends = [Sent(DAY_START + n * 0.1, Step(say, "r", index=n % 2)) for n in range(4)]

    problems = check(sends, limits, DailyLimits(text=3), {say.id: DAY_START + 0.15})

    assert any(problem.startswith("account:") for problem in problems)
    assert any(problem.startswith("r:") for problem in problems)
    assert any("sent 2 times" in problem for problem in problems)
    assert any("sent late" in problem for problem in problems)
    assert any(problem == "4 text on day 0" for problem in problems)


def test_a_bucket_allows_its_burst_then_its_rate() -> None:
    assert bucket_violations([0.0, 0.0, 1.0, 2.0], rate=1.0, capacity=2, what="x") == []
    assert bucket_violations([0.0, 0.0, 0.5], rate=1.0, capacity=2, what="x") != []
