"""The send loop on a simulated clock against a real Redis: fairness, priorities, staleness, failures and outages."""

from __future__ import annotations

import itertools
import logging
from collections.abc import AsyncIterator
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from opentelemetry import trace
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from schemas import SayText
from schemas.base import Priority
from services.gateway.budget import DailyLimits, SendBudget
from services.gateway.executor import Executor, Step
from services.gateway.lease import LeaseLostError
from services.gateway.pacing import PacingLimits
from services.gateway.reader import PuppetReader
from services.gateway.sender import Job, Outcome, Sender
from services.shared.consumer import is_outage

BOT = "wxid_bot"
LEASE = "gw-1:1"
SHANGHAI = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 11, 22, 9, 0, tzinfo=SHANGHAI).timestamp()


class SimClock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


class Puppet:
    """Records (time, conversation, text); `fail` maps a text to the error its send raises once."""

    def __init__(self, clock: SimClock) -> None:
        self.clock = clock
        self.sent: list[tuple[float, str, str]] = []
        self.fail: dict[str, BaseException] = {}

    async def message_send_text(self, conversation_id: str, text: str, mention_ids: list[str] | None) -> str:
        if text in self.fail:
            raise self.fail.pop(text)
        self.sent.append((self.clock.now - START, conversation_id, text))
        return f"m{len(self.sent)}"

    @property
    def texts(self) -> list[str]:
        return [text for _, _, text in self.sent]


class World:
    def __init__(self, redis: Redis, limits: PacingLimits, daily: DailyLimits | None = None) -> None:
        self.clock = SimClock()
        self.puppet = Puppet(self.clock)
        self.lease = LEASE
        executor = Executor(self.puppet, PuppetReader(self.puppet), max_message_chars=1500)
        budget = SendBudget(
            redis, BOT, limits, daily or DailyLimits(0, 0, 0, 0), zone=SHANGHAI, clock=self.clock
        )
        self.sender = Sender(
            executor,
            budget,
            trace.get_tracer("test"),
            lease=lambda: self.lease,
            clock=self.clock,
            sleep=self.clock.sleep,
        )

    def job(
        self, text: str, conversation: str = "room", priority: Priority = "reply", max_age_s: float = 600
    ) -> Job:
        say = SayText(room_id=conversation, text=text)
        step = Step(say, conversation, text=text)
        return Job(say.id, priority, "text", [step], self.clock.now + max_age_s)

    async def drive(self) -> None:
        """Run the loop until nothing is queued, jumping the clock over every wait."""
        for _ in range(10_000):
            wait = await self.sender.step()
            if wait is None:
                return
            self.clock.now += wait
        raise AssertionError("the sender never became idle")


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url, decode_responses=True)
    await client.set(f"qun:gateway:{BOT}:lease", LEASE)
    yield client
    await client.aclose()


SLOW_ACCOUNT = PacingLimits(room_per_second=1, room_burst=2, account_per_minute=6, account_burst=1)


async def test_replies_go_first_and_conversations_take_turns(redis: Redis) -> None:
    world = World(redis, SLOW_ACCOUNT)
    jobs = [world.job("broadcast", "r1", "broadcast"), world.job("notice", "r2", "notice")]
    jobs += [world.job(f"dm {n}", "alice") for n in range(3)] + [world.job("reminder", "r3", "reminder")]
    jobs.append(world.job("room reply", "r4"))
    futures = [world.sender.submit(job) for job in jobs]

    await world.drive()

    assert world.puppet.texts == ["dm 0", "room reply", "dm 1", "dm 2", "reminder", "notice", "broadcast"]
    assert all(future.result() is Outcome.SENT for future in futures)


async def test_a_conversations_backlog_delays_only_itself(redis: Redis) -> None:
    world = World(
        redis, PacingLimits(room_per_second=0.5, room_burst=1, account_per_minute=600, account_burst=5)
    )
    for n in range(30):
        world.sender.submit(world.job(f"dm {n}", "alice"))
    world.sender.submit(world.job("room reply", "room"))

    await world.drive()

    assert world.puppet.texts.index("room reply") == 1
    times = [time for time, conversation, _ in world.puppet.sent if conversation == "alice"]
    assert all(later - earlier >= 2.0 - 1e-6 for earlier, later in itertools.pairwise(times))


async def test_a_command_that_went_stale_while_waiting_is_dropped_never_sent_late(redis: Redis) -> None:
    world = World(redis, SLOW_ACCOUNT)
    kept = [world.sender.submit(world.job(f"m{n}", f"r{n}", max_age_s=25)) for n in range(5)]

    await world.drive()

    # One message per 10 s: m0 at 0 s, m1 at 10 s, m2 at 20 s; m3 and m4 would be late.
    assert world.puppet.texts == ["m0", "m1", "m2"]
    assert [future.result() for future in kept] == [Outcome.SENT] * 3 + [Outcome.STALE] * 2
    assert world.sender.queue_sizes() == {}


async def test_a_refused_part_fails_the_command_and_may_be_sent_on_retry(redis: Redis) -> None:
    world = World(redis, SLOW_ACCOUNT)
    job = world.job("hello")
    world.puppet.fail["hello"] = RuntimeError("WeChat refused")
    failed = world.sender.submit(job)
    await world.drive()
    assert isinstance(failed.exception(), RuntimeError)

    retried = world.sender.submit(Job(job.command_id, "reply", "text", job.steps, job.expires_at))
    await world.drive()

    assert retried.result() is Outcome.SENT
    assert world.puppet.texts == ["hello"]


async def test_a_part_whose_outcome_is_unknown_is_never_sent_again(redis: Redis) -> None:
    world = World(redis, SLOW_ACCOUNT)
    job = world.job("hello")
    world.puppet.fail["hello"] = ConnectionResetError("the puppet service went away mid-call")
    failed = world.sender.submit(job)
    await world.drive()
    assert isinstance(failed.exception(), ConnectionResetError)

    retried = world.sender.submit(Job(job.command_id, "reply", "text", job.steps, job.expires_at))
    await world.drive()

    assert retried.result() is Outcome.SENT  # finished: the part counts as handed over
    assert world.puppet.texts == []
    assert world.sender.stats.unknown_outcomes == 2  # the cut call, and the skip on retry


async def test_without_redis_nothing_is_sent_and_every_command_waits(redis_url: str) -> None:
    down = Redis(host="127.0.0.1", port=1, decode_responses=True)  # nothing listens on port 1
    world = World(down, SLOW_ACCOUNT)
    futures = [world.sender.submit(world.job(f"m{n}", f"r{n}")) for n in range(3)]

    await world.drive()
    await down.aclose()

    assert world.puppet.sent == []
    errors = [future.exception() for future in futures]
    assert all(isinstance(error, RedisConnectionError) and is_outage(error) for error in errors)


async def test_a_process_that_lost_the_lease_sends_nothing(redis: Redis) -> None:
    world = World(redis, SLOW_ACCOUNT)
    await redis.set(f"qun:gateway:{BOT}:lease", "gw-2:2")  # taken over
    future = world.sender.submit(world.job("hello"))

    await world.drive()

    assert isinstance(future.exception(), LeaseLostError)
    assert world.puppet.sent == []


async def test_a_used_up_daily_budget_holds_its_kind_and_warns_at_80_percent(
    redis: Redis, caplog: pytest.LogCaptureFixture
) -> None:
    fast = PacingLimits(room_per_second=100, room_burst=100, account_per_minute=6000, account_burst=100)
    world = World(redis, fast, DailyLimits(text=5, file=0, invite=0, friend=0))
    texts = [world.sender.submit(world.job(f"m{n}", f"r{n}", max_age_s=60)) for n in range(7)]

    with caplog.at_level(logging.WARNING, logger="qunbus.gateway.sender"):
        await world.drive()

    assert world.puppet.texts == ["m0", "m1", "m2", "m3", "m4"]
    assert [future.result() for future in texts] == [Outcome.SENT] * 5 + [Outcome.STALE] * 2
    assert [r.message for r in caplog.records if "80%" in r.message] == [
        "80% of today's text budget used (4 of 5)"
    ]
    assert any("budget is used up" in r.message for r in caplog.records)
    assert world.sender.stats.daily_used == {"text": 5}
