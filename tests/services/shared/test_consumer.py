"""The one pull-consumer loop, against a real nats-server: ack, retry, dead-letter, outage pause, keep-alive, stop."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta

import nats
import pytest
from nats.aio.client import Client as NatsClient
from nats.js.client import JetStreamContext
from redis.exceptions import ConnectionError as RedisConnectionError

from schemas import streams
from services.shared.consumer import (
    MAX_DEAD_LETTER_PAYLOAD,
    ConsumerPolicy,
    Delivery,
    Permanent,
    PullConsumer,
    dead_letter_of,
    is_outage,
)
from services.shared.provision import ensure_consumer

SUBJECT = "qun.evt.bot.message"


@pytest.fixture
async def js(nats_url: str) -> AsyncIterator[JetStreamContext]:
    connection: NatsClient = await nats.connect(nats_url)
    yield connection.jetstream()
    await connection.close()


async def bound(
    js: JetStreamContext, ack_wait_s: float = 30.0
) -> Callable[[], Awaitable[JetStreamContext.PullSubscription]]:
    spec = streams.ConsumerSpec(
        stream=streams.EVENTS.name,
        durable="probe",
        filter_subjects=(SUBJECT,),
        ack_wait=timedelta(seconds=ack_wait_s),
    )
    await ensure_consumer(js, spec)

    async def bind() -> JetStreamContext.PullSubscription:
        return await js.pull_subscribe_bind(durable="probe", stream=streams.EVENTS.name)

    return bind


async def until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


async def pending(js: JetStreamContext) -> tuple[int, int]:
    info = await js.consumer_info(streams.EVENTS.name, "probe")
    return info.num_pending, info.num_ack_pending


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[bytes, int]] = []
        self.letters: list[tuple[Delivery, str]] = []

    async def dead_letter(self, delivery: Delivery, reason: str) -> None:
        self.letters.append((delivery, reason))


async def running(consumer: PullConsumer) -> asyncio.Task[None]:
    return asyncio.create_task(consumer.run())


async def test_a_handled_message_is_acked_and_a_failing_one_retried_then_dead_lettered(
    js: JetStreamContext,
) -> None:
    record = Recorder()

    async def handle(delivery: Delivery) -> None:
        record.calls.append((delivery.data, delivery.deliveries))
        if delivery.data == b"bad":
            raise RuntimeError("storage said no")

    consumer = PullConsumer(
        "probe", await bound(js), handle, record.dead_letter, ConsumerPolicy(max_deliver=3, retry_base_s=0.01)
    )
    task = await running(consumer)
    await js.publish(SUBJECT, b"good")
    await js.publish(SUBJECT, b"bad")
    await until(lambda: len(record.letters) == 1)
    consumer.close()
    await task
    assert sorted(record.calls) == [(b"bad", 1), (b"bad", 2), (b"bad", 3), (b"good", 1)]
    [(letter, reason)] = record.letters
    assert (letter.data, reason) == (b"bad", "RuntimeError: storage said no")
    await until_settled(js)


async def until_settled(js: JetStreamContext) -> None:
    deadline = time.monotonic() + 5
    while await pending(js) != (0, 0):
        assert time.monotonic() < deadline, await pending(js)
        await asyncio.sleep(0.02)


async def test_a_permanent_failure_is_dead_lettered_on_the_first_delivery(js: JetStreamContext) -> None:
    record = Recorder()

    async def handle(delivery: Delivery) -> None:
        raise Permanent("not JSON")

    consumer = PullConsumer(
        "probe", await bound(js), handle, record.dead_letter, ConsumerPolicy(max_deliver=5)
    )
    task = await running(consumer)
    await js.publish(SUBJECT, b"{")
    await until(lambda: len(record.letters) == 1)
    consumer.close()
    await task
    assert [(d.deliveries, reason) for d, reason in record.letters] == [(1, "not JSON")]
    await until_settled(js)


async def test_an_outage_pauses_without_using_up_deliveries(js: JetStreamContext) -> None:
    """Redis 'down' for many attempts: the handler is retried in place once healthy, still on delivery 1."""
    record = Recorder()
    down = True
    attempts = 0

    async def handle(delivery: Delivery) -> None:
        nonlocal attempts
        attempts += 1
        if down:
            raise RedisConnectionError("Connection refused")
        record.calls.append((delivery.data, delivery.deliveries))

    async def healthy() -> bool:
        return not down

    consumer = PullConsumer(
        "probe",
        await bound(js),
        handle,
        record.dead_letter,
        ConsumerPolicy(max_deliver=2, retry_base_s=0.01, outage_probe_s=0.02),
        healthy=healthy,
    )
    task = await running(consumer)
    await js.publish(SUBJECT, b"one")
    await until(lambda: consumer.paused)
    await js.publish(SUBJECT, b"two")  # not pulled while paused
    await asyncio.sleep(0)
    assert consumer.in_flight == 1
    down = False
    await until(lambda: len(record.calls) == 2)
    consumer.close()
    await task
    assert sorted(record.calls) == [(b"one", 1), (b"two", 1)]
    assert record.letters == []
    assert consumer.outages == 1
    assert attempts == 3
    await until_settled(js)


async def test_a_slow_handler_is_kept_alive_past_the_ack_wait(js: JetStreamContext) -> None:
    record = Recorder()
    release = asyncio.Event()

    async def handle(delivery: Delivery) -> None:
        record.calls.append((delivery.data, delivery.deliveries))
        await release.wait()

    consumer = PullConsumer(
        "probe", await bound(js, ack_wait_s=1.0), handle, record.dead_letter, ConsumerPolicy(keep_alive_s=0.3)
    )
    task = await running(consumer)
    await js.publish(SUBJECT, b"slow")
    await until(lambda: len(record.calls) == 1)
    deadline = time.monotonic() + 2.5  # well past the 1 s ack wait
    while time.monotonic() < deadline:
        assert len(record.calls) == 1, "redelivered while still being handled"
        await asyncio.sleep(0.05)
    release.set()
    await until_settled(js)
    consumer.close()
    await task


async def test_stop_hands_unfinished_messages_back_at_once(js: JetStreamContext) -> None:
    record = Recorder()
    seen = asyncio.Event()

    async def handle(delivery: Delivery) -> None:
        record.calls.append((delivery.data, delivery.deliveries))
        seen.set()
        await asyncio.Event().wait()  # never finishes by itself

    consumer = PullConsumer("probe", await bound(js), handle, record.dead_letter, ConsumerPolicy())
    task = await running(consumer)
    await js.publish(SUBJECT, b"held")
    await seen.wait()
    await consumer.stop(grace_s=0.05)
    await task
    assert consumer.in_flight == 0

    redelivered: list[int] = []

    async def take(delivery: Delivery) -> None:
        redelivered.append(delivery.deliveries)

    again = PullConsumer("probe", await bound(js), take, record.dead_letter, ConsumerPolicy())
    task = await running(again)
    await until(lambda: redelivered == [2], timeout=3.0)  # at once, not after the 30 s ack wait
    again.close()
    await task


async def test_in_flight_is_bounded(js: JetStreamContext) -> None:
    record = Recorder()
    release = asyncio.Event()

    async def handle(delivery: Delivery) -> None:
        record.calls.append((delivery.data, delivery.deliveries))
        await release.wait()

    consumer = PullConsumer(
        "probe", await bound(js), handle, record.dead_letter, ConsumerPolicy(max_in_flight=3, batch=2)
    )
    task = await running(consumer)
    for n in range(10):
        await js.publish(SUBJECT, str(n).encode())
    await until(lambda: consumer.in_flight == 3)
    await asyncio.sleep(0.2)
    assert consumer.in_flight == 3
    assert len(record.calls) == 3
    release.set()
    await until(lambda: len(record.calls) == 10)
    consumer.close()
    await task


def test_outages_are_told_apart_from_failures_even_when_wrapped() -> None:
    wrapped = RuntimeError("saving the tag failed")
    wrapped.__cause__ = RedisConnectionError("refused")
    assert is_outage(wrapped)
    assert not is_outage(ValueError("bad input"))
    assert not is_outage(Permanent("bad payload"))


class FakeMsg:
    """Only what `Delivery` reads: the metadata of a JetStream message."""

    def __init__(self, data: bytes) -> None:
        from datetime import UTC, datetime
        from types import SimpleNamespace

        self.subject = SUBJECT
        self.data = data
        self.headers = {"Nats-Msg-Id": "m1"}
        self.metadata = SimpleNamespace(
            num_delivered=2, sequence=SimpleNamespace(stream=7), timestamp=datetime.now(UTC)
        )


def test_a_dead_letter_always_fits_and_keeps_the_hash() -> None:
    huge = Delivery(FakeMsg(b"x" * 950_000))  # type: ignore[arg-type]
    letter = dead_letter_of("probe", huge, "too big")
    assert len(letter.payload) == MAX_DEAD_LETTER_PAYLOAD
    assert letter.truncated
    assert letter.payload_bytes == 950_000
    assert letter.payload_sha256 is not None
    assert len(letter.model_dump_json()) < 1024 * 1024
    secret = dead_letter_of("probe", Delivery(FakeMsg(b'{"body":"pw hunter2"}')), "failed", redact=True)  # type: ignore[arg-type]
    assert secret.redacted
    assert secret.payload == ""
    assert "hunter2" not in secret.model_dump_json()
