from datetime import UTC, datetime, timedelta

from redis.asyncio import Redis

from services.github_sync.config import GithubSyncConfig, RoomOptions
from services.github_sync.history import HistoryEntry, HistoryStore, HistorySwitch

T0 = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)
ROOM = "dev@chatroom"


def entry(n: int, at: datetime | None = None) -> HistoryEntry:
    return HistoryEntry(
        event_id=f"evt-{n}",
        at=at or T0 + timedelta(minutes=n),
        speaker_id="alice",
        speaker_name="Alice",
        text=f"message {n}",
    )


def store(redis: Redis, *, max_entries: int = 100) -> HistoryStore:
    return HistoryStore(redis, retention=timedelta(days=7), max_entries=max_entries)


async def test_last_n_in_order_up_to_the_trigger(redis: Redis) -> None:
    history = store(redis)
    for n in (3, 1, 2, 4):
        await history.record(ROOM, entry(n), now=T0)
    entries = await history.last(ROOM, 2, until=T0 + timedelta(minutes=3), now=T0)
    assert [e.event_id for e in entries] == ["evt-2", "evt-3"]


async def test_a_redelivered_message_is_kept_once(redis: Redis) -> None:
    history = store(redis)
    await history.record(ROOM, entry(1), now=T0)
    await history.record(ROOM, entry(1), now=T0)
    assert len(await history.last(ROOM, 10, until=T0 + timedelta(hours=1), now=T0)) == 1


async def test_bounded_by_count_and_by_age(redis: Redis) -> None:
    history = store(redis, max_entries=3)
    for n in range(1, 6):
        await history.record(ROOM, entry(n), now=T0)
    later = T0 + timedelta(hours=1)
    assert [e.event_id for e in await history.last(ROOM, 50, until=later, now=T0)] == [
        "evt-3",
        "evt-4",
        "evt-5",
    ]
    assert await redis.zcard(f"github-sync:room:{ROOM}:history") == 3
    # eight days later all of them are past the 7-day retention
    assert await history.last(ROOM, 50, until=later + timedelta(days=8), now=T0 + timedelta(days=8)) == []
    await history.record(ROOM, entry(9, at=T0 + timedelta(days=8)), now=T0 + timedelta(days=8))
    assert await redis.zcard(f"github-sync:room:{ROOM}:history") == 1
    assert 0 < await redis.ttl(f"github-sync:room:{ROOM}:history") <= 7 * 86400


async def test_rooms_are_separate(redis: Redis) -> None:
    history = store(redis)
    await history.record(ROOM, entry(1), now=T0)
    assert await history.last("other@chatroom", 10, until=T0 + timedelta(hours=1), now=T0) == []


async def test_switch_defaults_to_the_file_and_off_forgets(redis: Redis) -> None:
    history = store(redis)
    config = GithubSyncConfig(rooms={"quiet@chatroom": RoomOptions(history=False)})
    switch = HistorySwitch(config, redis, history)
    assert await switch.is_on(ROOM)
    assert not await switch.is_on("quiet@chatroom")
    await history.record(ROOM, entry(1), now=T0)
    await switch.turn(ROOM, on=False)
    assert not await switch.is_on(ROOM)
    assert await history.last(ROOM, 10, until=T0 + timedelta(hours=1), now=T0) == []
    await switch.turn("quiet@chatroom", on=True)
    assert await switch.is_on("quiet@chatroom")
