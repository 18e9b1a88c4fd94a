"""FastStream's JetStream pull subscriber against qunbus's own pull loop (`services.shared.consumer.PullConsumer`).

    python -m tools.faststream_compare [--messages 20000] [--rounds 3]

A local nats-server (JetStream) holds N `MessageReceived` events as the gateway publishes them; each variant drains
all of them through a durable pull consumer of its own, acking each, and the time from start until the consumer
has nothing pending or unacknowledged is measured (best of `--rounds`, the rounds interleaved):

- FastStream 0.7.8 `PullSub(batch_size=64)` with a typed handler (`event: MessageReceived`: JSON decoding and
  pydantic validation through its dependency injection), and with a raw one (`apply_types=False`, a decoder
  that hands over the bytes: no decoding, no DI);
- `PullConsumer` (batch 64, at most 256 in flight) with the dispatcher's decoding (`decode_json` +
  `model_validate`), and with a handler that does nothing;
- both again with 1 message in 100 taking 50 ms (a slow Redis call, a paced send): FastStream fetches the next
  batch only when the whole batch has finished; PullConsumer refills its window as messages finish.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import nats
from faststream.nats import JStream, NatsBroker, NatsMessage, PullSub
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from schemas import Contact, MessageReceived, Room, streams, subjects
from services.shared.consumer import ConsumerPolicy, Delivery, PullConsumer
from services.shared.dispatch import decode_json
from services.shared.provision import ensure_streams
from tools.servers import start_nats

BOT = "bench"
BATCH = 64
SLOW_EVERY = 100
SLOW_S = 0.05
DEADLINE_S = 300.0


@dataclass(frozen=True)
class Variant:
    name: str
    run: Callable[[str, str, int, bool], Awaitable[None]]
    """(nats url, durable, messages, slow) -> returns once its handler saw every message."""
    slow: bool = False


class Counter:
    def __init__(self, expected: int, slow: bool) -> None:
        self.expected = expected
        self.slow = slow
        self.seen = 0
        self.done = asyncio.Event()

    async def count(self) -> None:
        self.seen += 1
        if self.slow and self.seen % SLOW_EVERY == 0:
            await asyncio.sleep(SLOW_S)
        if self.seen >= self.expected:
            self.done.set()


def event(index: int) -> bytes:
    return (
        MessageReceived(
            id=f"m{index}",
            bot_id=BOT,
            timestamp=datetime.now(UTC),
            talker=Contact(id=f"wxid_member{index % 40}", name=f"Member {index % 40}"),
            room=Room(id=f"{index % 50}@chatroom", topic="开源交流群"),
            text=f"今天的周会改到下午三点，记得带上第 {index} 号文档",
            body=f"今天的周会改到下午三点，记得带上第 {index} 号文档",
        )
        .model_dump_json()
        .encode()
    )


async def fill(url: str, count: int) -> None:
    connection = await nats.connect(url)
    try:
        await ensure_streams(connection.jetstream())
        subject = subjects.event(BOT, MessageReceived)
        headers = {"content-type": "application/json"}
        for index in range(count):
            await connection.publish(subject, event(index), headers=headers)
            if index % 1000 == 999:
                await connection.flush()
        await connection.flush()
        js = connection.jetstream()
        for _ in range(200):  # flushed: the server has them; the stream stores them a moment later
            if (await js.stream_info(streams.EVENTS.name)).state.messages >= count:
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"the stream did not store {count} messages")
    finally:
        await connection.close()


async def add_consumer(url: str, durable: str) -> None:
    connection = await nats.connect(url)
    try:
        await connection.jetstream().add_consumer(
            streams.EVENTS.name,
            ConsumerConfig(
                durable_name=durable,
                filter_subject=f"{subjects.EVENTS}.*.message",
                ack_policy=AckPolicy.EXPLICIT,
                deliver_policy=DeliverPolicy.ALL,
                max_ack_pending=10_000,
                ack_wait=30.0,
            ),
        )
    finally:
        await connection.close()


async def settled(url: str, durable: str, count: int) -> None:
    connection = await nats.connect(url)
    try:
        js = connection.jetstream()
        while True:
            info = await js.consumer_info(streams.EVENTS.name, durable)
            if info.num_pending == 0 and info.num_ack_pending == 0 and info.ack_floor.stream_seq >= count:
                return
            await asyncio.sleep(0.005)
    finally:
        await connection.close()


# -- FastStream --------------------------------------------------------------------------------------------------


async def _raw_body(message: NatsMessage) -> Any:
    return message.body


def faststream(
    typed: bool, batch: int = BATCH, workers: int | None = None
) -> Callable[[str, str, int, bool], Awaitable[None]]:
    async def run(url: str, durable: str, count: int, slow: bool) -> None:
        counter = Counter(count, slow)
        broker = NatsBroker(url, apply_types=typed, logger=None)
        subscriber = broker.subscriber(
            f"{subjects.EVENTS}.*.message",
            stream=JStream(name=streams.EVENTS.name, declare=False),
            durable=durable,
            pull_sub=PullSub(batch_size=batch, timeout=1.0),
            decoder=None if typed else _raw_body,
            max_workers=workers,
        )
        if typed:

            @subscriber
            async def typed_handler(event: MessageReceived) -> None:
                await counter.count()

        else:

            @subscriber
            async def raw_handler(body: bytes) -> None:
                await counter.count()

        await broker.start()
        try:
            await asyncio.wait_for(counter.done.wait(), DEADLINE_S)
            await settled(url, durable, count)
        finally:
            await broker.stop()

    return run


# -- PullConsumer ------------------------------------------------------------------------------------------------


def pull_consumer(typed: bool) -> Callable[[str, str, int, bool], Awaitable[None]]:
    async def run(url: str, durable: str, count: int, slow: bool) -> None:
        counter = Counter(count, slow)
        connection = await nats.connect(url)
        js = connection.jetstream()

        async def bind() -> Any:
            return await js.pull_subscribe_bind(durable=durable, stream=streams.EVENTS.name)

        async def handle(delivery: Delivery) -> None:
            if typed:
                MessageReceived.model_validate(decode_json(delivery.data))
            await counter.count()

        async def dead_letter(delivery: Delivery, reason: str) -> None:
            raise AssertionError(f"{delivery.subject}: {reason}")

        consumer = PullConsumer(durable, bind, handle, dead_letter, ConsumerPolicy(batch=BATCH))
        task = asyncio.create_task(consumer.run())
        try:
            await asyncio.wait_for(counter.done.wait(), DEADLINE_S)
            await settled(url, durable, count)
        finally:
            await consumer.stop(grace_s=1.0)
            await task
            await connection.close()

    return run


VARIANTS = (
    Variant("FastStream PullSub, typed (decode + DI)", faststream(typed=True)),
    Variant("FastStream PullSub, raw (no decode, no DI)", faststream(typed=False)),
    Variant("PullConsumer, typed (decode + validate)", pull_consumer(typed=True)),
    Variant("PullConsumer, raw", pull_consumer(typed=False)),
    Variant("FastStream PullSub(256), raw", faststream(typed=False, batch=256)),
    Variant("FastStream PullSub, max_workers=256, raw", faststream(typed=False, workers=256)),
    Variant("FastStream PullSub, raw, 1% slow (50 ms)", faststream(typed=False), slow=True),
    Variant("FastStream PullSub, max_workers=256, 1% slow", faststream(typed=False, workers=256), slow=True),
    Variant("PullConsumer, raw, 1% slow (50 ms)", pull_consumer(typed=False), slow=True),
)


async def measure(messages: int, rounds: int) -> dict[str, list[float]]:
    results: dict[str, list[float]] = {variant.name: [] for variant in VARIANTS}
    with tempfile.TemporaryDirectory(prefix="qunbus-fs-compare-") as tmp:
        server = await start_nats(Path(tmp) / "js")
        try:
            await fill(server.url, messages)
            for round_number in range(rounds):
                for index, variant in enumerate(VARIANTS):
                    durable = f"bench-{round_number}-{index}"
                    await add_consumer(server.url, durable)
                    started = time.perf_counter()
                    await variant.run(server.url, durable, messages, variant.slow)
                    results[variant.name].append(messages / (time.perf_counter() - started))
        finally:
            server.stop()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    results = asyncio.run(measure(args.messages, args.rounds))
    print(
        f"{args.messages:,} messages, drained and acked; messages/s, best and median of {args.rounds} rounds"
    )
    for name, rates in results.items():
        print(f"{name:<46} best {max(rates):>8,.0f}   median {statistics.median(rates):>8,.0f}")


if __name__ == "__main__":
    main()
