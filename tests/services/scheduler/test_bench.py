"""The `make bench` measurement, small: it runs, cleans up, and stays far below the 1 s target."""

from __future__ import annotations

from redis.asyncio import Redis

from services.scheduler.bench import firing_delay_benchmark


async def test_firing_delay_benchmark_small(redis: Redis) -> None:
    result = await firing_delay_benchmark(redis, pending=2_000, firing=100, window_s=0.5, timeout_s=20)
    assert result.fired == 100
    assert result.p99_ms < 1_000
    assert await redis.dbsize() == 0
    assert "p99" in result.summary()
