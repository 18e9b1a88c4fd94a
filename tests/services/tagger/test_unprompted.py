"""The per-replica cache of auto-answer rooms: fresh across replicas, never stale while not listening."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

from redis.asyncio import Redis

from services.tagger import keys
from services.tagger.store import TagStore
from services.tagger.unprompted import UnpromptedRooms


@contextlib.asynccontextmanager
async def listening(rooms: UnpromptedRooms) -> AsyncIterator[None]:
    task = asyncio.create_task(rooms.listen())
    try:
        await asyncio.wait_for(rooms.listening.wait(), timeout=5)
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


async def test_a_switch_on_one_replica_reaches_the_other_cache(redis: Redis) -> None:
    one, two = UnpromptedRooms(TagStore(redis), redis), UnpromptedRooms(TagStore(redis), redis)
    async with listening(one), listening(two):
        assert not await two.enabled("r1")  # now cached on two
        await one.switch("r1", enabled=True)
        assert await one.enabled("r1")  # the replica that switched sees it at once
        await eventually(two, "r1", expected=True)
        await two.switch("r1", enabled=False)
        assert not await two.enabled("r1")
        await eventually(one, "r1", expected=False)


async def test_reads_are_cached_only_while_listening(redis: Redis) -> None:
    store = TagStore(redis)
    rooms = UnpromptedRooms(store, redis)
    assert not await rooms.enabled("r1")
    await redis.sadd(keys.unprompted_rooms(), "r1")  # a write whose notice nobody hears
    assert await rooms.enabled("r1")  # not listening: nothing was cached, Redis is read again
    async with listening(rooms):
        assert await rooms.enabled("r1")
        await redis.srem(keys.unprompted_rooms(), "r1")  # again without a notice: the cached set answers
        assert await rooms.enabled("r1")
        await store.set_unprompted("r2", enabled=True)  # any notice drops the whole cached set
        await eventually(rooms, "r1", expected=False)
        assert await rooms.enabled("r2")
    assert not rooms.listening.is_set()
