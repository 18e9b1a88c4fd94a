"""The per-message script with an injected clock: directory, members, sliding windows, strikes, room settings."""

from __future__ import annotations

from services.moderator import keys
from services.moderator.flood import assess
from services.moderator.message_store import FloodCount, MessageStore, Observed
from services.moderator.redis_types import StrRedis
from services.moderator.room_store import RoomDirectory
from services.moderator.rooms import FloodLimits, FloodPolicy, RoomConfig, RoomRecord

ROOM = RoomRecord(id="room", topic="开源交流群", owner_id="owner", member_count=10)
WINDOW_S = 30
HOUR_MS = 3_600_000


def counting(
    max_messages: int = 1000, *, length: int = 10, max_length: int = 1500, may_strike: bool = True
) -> FloodCount:
    return FloodCount(
        defaults=FloodLimits(max_messages=max_messages, window_seconds=WINDOW_S, max_length=max_length),
        strike_memory_ms=HOUR_MS,
        length=length,
        may_strike=may_strike,
    )


async def _observe(
    store: MessageStore,
    event: str,
    now_ms: int,
    *,
    member: str = "m",
    flood: FloodCount | None = None,
    room: RoomRecord = ROOM,
) -> Observed:
    return await store.observe(
        bot_id="bot",
        room=room,
        member_id=member,
        event_id=event,
        now_ms=now_ms,
        flood=counting() if flood is None else flood,
    )


async def _count(store: MessageStore, event: str, now_ms: int, member: str = "m") -> int:
    return (await _observe(store, event, now_ms, member=member)).messages_in_window


async def test_window_slides(store_redis: StrRedis) -> None:
    store = MessageStore(store_redis)
    assert [await _count(store, f"e{i}", i * 1_000) for i in range(4)] == [1, 2, 3, 4]
    assert await _count(store, "late", 30_000) == 4  # e0 at 0 ms left the window
    assert await _count(store, "later", 62_000) == 1


async def test_redelivered_message_counts_once(store_redis: StrRedis) -> None:
    store = MessageStore(store_redis)
    await _count(store, "e1", 0)
    assert await _count(store, "e1", 10) == 1


async def test_members_are_counted_apart(store_redis: StrRedis) -> None:
    store = MessageStore(store_redis)
    await _count(store, "e1", 0, member="a")
    assert await _count(store, "e2", 0, member="b") == 1


async def test_strike_numbers_are_stable_on_redelivery(store_redis: StrRedis) -> None:
    store = MessageStore(store_redis)

    async def strike(event: str, now_ms: int) -> int:
        return (await _observe(store, event, now_ms, flood=counting(max_messages=0))).strike

    assert await strike("s1", 0) == 1
    assert await strike("s2", 5) == 2
    assert await strike("s1", 6) == 1
    assert await strike("s3", HOUR_MS + 6) == 1  # the old strikes are forgotten


async def test_strikes_in_the_same_second_are_numbered_in_arrival_order(store_redis: StrRedis) -> None:
    """WeChat times have one-second resolution: equal times must not let a later strike count as the first."""
    store = MessageStore(store_redis)

    async def strike(event: str) -> int:
        return (await _observe(store, event, 1_000, flood=counting(max_messages=0))).strike

    # "zz" would sort before "aa"'s rank if strikes were numbered by their rank among equal times
    assert [await strike("zz"), await strike("aa"), await strike("zz")] == [1, 2, 1]


async def test_a_strike_exactly_when_the_limits_say_so(store_redis: StrRedis) -> None:
    """The script's test of the limits is ``flood.assess``'s, at every boundary."""
    store = MessageStore(store_redis)
    checked = 0
    for max_messages in (1, 3):
        for length in (4, 5, 6):
            limits = FloodLimits(max_messages=max_messages, window_seconds=WINDOW_S, max_length=5)
            member = f"m{max_messages}-{length}"  # a window of its own
            flood = counting(max_messages, length=length, max_length=5)
            for i in range(max_messages + 2):
                seen = await _observe(store, f"{member}-e{i}", i, member=member, flood=flood)
                flooding = assess(seen.messages_in_window, length, limits) is not None
                assert (seen.strike > 0) == flooding, (max_messages, length, seen)
                checked += flooding
    assert (
        checked == 12
    )  # every too-long message, and every one over the count (the window restarts after it)


async def test_admins_are_counted_but_never_struck(store_redis: StrRedis) -> None:
    store = MessageStore(store_redis)
    admin = counting(max_messages=1, may_strike=False)
    seen = [await _observe(store, f"e{i}", i, flood=admin) for i in range(3)]
    assert [s.messages_in_window for s in seen] == [1, 2, 3]
    assert [s.strike for s in seen] == [0, 0, 0]
    assert not await store_redis.exists(keys.flood_strikes("bot", ROOM.id, "m"))


async def test_the_rooms_own_limits_and_settings_apply(store_redis: StrRedis) -> None:
    store, rooms = MessageStore(store_redis), RoomDirectory(store_redis)
    own = FloodLimits(max_messages=2, window_seconds=10, max_length=50)
    await rooms.set_flood("bot", ROOM.id, FloodPolicy.REMOVE, own)
    await rooms.set_welcome("bot", ROOM.id, "Hi {names}")
    # Too long for the room, not by default.
    defaults = counting(max_messages=1000, length=60, max_length=1500)
    seen = await _observe(store, "e0", 0, flood=defaults)
    assert seen.config == await rooms.config("bot", ROOM.id)
    assert seen.config == RoomConfig(
        welcome_template="Hi {names}", flood_policy=FloodPolicy.REMOVE, flood_limits=own
    )
    assert seen.strike == 1
    short = counting(max_messages=1000)
    strikes = [(await _observe(store, f"e{i}", i, flood=short)).strike for i in (1, 2, 3)]
    assert strikes == [
        0,
        0,
        2,
    ]  # after the strike the window restarts: the third message since is one too many
    assert (await _observe(store, "e4", 10_004, flood=short)).messages_in_window == 1  # a 10 s window
    assert (await _observe(store, "e5", 10_005, member="other")).config.flood_limits == own


async def test_after_a_strike_only_messages_sent_after_the_grace_count(store_redis: StrRedis) -> None:
    store = MessageStore(store_redis)
    graced = FloodCount(
        defaults=FloodLimits(max_messages=2, window_seconds=WINDOW_S, max_length=1500),
        strike_memory_ms=HOUR_MS,
        length=10,
        may_strike=True,
        grace_ms=30_000,
    )
    burst = [
        await _observe(store, f"b{i}", 1_000 + i, flood=graced) for i in range(20)
    ]  # a paste, in a second
    assert [seen.strike for seen in burst].count(1) == 1  # one warning
    assert [seen.strike for seen in burst][3:] == [0] * 17  # the rest was sent before anyone could read it
    assert burst[5].messages_in_window == 0  # and not even counted
    later = [await _observe(store, f"l{i}", 31_100 + i, flood=graced) for i in range(3)]
    assert [seen.messages_in_window for seen in later] == [1, 2, 3]  # a fresh window after the grace
    assert [seen.strike for seen in later] == [0, 0, 2]
    again = await _observe(store, "b2", 40_000, flood=graced)  # the warned message, redelivered
    assert (again.strike, again.messages_in_window) == (burst[2].strike, burst[2].messages_in_window)


async def test_a_rooms_own_grace_wins(store_redis: StrRedis) -> None:
    store, rooms = MessageStore(store_redis), RoomDirectory(store_redis)
    await rooms.set_flood("bot", ROOM.id, None, None, grace_s=60)
    flood = counting(max_messages=0)  # the default grace is 0 here
    assert (await _observe(store, "e0", 0, flood=flood)).strike == 1
    assert (await _observe(store, "e1", 59_000, flood=flood)).strike == 0  # within the room's 60 s
    assert (await _observe(store, "e2", 60_000, flood=flood)).strike == 2


async def test_each_message_keeps_the_directory_and_members(store_redis: StrRedis) -> None:
    store, rooms = MessageStore(store_redis), RoomDirectory(store_redis)
    await _observe(store, "e1", 0, member="alice")
    renamed = RoomRecord(id=ROOM.id, topic="新名字", owner_id="owner", member_count=11)
    await _observe(store, "e2", 1, member="bob", room=renamed)
    assert await rooms.room("bot", ROOM.id) == renamed
    assert await rooms.is_member("bot", ROOM.id, "alice")
    assert await rooms.is_member("bot", ROOM.id, "bob")
    await rooms.remove_members("bot", ROOM.id, ["alice"])
    await _observe(store, "e3", 2, member="alice")  # talking again means being in the room again
    assert await rooms.is_member("bot", ROOM.id, "alice")


async def test_the_bots_own_messages_are_seen_but_not_counted(store_redis: StrRedis) -> None:
    store, rooms = MessageStore(store_redis), RoomDirectory(store_redis)
    seen = await store.observe(bot_id="bot", room=ROOM, member_id="bot", event_id="e1", now_ms=0, flood=None)
    assert (seen.messages_in_window, seen.strike, seen.config) == (0, 0, RoomConfig())
    assert await rooms.room("bot", ROOM.id) == ROOM
    assert await rooms.is_member("bot", ROOM.id, "bot")
    assert not await store_redis.exists(keys.flood_window("bot", ROOM.id, "bot"))
