from redis.asyncio import Redis

from services.github_sync.bindings import Bindings
from services.github_sync.categories import ALL_CATEGORIES, Category
from services.github_sync.config import GithubSyncConfig, StaticBinding
from services.github_sync.repos import RepoName

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
