"""Batched Lua calls against a real redis-server: one pipeline per loop turn, each caller its own reply or error."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

from services.shared.script_batch import BatchedScript
from tools.servers import free_port

# Appends ARGV[1] to the list; refuses 'bad'. Returns the list's length: the order the calls ran in.
_APPEND = """
if ARGV[1] == 'bad' then return redis.error_reply('refused ' .. ARGV[1]) end
return redis.call('RPUSH', KEYS[1], ARGV[1])
"""


class _CountingPipelines:
    """Wraps ``redis.pipeline`` to count the trips."""

    def __init__(self, client: Redis, monkeypatch: pytest.MonkeyPatch) -> None:
        self.trips = 0
        make = client.pipeline

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.trips += 1
            return make(*args, **kwargs)

        monkeypatch.setattr(client, "pipeline", counted)


async def _append(script: BatchedScript, value: str) -> Any:
    return await script(keys=["log"], args=[value])


async def test_calls_of_one_turn_share_one_pipeline_in_order(
    redis: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = BatchedScript(redis, _APPEND)
    await _append(script, "warm-up")  # loads the script
    pipelines = _CountingPipelines(redis, monkeypatch)
    replies = await asyncio.gather(*(_append(script, f"v{i}") for i in range(20)))
    assert replies == list(range(2, 22))
    assert pipelines.trips == 1
    assert await redis.lrange("log", 0, -1) == ["warm-up", *(f"v{i}" for i in range(20))]


async def test_a_failing_call_fails_alone(redis: Redis) -> None:
    script = BatchedScript(redis, _APPEND)
    good, bad, also_good = await asyncio.gather(
        *(_append(script, value) for value in ("a", "bad", "b")), return_exceptions=True
    )
    assert (good, also_good) == (1, 2)
    assert isinstance(bad, ResponseError)
    assert "refused bad" in str(bad)


async def test_a_script_redis_lost_is_loaded_again(redis: Redis) -> None:
    script = BatchedScript(redis, _APPEND)
    assert await _append(script, "a") == 1
    await redis.script_flush()
    assert list(await asyncio.gather(_append(script, "b"), _append(script, "c"))) == [2, 3]
    assert await redis.lrange("log", 0, -1) == ["a", "b", "c"]  # each ran once


async def test_a_cancelled_caller_does_not_disturb_the_others(redis: Redis) -> None:
    script = BatchedScript(redis, _APPEND)
    cancelled = asyncio.create_task(_append(script, "a"))
    kept = asyncio.create_task(_append(script, "b"))
    await asyncio.sleep(0)  # both calls are queued
    cancelled.cancel()
    assert await kept == 2
    assert cancelled.cancelled()


async def test_every_caller_gets_the_error_when_redis_is_unreachable() -> None:
    client = Redis(port=free_port(), decode_responses=True, retry=Retry(NoBackoff(), 0))
    script = BatchedScript(client, _APPEND)
    try:
        results = await asyncio.gather(_append(script, "a"), _append(script, "b"), return_exceptions=True)
    finally:
        await client.aclose()
    assert [type(r) for r in results] == [RedisConnectionError, RedisConnectionError]
