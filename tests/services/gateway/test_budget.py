"""The send script against a real Redis, on a simulated clock: buckets, daily budgets, the record, the lease."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from redis.asyncio import Redis

from services.gateway.budget import (
    Already,
    DailyLimits,
    Exhausted,
    Go,
    NotLeader,
    SendBudget,
    Verdict,
    Wait,
)
from services.gateway.pacing import PacingLimits

BOT = "wxid_bot"
LEASE = "gw-1:1"
SHANGHAI = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 11, 22, 9, 0, tzinfo=SHANGHAI).timestamp()


class SimClock:
    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url, decode_responses=True)
    await client.set(f"qun:gateway:{BOT}:lease", LEASE)
    yield client
    await client.aclose()


def budget(
    redis: Redis, clock: SimClock, limits: PacingLimits | None = None, daily: DailyLimits | None = None
) -> SendBudget:
    return SendBudget(
        redis,
        BOT,
        limits or PacingLimits(room_per_second=1, room_burst=2, account_per_minute=600, account_burst=100),
        daily or DailyLimits(text=0, file=0, invite=0, friend=0),
        zone=SHANGHAI,
        clock=clock,
    )


class Counter:
    def __init__(self) -> None:
        self.n = 0

    def next(self) -> str:
        self.n += 1
        return f"c{self.n}"


async def drain(budget: SendBudget, clock: SimClock, conversations: list[str], kind: str = "") -> list[float]:
    """Send one part per entry of `conversations`, in order, waiting as told: the times they went out."""
    ids, times = Counter(), []
    for conversation in conversations:
        while True:
            verdict = await budget.try_send(LEASE, conversation, kind, ids.next(), 0)
            if isinstance(verdict, Go):
                times.append(clock.now)
                break
            assert isinstance(verdict, Wait), verdict
            clock.now += verdict.seconds
    return [time - START for time in times]


async def test_a_room_gets_its_burst_then_one_message_per_second(redis: Redis) -> None:
    clock = SimClock()

    times = await drain(budget(redis, clock), clock, ["room"] * 5)

    assert times == pytest.approx([0.0, 0.0, 1.0, 2.0, 3.0])


async def test_the_account_cap_limits_all_rooms_together(redis: Redis) -> None:
    clock = SimClock()
    limits = PacingLimits(room_per_second=100, room_burst=100, account_per_minute=6, account_burst=2)

    times = await drain(budget(redis, clock, limits), clock, ["a", "b", "c", "a", "b", "c"])

    # burst of 2, then one every 10 s (6 per minute)
    assert times == pytest.approx([0.0, 0.0, 10.0, 20.0, 30.0, 40.0])


async def test_a_restarted_or_second_process_gets_no_extra_budget(redis: Redis) -> None:
    clock = SimClock()
    limits = PacingLimits(room_per_second=100, room_burst=100, account_per_minute=6, account_burst=3)
    first = budget(redis, clock, limits)
    assert await drain(first, clock, ["a", "b", "c"]) == pytest.approx([0.0, 0.0, 0.0])

    second = budget(redis, clock, limits)  # a new process: nothing in memory, everything in Redis
    verdict = await second.try_send(LEASE, "d", "", "fresh", 0)

    assert isinstance(verdict, Wait)
    assert verdict.scope == "account"
    assert verdict.seconds == pytest.approx(10.0)


async def test_a_part_handed_to_wechat_is_never_granted_again(redis: Redis) -> None:
    clock = SimClock()
    sends = budget(redis, clock)
    assert isinstance(await sends.try_send(LEASE, "room", "text", "cmd", 0), Go)

    clock.now += 60
    assert await sends.try_send(LEASE, "room", "text", "cmd", 0) == Already(f"intent:{LEASE}")
    await sends.confirm("cmd", 0)
    assert await sends.try_send(LEASE, "room", "text", "cmd", 0) == Already("sent")
    assert isinstance(await sends.try_send(LEASE, "room", "text", "cmd", 1), Go)  # the next part is new

    progress = await sends.progress("cmd")
    assert progress.parts == {0: "sent", 1: f"intent:{LEASE}"}
    assert not progress.done


async def test_a_refused_part_may_be_tried_again(redis: Redis) -> None:
    clock = SimClock()
    sends = budget(redis, clock)
    assert isinstance(await sends.try_send(LEASE, "room", "text", "cmd", 0), Go)

    await sends.forget("cmd", 0)
    clock.now += 5

    assert isinstance(await sends.try_send(LEASE, "room", "text", "cmd", 0), Go)


async def test_the_daily_budget_holds_the_kind_until_midnight_in_the_accounts_zone(redis: Redis) -> None:
    clock = SimClock(datetime(2026, 11, 22, 23, 0, tzinfo=SHANGHAI).timestamp())
    sends = budget(redis, clock, daily=DailyLimits(text=3, file=0, invite=0, friend=0))
    verdicts: list[Verdict] = []
    for index in range(4):
        clock.now += 10
        verdicts.append(await sends.try_send(LEASE, f"room{index}", "text", f"c{index}", 0))

    assert verdicts[:3] == [Go(1, 3), Go(2, 3), Go(3, 3)]
    held = verdicts[3]
    assert isinstance(held, Exhausted)
    assert (held.used, held.limit) == (3, 3)
    assert held.seconds == pytest.approx(3600 - 40)
    assert isinstance(await sends.try_send(LEASE, "room9", "file", "f1", 0), Go)  # other kinds go on
    assert (await sends.daily_used())["text"] == 3

    clock.now += held.seconds
    assert await sends.try_send(LEASE, "room3", "text", "c3", 0) == Go(1, 3)


async def test_only_the_lease_holder_may_send(redis: Redis) -> None:
    clock = SimClock()
    sends = budget(redis, clock)

    assert await sends.try_send("gw-2:7", "room", "text", "cmd", 0) == NotLeader()
    assert await sends.progress("cmd") == await sends.progress("never")  # nothing recorded


async def test_finish_marks_the_command_done(redis: Redis) -> None:
    sends = budget(redis, SimClock())

    await sends.finish("cmd")

    assert (await sends.progress("cmd")).done
