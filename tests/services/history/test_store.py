from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from redis.asyncio import Redis

from schemas import Contact, MessageReceived, Quote, Room
from services.history.store import HistoryStore, Window
from tests.factories import ALICE, BOB, ROOM, message

T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


@pytest.fixture
async def store(redis_url: str) -> AsyncIterator[HistoryStore]:
    redis = Redis.from_url(redis_url)
    yield HistoryStore(redis, retention=timedelta(days=7), max_per_room=100)
    await redis.aclose()


def said(body: str, minute: int, talker: Contact = ALICE, **extra: Any) -> MessageReceived:
    return message(body, mentions_bot=False, talker=talker, timestamp=T0 + timedelta(minutes=minute), **extra)


async def test_kept_messages_come_back_in_wechat_order_with_names_quotes_and_mentions(
    store: HistoryStore,
) -> None:
    quote = Quote(talker_name="Alice", text="周四开会吗？", verified=True, talker_id="alice", message_id="q1")
    events = [
        said("周四开会吗？", 0),
        said("开，晚上8点", 1, BOB, quote=quote, mention_ids=["alice"]),
        said("好的 see you", 2),
    ]
    for event in events:
        assert await store.record(event, T0)
    page = await store.page(ROOM.id, Window(), T0 + timedelta(minutes=5))
    assert [m.text for m in page.messages] == ["周四开会吗？", "开，晚上8点", "好的 see you"]
    assert [m.talker.name for m in page.messages] == ["Alice", "Bob", "Alice"]
    assert page.messages[1].quote == quote
    assert page.messages[1].mention_ids == ["alice"]
    assert page.messages[0].id == events[0].id
    assert page.messages[0].timestamp == T0


async def test_redelivered_event_is_kept_once_and_late_message_keeps_its_time(store: HistoryStore) -> None:
    first = said("one", 10)
    assert await store.record(first, T0)
    assert not await store.record(first, T0)
    late = said("late", 5)
    assert await store.record(late, T0)  # arrives after a later message: its entry id is after "one"'s
    assert not await store.record(late, T0)
    assert await store.record(said("two", 20), T0)
    assert not await store.record(first, T0)  # redelivered after a newer message
    assert not await store.record(late, T0)
    page = await store.page(ROOM.id, Window(), T0 + timedelta(hours=1))
    assert [(m.text, m.timestamp) for m in page.messages] == [
        ("late", T0 + timedelta(minutes=5)),
        ("one", T0 + timedelta(minutes=10)),
        ("two", T0 + timedelta(minutes=20)),
    ]


async def test_direct_messages_are_never_kept(store: HistoryStore) -> None:
    assert not await store.record(message("secret", room=None), T0)


async def test_windows_limits_and_last(store: HistoryStore) -> None:
    for minute in range(10):
        await store.record(said(f"m{minute}", minute, BOB if minute % 2 else ALICE), T0)
    now = T0 + timedelta(hours=1)
    page = await store.page(ROOM.id, Window(since=T0 + timedelta(minutes=2), limit=3), now)
    assert [m.text for m in page.messages] == ["m3", "m4", "m5"]
    assert page.more
    last = await store.page(ROOM.id, Window(until=T0 + timedelta(minutes=8), limit=3, last=True), now)
    assert [m.text for m in last.messages] == ["m6", "m7", "m8"]
    assert last.more
    bob = await store.page(ROOM.id, Window(talker_id="bob"), now)
    assert [m.text for m in bob.messages] == ["m1", "m3", "m5", "m7", "m9"]
    assert not bob.more


async def test_retention_and_cap(redis_url: str) -> None:
    redis = Redis.from_url(redis_url)
    store = HistoryStore(redis, retention=timedelta(days=1), max_per_room=5)
    for minute in range(8):
        await store.record(said(f"m{minute}", minute), T0)
    assert await store.count(ROOM.id) == 5
    later = T0 + timedelta(days=1, minutes=6, seconds=30)
    page = await store.page(ROOM.id, Window(), later)
    assert [m.text for m in page.messages] == ["m7"]
    await redis.aclose()


async def test_forget_member_deletes_only_their_messages_and_name(store: HistoryStore) -> None:
    for minute in range(6):
        await store.record(said(f"m{minute}", minute, BOB if minute % 2 else ALICE), T0)
    assert await store.forget_member(ROOM.id, "bob") == 3
    page = await store.page(ROOM.id, Window(), T0 + timedelta(hours=1))
    assert [m.text for m in page.messages] == ["m0", "m2", "m4"]
    assert all(c.name == "" for c in (await store.contacts(ROOM.id)).values() if c.id == "bob")
    # Bob's next message is kept again (after an id whose entry was deleted)
    await store.record(said("back", 7, BOB), T0)
    page = await store.page(ROOM.id, Window(talker_id="bob"), T0 + timedelta(hours=1))
    assert [(m.text, m.talker.name) for m in page.messages] == [("back", "Bob")]


async def test_switching_off_forgets_and_keeps_nothing_until_on(store: HistoryStore) -> None:
    await store.record(said("before", 0), T0)
    await store.set_recording(ROOM.id, on=False)
    assert not await store.recording(ROOM.id)
    assert not await store.record(said("while off", 1), T0)
    assert await store.count(ROOM.id) == 0
    await store.set_recording(ROOM.id, on=True)
    assert await store.record(said("after", 2), T0)
    page = await store.page(ROOM.id, Window(), T0 + timedelta(hours=1))
    assert [m.text for m in page.messages] == ["after"]


async def test_rooms_are_apart(store: HistoryStore) -> None:
    other = Room(id="other@chatroom", topic="x")
    await store.record(said("here", 0), T0)
    await store.record(said("there", 0, room=other), T0)
    page = await store.page(other.id, Window(), T0 + timedelta(hours=1))
    assert [m.text for m in page.messages] == ["there"]
