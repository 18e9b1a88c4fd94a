"""The command side without a broker: fake deliveries, an in-memory Redis stand-in, a recording puppet."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

from redis.asyncio import Redis

from schemas import DeadLettered, SayText, subjects
from services.gateway.executor import Executor
from services.gateway.outbound import Delivery, Outbound, OutboundSettings, progress_key
from services.gateway.pacing import PacingLimits
from services.gateway.reader import PuppetReader

BOT = "wxid_bot"
FAST = PacingLimits(
    room_per_second=1000, room_burst=100, account_per_minute=60000, account_burst=100, jitter_seconds=0
)


@dataclass
class Sequence:
    stream: int = 1


@dataclass
class Metadata:
    num_delivered: int | None = 1
    sequence: Sequence | None = field(default_factory=Sequence)


@dataclass
class FakeDelivery:
    subject: str
    data: bytes
    metadata: Metadata = field(default_factory=Metadata)
    headers: dict[str, str] | None = None
    log: list[str] = field(default_factory=list)
    nak_delays: list[float | None] = field(default_factory=list)

    async def ack(self) -> None:
        self.log.append("ack")

    async def nak(self, delay: float | None = None) -> None:
        self.log.append("nak")
        self.nak_delays.append(delay)

    async def in_progress(self) -> None:
        self.log.append("in_progress")


class FakeRedis:
    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    async def get(self, key: str) -> str | None:
        return self.values.get(key)

    async def set(self, key: str, value: str, ex: int | None = None) -> None:
        self.values[key] = value


class RecordingPuppet:
    def __init__(self, failures: int = 0) -> None:
        self.sent: list[tuple[str, str, list[str] | None]] = []
        self.failures = failures

    async def message_send_text(
        self, conversation_id: str, message: str, mention_ids: list[str] | None
    ) -> str:
        if self.failures > 0:
            self.failures -= 1
            raise ConnectionError("WeChat refused")
        self.sent.append((conversation_id, message, mention_ids))
        return f"m{len(self.sent)}"


def say(text: str, room: str = "r1", **fields: Any) -> FakeDelivery:
    command = SayText(room_id=room, text=text, **fields)
    return FakeDelivery(subjects.command(BOT, SayText), command.model_dump_json().encode())


class Harness:
    def __init__(self, puppet: RecordingPuppet, limits: PacingLimits = FAST, **settings: Any) -> None:
        self.puppet = puppet
        self.redis = FakeRedis()
        self.letters: list[DeadLettered] = []
        self.outbound = Outbound(
            OutboundSettings(bot_id=BOT, limits=limits, **settings),
            Executor(puppet, PuppetReader(puppet), max_message_chars=20),
            cast(Redis, self.redis),
            self._dead_letter,
        )
        self.queue: list[FakeDelivery] = []

    async def _dead_letter(self, letter: DeadLettered) -> None:
        self.letters.append(letter)

    async def fetch(self, batch: int, timeout: float) -> list[Delivery]:
        if not self.queue:
            await asyncio.sleep(0.005)
            raise TimeoutError
        taken, self.queue = self.queue[:batch], self.queue[batch:]
        return list(taken)

    async def run_until(self, done: Callable[[], bool], timeout: float = 3.0) -> None:
        task = asyncio.create_task(self.outbound.run(self.fetch))
        try:
            deadline = time.monotonic() + timeout
            while not done():
                assert time.monotonic() < deadline, "condition not met in time"
                await asyncio.sleep(0.005)
        finally:
            self.outbound.close()
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


async def test_a_command_is_acked_after_wechat_accepted_it() -> None:
    harness = Harness(RecordingPuppet())
    delivery = say("hello")
    harness.queue.append(delivery)

    await harness.run_until(lambda: "ack" in delivery.log)

    assert harness.puppet.sent == [("r1", "hello", None)]
    assert harness.outbound.sent == 1


async def test_waiting_commands_are_kept_alive_with_in_progress_acks() -> None:
    slow = PacingLimits(
        room_per_second=1000, room_burst=100, account_per_minute=300, account_burst=1, jitter_seconds=0
    )
    harness = Harness(RecordingPuppet(), slow, keep_alive_s=0.02)
    first, second = say("one"), say("two", room="r2")
    harness.queue += [first, second]

    await harness.run_until(lambda: "ack" in second.log)

    # The account allows one message per 0.2 s: the second waited, and was kept alive meanwhile.
    assert second.log.index("in_progress") < second.log.index("ack")
    assert harness.outbound.rate_limit_waits >= 1


async def test_pulling_stops_at_the_in_flight_limit() -> None:
    slow = PacingLimits(
        room_per_second=1000, room_burst=100, account_per_minute=60, account_burst=1, jitter_seconds=0
    )
    harness = Harness(RecordingPuppet(), slow, max_in_flight=2)
    harness.queue += [say(f"m{index}", room=f"r{index}") for index in range(5)]

    await harness.run_until(lambda: len(harness.puppet.sent) == 1)

    assert harness.outbound.in_flight <= 2
    assert len(harness.queue) >= 2  # the rest stays in JetStream until there is room


async def test_a_failed_send_is_retried_with_growing_delays() -> None:
    harness = Harness(RecordingPuppet(failures=1), retry_base_s=0.5)
    delivery = say("hello")
    delivery.metadata.num_delivered = 3
    harness.queue.append(delivery)

    await harness.run_until(lambda: "nak" in delivery.log)

    assert delivery.nak_delays == [2.0]  # 0.5 * 2 ** (3 - 1)
    assert harness.letters == []


async def test_a_command_failing_on_its_last_delivery_is_dead_lettered() -> None:
    harness = Harness(RecordingPuppet(failures=1), max_deliver=3)
    delivery = say("hello")
    delivery.metadata.num_delivered = 3
    harness.queue.append(delivery)

    await harness.run_until(lambda: bool(harness.letters))

    assert harness.letters[0].deliveries == 3
    assert "WeChat refused" in harness.letters[0].error
    assert delivery.log == ["ack"]


async def test_a_redelivered_split_text_resumes_after_the_parts_already_sent() -> None:
    harness = Harness(RecordingPuppet())
    delivery = say(
        "line number one\nline number two\nline number six", id="cmd-split"
    )  # 20 chars a part: 3 parts
    harness.redis.values[progress_key(BOT, "cmd-split")] = "1"
    harness.queue.append(delivery)

    await harness.run_until(lambda: "ack" in delivery.log)

    assert [text for _, text, _ in harness.puppet.sent] == ["line number two", "line number six"]
    assert harness.redis.values[progress_key(BOT, "cmd-split")] == "done"


async def test_an_unknown_schema_version_is_dead_lettered_at_once() -> None:
    harness = Harness(RecordingPuppet())
    delivery = say("hello", schema_version=99)
    harness.queue.append(delivery)

    await harness.run_until(lambda: bool(harness.letters))

    assert "schema_version" in harness.letters[0].error
    assert harness.puppet.sent == []


async def test_an_unknown_command_subject_is_dead_lettered() -> None:
    harness = Harness(RecordingPuppet())
    harness.queue.append(FakeDelivery(f"qun.cmd.{BOT}.dance", b"{}"))

    await harness.run_until(lambda: bool(harness.letters))

    assert "unknown command" in harness.letters[0].error


async def test_release_hands_unfinished_commands_back() -> None:
    frozen = PacingLimits(
        room_per_second=1000, room_burst=100, account_per_minute=0.001, account_burst=1, jitter_seconds=0
    )
    harness = Harness(RecordingPuppet(), frozen)
    first, second = say("one"), say("two")
    harness.queue += [first, second]
    await harness.run_until(lambda: "ack" in first.log and harness.outbound.in_flight == 1)

    await harness.outbound.release()

    assert second.log == ["nak"]
    assert harness.outbound.in_flight == 0


class BrokenRedis(FakeRedis):
    async def get(self, key: str) -> str | None:
        raise ConnectionError("redis is down")


async def test_a_command_that_cannot_be_checked_for_repeats_is_handed_back() -> None:
    harness = Harness(RecordingPuppet())
    harness.outbound.redis = cast(Redis, BrokenRedis())
    delivery = say("hello")
    harness.queue.append(delivery)

    await harness.run_until(lambda: "nak" in delivery.log)

    assert harness.puppet.sent == []  # not sent without knowing whether it was sent before
