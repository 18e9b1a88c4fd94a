"""A room's hourly notice budget against a real Redis: what goes out at once, what waits, when the digest is due."""

from datetime import UTC, datetime, timedelta

import pytest
from redis.asyncio import Redis

from services.github_sync.budget import MAX_HELD, BudgetPolicy, HeldNotice, NoticeBudget

T0 = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)
ROOM = "dev@chatroom"
POLICY = BudgetPolicy(per_hour=4, window=timedelta(hours=1), quiet=timedelta(minutes=2))


def notice(n: int) -> HeldNotice:
    return HeldNotice(id=f"d-{n}", zh=f"acme/widgets#{n} 新 Issue", en=f"acme/widgets#{n} issue opened")


async def admit_all(budget: NoticeBudget, numbers: range, at: datetime) -> list[bool]:
    return [await budget.admit(ROOM, notice(n), now=at + timedelta(seconds=n)) for n in numbers]


async def test_a_burst_sends_all_but_one_of_the_budget_and_holds_the_rest(redis: Redis) -> None:
    budget = NoticeBudget(redis, POLICY)
    assert await admit_all(budget, range(30), T0) == [True] * 3 + [False] * 27
    held = await budget.held(ROOM)
    assert held.total == 27
    assert [n.id for n in held.notices] == [f"d-{n}" for n in range(3, 30)]  # oldest first
    last = T0 + timedelta(seconds=29)
    assert await budget.due(now=last + timedelta(minutes=2) - timedelta(seconds=1)) == []
    assert await budget.due(now=last + timedelta(minutes=2)) == [ROOM]  # the burst ended


async def test_the_digest_counts_and_later_notices_wait_for_the_renewal(redis: Redis) -> None:
    budget = NoticeBudget(redis, POLICY)
    await admit_all(budget, range(5), T0)
    held = await budget.held(ROOM)
    assert await budget.digest_sent(ROOM, held, "digest-1", now=T0 + timedelta(minutes=3)) == 0
    assert await budget.due(now=T0 + timedelta(days=1)) == []
    # The window has used its 4 messages (3 notices, the digest): the next one waits for the hour.
    assert not await budget.admit(ROOM, notice(9), now=T0 + timedelta(minutes=4))
    assert await budget.due(now=T0 + timedelta(minutes=59)) == []
    assert await budget.due(now=T0 + timedelta(minutes=60)) == [ROOM]


async def test_a_digest_sent_twice_counts_once(redis: Redis) -> None:
    budget = NoticeBudget(redis, POLICY)
    await admit_all(budget, range(5), T0)
    held = await budget.held(ROOM)
    later = T0 + timedelta(minutes=3)
    await budget.digest_sent(ROOM, held, "digest-1", now=later)
    await budget.digest_sent(ROOM, held, "digest-1", now=later)  # another replica, or a retry
    assert await redis.hget("github-sync:room:dev@chatroom:notice-window", "sent") == "4"


async def test_a_new_window_sends_at_once_again(redis: Redis) -> None:
    budget = NoticeBudget(redis, POLICY)
    await admit_all(budget, range(3), T0)
    assert await budget.admit(ROOM, notice(7), now=T0 + timedelta(hours=1, seconds=3))


async def test_notices_arriving_while_the_digest_was_sent_stay_due(redis: Redis) -> None:
    budget = NoticeBudget(redis, POLICY)
    await admit_all(budget, range(5), T0)
    held = await budget.held(ROOM)
    assert not await budget.admit(ROOM, notice(6), now=T0 + timedelta(minutes=2))  # not in `held`
    assert await budget.digest_sent(ROOM, held, "digest-1", now=T0 + timedelta(minutes=3)) == 1
    assert [n.id for n in (await budget.held(ROOM)).notices] == ["d-6"]
    assert await budget.due(now=T0 + timedelta(hours=1)) == [ROOM]


async def test_the_same_delivery_held_twice_is_one_line(redis: Redis) -> None:
    budget = NoticeBudget(redis, POLICY)
    await admit_all(budget, range(3), T0)
    await budget.admit(ROOM, notice(5), now=T0 + timedelta(seconds=10))
    await budget.admit(ROOM, notice(5), now=T0 + timedelta(seconds=11))
    assert (await budget.held(ROOM)).total == 1


async def test_beyond_the_kept_lines_notices_are_counted(redis: Redis) -> None:
    budget = NoticeBudget(redis, POLICY)
    await admit_all(budget, range(3 + MAX_HELD + 7), T0)
    held = await budget.held(ROOM)
    assert (len(held.notices), held.overflow, held.total) == (MAX_HELD, 7, MAX_HELD + 7)
    assert await budget.digest_sent(ROOM, held, "digest-1", now=T0 + timedelta(minutes=30)) == 0
    assert (await budget.held(ROOM)).total == 0


async def test_only_one_replica_holds_a_rooms_digest(redis: Redis) -> None:
    budget = NoticeBudget(redis, POLICY)
    token = await budget.lock(ROOM)
    assert token is not None
    assert await budget.lock(ROOM) is None
    await budget.unlock(ROOM, "not the token")
    assert await budget.lock(ROOM) is None
    await budget.unlock(ROOM, token)
    assert await budget.lock(ROOM) is not None


def test_a_budget_needs_room_for_a_notice_and_the_digest() -> None:
    with pytest.raises(ValueError, match="at least 2"):
        BudgetPolicy(per_hour=1)
