"""How fast one in-process tagger drains ordinary chat (no @bot, no command): the path most events take.

    python -m tools.tagger_drain_bench [N_EVENTS] [--tags N] [--questions] [--profile]

Starts a real nats-server and redis-server, publishes a backlog of N chat events (tools/bench.py `chat_event`, the
one `make bench` uses; with `--questions` every fourth ends in a question mark, so the auto-answer check runs),
then starts the tagger (with `--tags N`, after storing N synthetic tags in another room, as `make bench` leaves
them) and times how long its consumer takes to drain them. Publishing before the service starts keeps the publisher's CPU out of the number.
`--profile` prints the cProfile top functions of the drain. A development tool: it imports tools.servers.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import nats
from pydantic import SecretStr
from redis.asyncio import Redis

from services.shared.provision import ensure_consumer, ensure_streams
from services.tagger.app import service
from services.tagger.bench import synthetic_room
from services.tagger.settings import TaggerSettings
from services.tagger.store import NewTag, TagStore

QUESTION_SHARE = 4  # every 4th message ends in a question mark, as real chat does


async def _wait_drained(js: nats.js.JetStreamContext, durable: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = await js.consumer_info("QUN_EVT", durable)
        if info.num_pending == 0 and info.num_ack_pending == 0:
            return
        await asyncio.sleep(0.01)
    raise TimeoutError(f"{durable} did not drain in {timeout}s")


async def drain_rate(
    n_events: int, *, tags: int = 0, questions: bool = False, profile: bool = False
) -> tuple[float, float]:
    """(events per wall-clock second, events per CPU second of this process: steadier on a shared machine)."""
    from tools.bench import chat_event, publish_event  # noqa: PLC0415 - development tooling only
    from tools.servers import start_nats, start_redis  # noqa: PLC0415

    with tempfile.TemporaryDirectory() as tmp:
        nats_server = await start_nats(Path(tmp) / "js")
        redis_server = await start_redis(Path(tmp) / "redis")
        connection = await nats.connect(nats_server.url)
        try:
            js = connection.jetstream()
            await ensure_streams(js)
            spec = service.consumer()
            assert spec is not None
            await ensure_consumer(js, spec)
            for start in range(0, n_events, 500):
                batch = []
                for n in range(start, min(n_events, start + 500)):
                    event = chat_event(n)
                    if questions and n % QUESTION_SHARE == 0:
                        event = event.model_copy(update={"body": event.body + "?", "text": event.text + "?"})
                    batch.append(event)
                await asyncio.gather(*(publish_event(js, event) for event in batch))
            if tags:
                await _seed(redis_server.url, tags)
            settings = TaggerSettings(nats_url=nats_server.url, redis_url=SecretStr(redis_server.url))
            profiler = cProfile.Profile() if profile else None
            async with service.runtime(settings):
                started, cpu_started = time.perf_counter(), time.process_time()
                if profiler:
                    profiler.enable()
                await _wait_drained(js, spec.durable, timeout=300)
                elapsed = time.perf_counter() - started
                cpu = time.process_time() - cpu_started
                if profiler:
                    profiler.disable()
            if profiler:
                pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
            return n_events / elapsed, n_events / cpu
        finally:
            await connection.close()
            redis_server.stop()
            nats_server.stop()


async def _seed(redis_url: str, n_tags: int) -> None:
    redis = Redis.from_url(redis_url, decode_responses=True)
    store, now = TagStore(redis), datetime.now(UTC)
    docs, _ = synthetic_room(n_tags)
    for start in range(0, len(docs), 50):
        await asyncio.gather(
            *(
                store.save(
                    "bench@chatroom",
                    NewTag(doc.text, "bench", "bench@chatroom", None, "bench", doc.keywords),
                    now,
                )
                for doc in docs[start : start + 50]
            )
        )
    await redis.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("events", nargs="?", type=int, default=10_000)
    parser.add_argument("--tags", type=int, default=0, help="synthetic tags stored in another room first")
    parser.add_argument("--questions", action="store_true", help="every fourth message ends in '?'")
    parser.add_argument("--profile", action="store_true", help="print cProfile's top functions")
    args = parser.parse_args()
    n_events = args.events
    rate, per_cpu = asyncio.run(
        drain_rate(n_events, tags=args.tags, questions=args.questions, profile=args.profile)
    )
    print(f"tagger drained {n_events} chat events: {rate:,.0f} events/s ({per_cpu:,.0f} per CPU second)")


if __name__ == "__main__":
    main()
