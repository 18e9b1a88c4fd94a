"""The send lease against a real Redis: one holder, a second one waits, fencing tokens, renewal, take-over."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from services.gateway.lease import LeaseLostError, SendLease
from services.shared.consumer import is_outage

KEY = "qun:gateway:wxid_bot:lease"


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url, decode_responses=True)
    yield client
    await client.aclose()


async def test_one_holder_at_a_time_and_the_second_takes_over_after_release(redis: Redis) -> None:
    first, second = SendLease(redis, KEY, "gw-a", 5.0), SendLease(redis, KEY, "gw-b", 5.0)
    await first.acquire()
    first_value = first.value
    waiting = asyncio.create_task(second.acquire())
    await asyncio.sleep(0.2)
    assert not waiting.done()
    assert not second.held

    await first.release()
    async with asyncio.timeout(5):
        await waiting

    assert second.held
    assert not first.held
    assert await redis.get(KEY) == second.value
    # Fencing: the token grows with every acquisition, so an old holder's value never matches again.
    assert int(second.value.rsplit(":", 1)[1]) > int(first_value.rsplit(":", 1)[1])


async def test_a_lease_not_renewed_lapses_and_can_be_taken(redis: Redis) -> None:
    first, second = SendLease(redis, KEY, "gw-a", 0.3), SendLease(redis, KEY, "gw-b", 0.3)
    assert await first.try_acquire()
    assert not await second.try_acquire()

    async with asyncio.timeout(5):
        await second.acquire()  # first stopped renewing (it "died")

    assert second.held


async def test_the_holder_notices_a_take_over_and_stops(redis: Redis) -> None:
    holder = SendLease(redis, KEY, "gw-a", 0.3)
    await holder.acquire()
    keeping = asyncio.create_task(holder.keep())
    await redis.set(KEY, "gw-b:99")  # someone else holds it now (e.g. ours lapsed while we were cut off)

    async with asyncio.timeout(5):
        await keeping

    assert not holder.held


async def test_a_lease_that_lapsed_while_redis_was_away_is_taken_back_by_its_holder(redis: Redis) -> None:
    holder = SendLease(redis, KEY, "gw-a", 0.6)
    await holder.acquire()
    value = holder.value
    keeping = asyncio.create_task(holder.keep())
    await redis.delete(KEY)  # as after a Redis restart that outlived the TTL

    await asyncio.sleep(0.5)  # a renewal period or two

    assert await redis.get(KEY) == value
    assert holder.held
    keeping.cancel()
    await asyncio.gather(keeping, return_exceptions=True)


def test_a_lost_lease_reads_as_an_outage_to_the_consumer() -> None:
    assert is_outage(LeaseLostError("not the holder"))
