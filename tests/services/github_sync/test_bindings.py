import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from redis.asyncio import Redis

from services.github_sync import keys
from services.github_sync.bindings import Bindings, follows_cache
from services.github_sync.categories import ALL_CATEGORIES, Category
from services.github_sync.config import GithubSyncConfig, StaticBinding
from services.github_sync.repos import RepoName
from services.shared.notify import Notifications

WIDGETS = RepoName("acme", "widgets")
GADGETS = RepoName("acme", "gadgets")
CONFIG = GithubSyncConfig(
    bindings=(
        StaticBinding(repos=("acme/*",), rooms=("ops@chatroom",), events=frozenset({Category.RELEASES})),
        StaticBinding(repos=("tools/cli",), rooms=("dev@chatroom",)),
    ),
    allow=("acme/*",),
)


async def test_chat_bindings_add_to_the_files(redis: Redis) -> None:
    bindings = Bindings(CONFIG, redis)
    assert await bindings.bind("dev@chatroom", WIDGETS) is True
    assert await bindings.bind("dev@chatroom", RepoName("ACME", "Widgets")) is False  # same repo, any case
    assert await bindings.bind("dev@chatroom", GADGETS) is True
    room = await bindings.for_room("dev@chatroom")
    assert room.repos == (GADGETS, WIDGETS, RepoName("tools", "cli"))
    assert room.globs == ()
    assert (await bindings.for_room("ops@chatroom")).globs == ("acme/*",)


async def test_one_repo_many_rooms_with_their_filters(redis: Redis) -> None:
    bindings = Bindings(CONFIG, redis)
    await bindings.bind("dev@chatroom", WIDGETS)
    assert await bindings.rooms_for_repo(WIDGETS) == {
        "ops@chatroom": frozenset({Category.RELEASES}),
        "dev@chatroom": ALL_CATEGORIES,
    }
    await bindings.choose_categories("dev@chatroom", frozenset({Category.PULLS}))
    assert (await bindings.rooms_for_repo(WIDGETS))["dev@chatroom"] == frozenset({Category.PULLS})
    await bindings.choose_categories("dev@chatroom", frozenset())
    assert (await bindings.rooms_for_repo(WIDGETS))["dev@chatroom"] == ALL_CATEGORIES


async def test_unbind_removes_only_chat_bindings(redis: Redis) -> None:
    bindings = Bindings(CONFIG, redis)
    await bindings.bind("dev@chatroom", WIDGETS)
    assert await bindings.unbind("dev@chatroom", WIDGETS) is True
    assert await bindings.unbind("dev@chatroom", WIDGETS) is False
    assert await bindings.unbind("dev@chatroom", RepoName("tools", "cli")) is False
    assert "dev@chatroom" not in await bindings.rooms_for_repo(WIDGETS)
    assert await bindings.covers("ops@chatroom", WIDGETS)  # via the glob
    assert not await bindings.covers("dev@chatroom", WIDGETS)


async def test_rooms_that_follow_nothing_are_known_cheaply(redis: Redis) -> None:
    bindings = Bindings(CONFIG, redis)
    assert await bindings.follows_anything("dev@chatroom")  # from the file
    assert not await bindings.follows_anything("quiet@chatroom")
    await bindings.bind("quiet@chatroom", WIDGETS)
    assert await bindings.follows_anything("quiet@chatroom")
    await bindings.unbind("quiet@chatroom", WIDGETS)
    assert not await bindings.follows_anything("quiet@chatroom")


async def test_chat_bindings_count_only_while_the_operator_allows_them(redis: Redis) -> None:
    private = RepoName("corp", "private")
    assert Bindings(CONFIG, redis).may_bind_in_chat(WIDGETS)
    assert not Bindings(CONFIG, redis).may_bind_in_chat(private)
    # Stored while allowed (or by an older version); the allow list no longer covers them:
    await Bindings(CONFIG.model_copy(update={"allow": ("acme/*", "corp/*")}), redis).bind(
        "quiet@chatroom", private
    )
    await Bindings(CONFIG, redis).bind("quiet@chatroom", WIDGETS)
    narrowed = Bindings(CONFIG.model_copy(update={"allow": ()}), redis)
    assert (await narrowed.for_room("quiet@chatroom")).is_empty
    assert not await narrowed.follows_anything("quiet@chatroom")
    assert await narrowed.rooms_for_repo(WIDGETS) == {"ops@chatroom": frozenset({Category.RELEASES})}
    assert (await Bindings(CONFIG, redis).for_room("quiet@chatroom")).repos == (WIDGETS,)
    assert "quiet@chatroom" not in await Bindings(CONFIG, redis).rooms_for_repo(private)


# --- whether a room follows anything: cached per process, kept fresh across replicas ----------------------------

QUIET = "quiet@chatroom"


@dataclass
class Replica:
    redis: Redis
    bindings: Bindings
    hub: Notifications


@asynccontextmanager
async def replica(redis_url: str, *, listening: bool = True) -> AsyncIterator[Replica]:
    """A process of its own: its Redis client, notification hub and cache, as the deps factory makes them."""
    client = Redis.from_url(redis_url, decode_responses=True)
    bindings = Bindings(CONFIG, client, follows_cache(CONFIG, client))
    hub = Notifications.of(client)
    listener = asyncio.create_task(hub.listen()) if listening else None
    if listening:
        await asyncio.wait_for(hub.listening.wait(), timeout=5)
    try:
        yield Replica(client, bindings, hub)
    finally:
        if listener is not None:
            listener.cancel()
            await asyncio.gather(listener, return_exceptions=True)
        await client.aclose()


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


async def test_whether_a_room_follows_anything_is_answered_from_memory(redis_url: str, redis: Redis) -> None:
    async with replica(redis_url) as one:
        assert await one.bindings.follows_anything("dev@chatroom")  # the file
        assert not await one.bindings.follows_anything(QUIET)
        # Written behind its back, without the notice: the cached answer stands (no round trip was made).
        await redis.hset(keys.room_repos(QUIET), WIDGETS.key, WIDGETS.full_name)
        assert not await one.bindings.follows_anything(QUIET)


async def test_a_binding_made_on_another_replica_reaches_this_one(redis_url: str) -> None:
    async with replica(redis_url) as one, replica(redis_url) as two:
        assert not await one.bindings.follows_anything(QUIET)
        await two.bindings.bind(QUIET, WIDGETS)
        assert await two.bindings.follows_anything(QUIET)  # the writer forgets at once
        await eventually(lambda: one.bindings.follows_anything(QUIET))
        await two.bindings.unbind(QUIET, WIDGETS)

        async def forgotten() -> bool:
            return not await one.bindings.follows_anything(QUIET)

        await eventually(forgotten)


async def test_nothing_is_cached_while_not_listening(redis_url: str, redis: Redis) -> None:
    async with replica(redis_url, listening=False) as deaf:
        assert not await deaf.bindings.follows_anything(QUIET)
        await redis.hset(keys.room_repos(QUIET), WIDGETS.key, WIDGETS.full_name)  # a notice it would miss
        assert await deaf.bindings.follows_anything(QUIET)
