"""The per-replica cache of auto-answer rooms: fresh across replicas, never stale while not listening."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

from redis.asyncio import Redis

from services.shared.notify import Notifications
from services.tagger import keys
from services.tagger.unprompted import UnpromptedRooms


@contextlib.asynccontextmanager
async def replica(redis_url: str) -> AsyncIterator[tuple[UnpromptedRooms, Notifications, Redis]]:
    """One replica's view: its own Redis client, notifications hub and cache (not listening yet)."""
    client = Redis.from_url(redis_url, decode_responses=True)
    notifications = Notifications(client)
    try:
        yield UnpromptedRooms(client, notifications), notifications, client
    finally:
        await client.aclose()


@contextlib.asynccontextmanager
async def listening(notifications: Notifications) -> AsyncIterator[None]:
    task = asyncio.create_task(notifications.listen())
    try:
        await asyncio.wait_for(notifications.listening.wait(), timeout=5)
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def eventually(rooms: UnpromptedRooms, room_id: str, *, expected: bool) -> None:
    deadline = time.monotonic() + 5
    while await rooms.enabled(room_id) is not expected:
        assert time.monotonic() < deadline, f"{room_id} never became {expected}"
        await asyncio.sleep(0.01)


async def test_a_switch_on_one_replica_reaches_the_other_cache(redis_url: str) -> None:
    async with (
        replica(redis_url) as (one, hub_one, _),
        replica(redis_url) as (two, hub_two, _),
        listening(hub_one),
        listening(hub_two),
    ):
        assert not await two.enabled("r1")  # now cached on two
        await one.switch("r1", enabled=True)
        assert await one.enabled("r1")  # the replica that switched sees it at once
        await eventually(two, "r1", expected=True)
        await two.switch("r1", enabled=False)
        assert not await two.enabled("r1")
        await eventually(one, "r1", expected=False)


async def test_reads_are_cached_only_while_listening(redis_url: str) -> None:
    async with replica(redis_url) as (rooms, notifications, client):
        assert not await rooms.enabled("r1")
        await client.sadd(keys.unprompted_rooms(), "r1")  # a write whose notice nobody hears
        assert await rooms.enabled("r1")  # not listening: nothing was cached, Redis is read again
        async with listening(notifications):
            assert await rooms.enabled("r1")
            await client.srem(
                keys.unprompted_rooms(), "r1"
            )  # again without a notice: the cached value answers
            assert await rooms.enabled("r1")
            await client.publish(keys.unprompted_changed(), "r1")  # the notice drops it
            await eventually(rooms, "r1", expected=False)
        await client.sadd(keys.unprompted_rooms(), "r1")
        assert await rooms.enabled("r1")  # listening stopped: nothing cached any more
