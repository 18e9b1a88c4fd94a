"""The per-process cache of a room's status, kept fresh across replicas by the change channel."""

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from redis.asyncio import Redis

from services.github_sync import keys
from services.github_sync.bindings import Bindings
from services.github_sync.config import GithubSyncConfig, StaticBinding
from services.github_sync.repos import RepoName
from services.github_sync.room_status import RoomChanges, RoomStatus, RoomStatuses

CONFIG = GithubSyncConfig(
    bindings=(StaticBinding(repos=("acme/widgets",), rooms=("dev@chatroom",)),), allow=("acme/*",)
)
WIDGETS = RepoName("acme", "widgets")
QUIET = "quiet@chatroom"
FOLLOWS = RoomStatus(follows=True)
NOTHING = RoomStatus(follows=False)


@dataclass
class Replica:
    bindings: Bindings
    statuses: RoomStatuses
    changes: RoomChanges


@asynccontextmanager
async def replica(redis: Redis, *, listening: bool = True) -> AsyncIterator[Replica]:
    changes = RoomChanges(redis)
    bindings = Bindings(CONFIG, redis, changes)
    listener = asyncio.create_task(changes.listen()) if listening else None
    if listening:
        await asyncio.wait_for(changes.listening.wait(), timeout=5)
    try:
        yield Replica(bindings, RoomStatuses(bindings, changes), changes)
    finally:
        if listener is not None:
            listener.cancel()
            await asyncio.gather(listener, return_exceptions=True)


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


async def test_answers_from_memory_once_read(redis: Redis) -> None:
    async with replica(redis) as one:
        assert await one.statuses.of("dev@chatroom") == FOLLOWS
        assert await one.statuses.of(QUIET) == NOTHING
        # Written behind its back, without the notice: the cached answer stands (no round trip was made).
        await redis.hset(keys.room_repos(QUIET), WIDGETS.key, WIDGETS.full_name)
        assert await one.statuses.of(QUIET) == NOTHING


async def test_a_change_through_another_replica_reaches_this_one(redis: Redis) -> None:
    async with replica(redis) as one, replica(redis) as two:
        assert await one.statuses.of(QUIET) == NOTHING
        await two.bindings.bind(QUIET, WIDGETS)
        assert await two.statuses.of(QUIET) == FOLLOWS  # the writer forgets at once
        await eventually(lambda: _is(one.statuses, QUIET, FOLLOWS))
        await two.bindings.unbind(QUIET, WIDGETS)
        await eventually(lambda: _is(one.statuses, QUIET, NOTHING))


async def test_nothing_is_cached_while_not_listening(redis: Redis) -> None:
    async with replica(redis, listening=False) as deaf:
        assert await deaf.statuses.of(QUIET) == NOTHING
        await redis.hset(keys.room_repos(QUIET), WIDGETS.key, WIDGETS.full_name)  # a notice it would miss
        assert await deaf.statuses.of(QUIET) == FOLLOWS


async def test_the_listener_stopping_empties_the_cache(redis: Redis) -> None:
    changes = RoomChanges(redis)
    bindings = Bindings(CONFIG, redis, changes)
    statuses = RoomStatuses(bindings, changes)
    listener = asyncio.create_task(changes.listen())
    await asyncio.wait_for(changes.listening.wait(), timeout=5)
    assert await statuses.of(QUIET) == NOTHING
    listener.cancel()
    await asyncio.gather(listener, return_exceptions=True)
    assert not changes.listening.is_set()
    await redis.hset(keys.room_repos(QUIET), WIDGETS.key, WIDGETS.full_name)
    assert await statuses.of(QUIET) == FOLLOWS


async def _is(statuses: RoomStatuses, room_id: str, expected: RoomStatus) -> bool:
    return await statuses.of(room_id) == expected
