"""Votes in Redis with an injected clock: distinct voters, the window, withdrawal, one removal."""

import asyncio

from services.moderator import keys
from services.moderator.redis_types import StrRedis
from services.moderator.vote_store import REPLAY_MS, Tally, VoteStore

HOUR = 3_600_000
WINDOW = 12 * HOUR


async def _cast(store: VoteStore, voter: str, now_ms: int, threshold: int = 3, event: str = "") -> Tally:
    return await store.cast(
        bot_id="bot",
        room_id="room",
        target_id="target",
        voter_id=voter,
        event_id=event or f"evt-{voter}-{now_ms}",
        threshold=threshold,
        now_ms=now_ms,
        window_ms=WINDOW,
    )


async def _withdraw(store: VoteStore, voter: str, now_ms: int, event: str = "") -> Tally:
    return await store.withdraw(
        bot_id="bot",
        room_id="room",
        target_id="target",
        voter_id=voter,
        event_id=event or f"unvote-{voter}-{now_ms}",
        now_ms=now_ms,
        window_ms=WINDOW,
    )


async def test_distinct_voters_reach_the_threshold_once(store_redis: StrRedis) -> None:
    store = VoteStore(store_redis)
    assert await _cast(store, "a", 0) == Tally(changed=True, count=1)
    assert await _cast(store, "a", 10) == Tally(changed=False, count=1)
    assert await _cast(store, "b", 20) == Tally(changed=True, count=2)
    assert await _cast(store, "c", 30) == Tally(changed=True, count=3, reached=True)
    # the tally starts over after a removal
    assert await _cast(store, "d", 40) == Tally(changed=True, count=1)


async def test_votes_older_than_the_window_do_not_count(store_redis: StrRedis) -> None:
    store = VoteStore(store_redis)
    await _cast(store, "a", 0)
    await _cast(store, "b", 1)
    assert await _cast(store, "c", WINDOW - 1) == Tally(changed=True, count=3, reached=True)
    await _cast(store, "a", 1_000_000)
    await _cast(store, "b", 1_000_001)
    assert await _cast(store, "c", 1_000_000 + WINDOW) == Tally(changed=True, count=2)


async def test_withdrawal(store_redis: StrRedis) -> None:
    store = VoteStore(store_redis)
    await _cast(store, "a", 0)
    await _cast(store, "b", 0)
    assert await _withdraw(store, "a", 5) == Tally(changed=True, count=1)
    assert await _withdraw(store, "a", 6) == Tally(changed=False, count=1)
    assert await _cast(store, "c", 7) == Tally(changed=True, count=2)


async def test_redelivered_kicking_event_replays_the_removal(store_redis: StrRedis) -> None:
    store = VoteStore(store_redis)
    await _cast(store, "a", 0)
    first = await _cast(store, "b", 1, threshold=2, event="kick-evt")
    again = await _cast(store, "b", 2, threshold=2, event="kick-evt")
    assert first == Tally(changed=True, count=2, reached=True)
    assert again == first


async def test_a_redelivered_vote_gets_its_first_tally_back_whatever_happened_since(
    store_redis: StrRedis,
) -> None:
    store = VoteStore(store_redis)
    first = await _cast(store, "a", 0, event="vote-a")
    await _cast(store, "b", 1)  # someone else voted before the redelivery
    assert await _cast(store, "a", 2, event="vote-a") == first == Tally(changed=True, count=1)
    assert await _cast(store, "a", 3) == Tally(changed=False, count=2)  # a new message is a repeat vote


async def test_a_redelivered_withdrawal_gets_its_first_tally_back(store_redis: StrRedis) -> None:
    store = VoteStore(store_redis)
    await _cast(store, "a", 0)
    first = await _withdraw(store, "a", 1, event="unvote-a")
    assert await _withdraw(store, "a", 2, event="unvote-a") == first == Tally(changed=True, count=0)
    assert await _withdraw(store, "a", 3) == Tally(changed=False, count=0)


async def test_remembered_outcomes_expire(store_redis: StrRedis) -> None:
    store = VoteStore(store_redis)
    await _cast(store, "a", 0, event="vote-a")
    ttl = await store_redis.pttl(keys.vote_outcome("bot", "vote-a"))
    assert 0 < ttl <= REPLAY_MS


async def test_concurrent_votes_remove_only_once(store_redis: StrRedis) -> None:
    store = VoteStore(store_redis)
    tallies = await asyncio.gather(*(_cast(store, f"v{i}", 100) for i in range(6)))
    assert sum(t.reached for t in tallies) == 2  # 6 votes, threshold 3: two full tallies, never more
    assert [t.count for t in tallies if t.reached] == [3, 3]


async def test_targets_and_rooms_are_separate(store_redis: StrRedis) -> None:
    store = VoteStore(store_redis)
    await _cast(store, "a", 0)
    other_room = await store.cast(
        bot_id="bot",
        room_id="room2",
        target_id="target",
        voter_id="b",
        event_id="x",
        threshold=3,
        now_ms=0,
        window_ms=WINDOW,
    )
    other_target = await store.cast(
        bot_id="bot",
        room_id="room",
        target_id="t2",
        voter_id="b",
        event_id="y",
        threshold=3,
        now_ms=0,
        window_ms=WINDOW,
    )
    assert other_room.count == other_target.count == 1
