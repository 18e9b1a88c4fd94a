"""What the gateway does with one command (`Outbound.handle`), against a real Redis and a recording puppet. The
JetStream side (acks, retries, dead letters, pauses) is the shared consumer's and tested there."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any, cast
from zoneinfo import ZoneInfo

import pytest
from opentelemetry import trace
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from schemas import SayText, subjects
from services.gateway.budget import DailyLimits, SendBudget
from services.gateway.executor import Executor
from services.gateway.outbound import Outbound
from services.gateway.pacing import PacingLimits
from services.gateway.reader import PuppetReader
from services.gateway.sender import Sender
from services.shared.consumer import Delivery, Permanent, is_outage

BOT = "wxid_bot"
LEASE = "gw-1:1"
FAST = PacingLimits(
    room_per_second=1000, room_burst=100, account_per_minute=60000, account_burst=100, jitter_seconds=0
)


class RecordingPuppet:
    def __init__(self, failures: int = 0) -> None:
        self.sent: list[tuple[str, str, list[str] | None]] = []
        self.failures = failures

    async def message_send_text(
        self, conversation_id: str, message: str, mention_ids: list[str] | None
    ) -> str:
        if self.failures > 0:
            self.failures -= 1
            raise RuntimeError("WeChat refused")
        self.sent.append((conversation_id, message, mention_ids))
        return f"m{len(self.sent)}"


def delivery(subject: str, data: bytes, deliveries: int = 1, age_s: float = 0.0) -> Delivery:
    stored = datetime.now(UTC) - timedelta(seconds=age_s)
    raw = SimpleNamespace(
        subject=subject,
        data=data,
        headers={},
        metadata=SimpleNamespace(
            num_delivered=deliveries, sequence=SimpleNamespace(stream=1), timestamp=stored
        ),
    )
    return Delivery(cast(Any, raw))


def say(text: str, room: str = "r1", age_s: float = 0.0, **fields: Any) -> Delivery:
    command = SayText(room_id=room, text=text, **fields)
    return delivery(subjects.command(BOT, SayText), command.model_dump_json().encode(), age_s=age_s)


class Harness:
    def __init__(self, redis: Redis, puppet: RecordingPuppet, limits: PacingLimits = FAST) -> None:
        self.puppet = puppet
        self.redis = redis
        executor = Executor(puppet, PuppetReader(puppet), max_message_chars=20)
        self.budget = SendBudget(redis, BOT, limits, DailyLimits(), zone=ZoneInfo("Asia/Shanghai"))
        self.sender = Sender(executor, self.budget, trace.get_tracer("test"), lease=lambda: LEASE)
        self.outbound = Outbound(executor, self.sender, self.budget, max_command_age_s=600)
        self._loop: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Harness:
        with contextlib.suppress(Exception):  # a harness on an unreachable Redis
            await self.redis.set(self.budget.lease_key(), LEASE)
        self._loop = asyncio.create_task(self.sender.run())
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self._loop is not None
        self._loop.cancel()
        await asyncio.gather(self._loop, return_exceptions=True)

    @property
    def texts(self) -> list[str]:
        return [text for _, text, _ in self.puppet.sent]


async def test_handle_returns_once_wechat_accepted_the_command(redis: Redis) -> None:
    async with Harness(redis, RecordingPuppet()) as harness:
        await harness.outbound.handle(say("hello", id="c1"))

    assert harness.puppet.sent == [("r1", "hello", None)]
    assert (await harness.budget.progress("c1")).done


async def test_a_repeated_command_id_is_carried_out_once(redis: Redis) -> None:
    async with Harness(redis, RecordingPuppet()) as harness:
        await harness.outbound.handle(say("hello", id="c1"))
        await harness.outbound.handle(say("hello", id="c1"))

    assert harness.texts == ["hello"]


async def test_a_redelivered_split_text_resumes_after_the_parts_already_sent(redis: Redis) -> None:
    async with Harness(redis, RecordingPuppet()) as harness:
        await redis.hset(harness.budget.record_key("cmd-split"), "p0", "sent")
        # 20 characters a part: three parts, the first sent before.
        await harness.outbound.handle(
            say("line number one\nline number two\nline number six", id="cmd-split")
        )

    assert harness.texts == ["line number two", "line number six"]


async def test_a_refused_send_fails_the_command_for_the_consumer_to_retry(redis: Redis) -> None:
    async with Harness(redis, RecordingPuppet(failures=1)) as harness:
        with pytest.raises(RuntimeError, match="WeChat refused"):
            await harness.outbound.handle(say("hello", id="c1"))
        await harness.outbound.handle(say("hello", id="c1"))

    assert harness.texts == ["hello"]


@pytest.mark.parametrize(
    ("subject", "data", "reason"),
    [
        (f"qun.cmd.{BOT}.dance", b"{}", "unknown command"),
        (subjects.command(BOT, SayText), b'{"text": ""}', "invalid payload"),
        (
            subjects.command(BOT, SayText),
            SayText(room_id="r1", text="hi", schema_version=99).model_dump_json().encode(),
            "schema_version",
        ),
    ],
)
async def test_a_command_that_can_never_be_carried_out_is_permanent(
    redis: Redis, subject: str, data: bytes, reason: str
) -> None:
    async with Harness(redis, RecordingPuppet()) as harness:
        with pytest.raises(Permanent, match=reason):
            await harness.outbound.handle(delivery(subject, data))

    assert harness.puppet.sent == []


async def test_without_redis_nothing_is_sent_and_the_consumer_sees_an_outage(redis: Redis) -> None:
    down = Redis(host="127.0.0.1", port=1, decode_responses=True)  # nothing listens on port 1
    async with Harness(down, RecordingPuppet()) as harness:
        with pytest.raises(RedisConnectionError) as raised:
            await harness.outbound.handle(say("hello"))
    await down.aclose()

    assert is_outage(raised.value)
    assert harness.puppet.sent == []


async def test_rooms_are_served_round_robin_under_the_rate_limit(redis: Redis) -> None:
    slow_rooms = PacingLimits(
        room_per_second=50, room_burst=1, account_per_minute=60000, account_burst=100, jitter_seconds=0
    )
    async with Harness(redis, RecordingPuppet(), slow_rooms) as harness:
        busy = [harness.outbound.handle(say(f"busy {n}", room="busy")) for n in range(4)]
        await asyncio.gather(*busy, harness.outbound.handle(say("quiet", room="quiet")))

    assert harness.texts.index("quiet") < harness.texts.index("busy 3")


async def test_a_command_older_than_the_age_limit_is_dropped_and_counted(redis: Redis) -> None:
    async with Harness(redis, RecordingPuppet()) as harness:
        await harness.outbound.handle(say("yesterday's news", age_s=601))
        await harness.outbound.handle(
            say("too late", deadline=datetime.now(UTC) - timedelta(seconds=1))  # past its own deadline
        )
        await harness.outbound.handle(say("fresh", age_s=30))

    assert harness.texts == ["fresh"]
    assert harness.outbound.dropped_stale == 2


async def test_a_very_long_reply_costs_at_most_three_messages(redis: Redis) -> None:
    async with Harness(redis, RecordingPuppet()) as harness:
        await harness.outbound.handle(say("\n".join(f"line {n}" for n in range(1000))))

    assert len(harness.texts) == 3
    assert harness.texts[-1].endswith("(truncated)")
