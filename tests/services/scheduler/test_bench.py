"""The `make bench` measurements, small: they run, clean up, and stay far below their targets."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from redis.asyncio import Redis

from services.scheduler.bench import firing_delay_benchmark, recogniser_benchmark

SHANGHAI = ZoneInfo("Asia/Shanghai")


async def test_firing_delay_benchmark_small(redis: Redis) -> None:
    result = await firing_delay_benchmark(redis, pending=2_000, firing=100, window_s=0.5, timeout_s=20)
    assert result.fired == 100
    assert result.p99_ms < 1_000
    assert await redis.dbsize() == 0
    assert "p99" in result.summary()


def test_recogniser_benchmark_times_every_message() -> None:
    now = datetime(2026, 11, 18, 9, 0, tzinfo=SHANGHAI)
    result = recogniser_benchmark(
        [("下午四点提醒我接孩子", now, SHANGHAI), ("明天几点开会？", now, SHANGHAI)], rounds=3
    )
    assert result.messages == 2
    assert 0 < result.p50_ms <= result.p99_ms
