"""Faults (issue: reliability): services die, servers restart, a cluster node goes away — nothing is lost."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import nats
import pytest
from nats.js.api import StreamConfig
from nats.js.client import JetStreamContext

from examples.dingdong.app import service as dingdong
from schemas import Contact, MessageReceived, Quote, SayText, streams, subjects
from schemas.streams import ConsumerSpec
from services.moderator.app import service as moderator
from services.scheduler.app import service as scheduler
from services.shared import QunService, Runtime
from services.shared.provision import ensure_consumer, ensure_streams
from services.tagger.app import service as tagger
from tests.conftest import GENEROUS_QUOTA_ENV, Bus
from tests.factories import ALICE, BOB, message
from tools.servers import Server, child_env, free_port, start_nats, start_redis

ROOT = Path(__file__).resolve().parents[2]


def runtime_on(service: QunService[Any, Any], nats_url: str, redis_url: str) -> Runtime[Any, Any]:
    runtime = service.runtime(service.settings_type(nats_url=nats_url, redis_url=redis_url))
    runtime.retry_base_s = 0.05
    return runtime


def dingdong_consumer() -> ConsumerSpec:
    spec = dingdong.consumer(ack_wait_s=1)  # a killed replica's unacked messages come back after a second
    assert spec is not None
    return spec


def start_dingdong(nats_url: str, redis_url: str, log: Path) -> subprocess.Popen[bytes]:
    env = child_env(
        NATS_URL=nats_url,
        REDIS_URL=redis_url,
        HTTP_PORT=str(free_port()),
        QUN_ACK_WAIT_S="1",  # a killed replica's unacked messages come back after a second
        QUN_LOG_LEVEL="WARNING",
        **GENEROUS_QUOTA_ENV,
    )
    with log.open("ab") as output:  # the child keeps its own handle; a failing test shows the tail
        return subprocess.Popen(
            [sys.executable, "-m", "examples.dingdong"], cwd=ROOT, env=env, stdout=output, stderr=output
        )


def tail(log: Path, lines: int = 30) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:]) if log.exists() else "(no log)"


async def stored_replies(bus: Bus) -> list[SayText]:
    """Every SayText stored in QUN_CMD: what a gateway would send."""
    consumer = await bus.js.pull_subscribe("qun.cmd.>", durable="audit", stream=streams.COMMANDS.name)
    found: list[SayText] = []
    while True:
        try:
            batch = await consumer.fetch(500, timeout=0.5)
        except TimeoutError:
            return found
        found += [SayText.model_validate_json(m.data) for m in batch]


async def until(condition: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


@pytest.mark.slow
@pytest.mark.timeout(120)
async def test_kill_9_mid_stream_loses_nothing_and_sends_nothing_twice(
    bus: Bus, nats_url: str, redis_url: str, tmp_path: Path
) -> None:
    events = [message("ding", room=None, id=f"kill-{n}") for n in range(1000)]
    await ensure_consumer(bus.js, dingdong_consumer())  # provisioned before the service, as in production
    service = start_dingdong(nats_url, redis_url, tmp_path / "dingdong.log")
    try:
        for event in events[:50]:
            await bus.publish_event(event)
        await bus.says(count=50, timeout=30)  # the service is up and answering
        flowing = asyncio.create_task(_publish_all(bus, events[50:]))
        await until(lambda: len(bus.matching("qun.cmd.*.say")) >= 300, 30, "300 replies")
        service.kill()  # SIGKILL while events are flowing
        service.wait()
        await flowing
        service = start_dingdong(nats_url, redis_url, tmp_path / "dingdong.log")

        def answered() -> int:
            return len({r.reply_to for r in bus.matching("qun.cmd.*.say", SayText)})

        await until(lambda: answered() == 1000, 60, "every event answered")
    finally:
        service.kill()
        service.wait()
    stored = await stored_replies(bus)
    assert sorted(str(r.reply_to) for r in stored) == sorted(e.id for e in events)  # each once, none twice


async def _publish_all(bus: Bus, events: list[MessageReceived]) -> None:
    for event in events:
        await bus.publish_event(event)


@pytest.mark.slow
@pytest.mark.timeout(120)
async def test_a_three_node_cluster_loses_nothing_when_a_node_dies(tmp_path: Path, redis_url: str) -> None:
    ports = [free_port() for _ in range(3)]
    routes = ",".join(f"nats://127.0.0.1:{port}" for port in ports)
    nodes: list[Server] = []
    for index, port in enumerate(ports):
        extra = [
            "--cluster_name",
            "qun",
            "--cluster",
            f"nats://127.0.0.1:{port}",
            "--routes",
            routes,
            "-n",
            f"n{index}",
        ]
        nodes.append(await start_nats(tmp_path / f"n{index}", extra=extra))
    urls = ",".join(node.url for node in nodes)
    connection = await nats.connect([node.url for node in nodes])
    service = None
    try:
        js = connection.jetstream()
        await _until_cluster_ready(js)
        await ensure_streams(js, replicas=3)
        info = await js.stream_info(streams.EVENTS.name)
        assert info.config.num_replicas == 3
        await ensure_consumer(js, dingdong_consumer())
        service = start_dingdong(urls, redis_url, tmp_path / "dingdong.log")
        events = [message("ding", room=None, id=f"cluster-{n}") for n in range(300)]
        for event in events[:100]:
            await _publish_retrying(js, event)
        leader = (await js.stream_info(streams.EVENTS.name)).cluster.leader  # type: ignore[union-attr]
        victim = next(node for index, node in enumerate(nodes) if f"n{index}" == leader)
        victim.kill()  # the stream leader dies mid-stream
        for event in events[100:]:
            await _publish_retrying(js, event)
        # What JetStream stored is what a gateway would send: audit the stream, not a core subscription that
        # misses whatever is published while this test's own connection fails over.
        await _until_all_answered(js, {event.id for event in events}, 90, service, tmp_path / "dingdong.log")
    finally:
        if service:
            service.kill()
            service.wait()
        await connection.close()
        for node in nodes:
            node.stop()


async def _until_all_answered(
    js: JetStreamContext, wanted: set[str], timeout: float, service: subprocess.Popen[bytes], log: Path
) -> None:
    """Read QUN_CMD message by message (no consumer whose leader could be the node that died)."""
    answered: set[str] = set()
    next_sequence = 1
    deadline = time.monotonic() + timeout
    while not answered >= wanted:
        assert service.poll() is None, f"the service exited with {service.returncode}:\n{tail(log)}"
        assert time.monotonic() < deadline, (
            f"{len(wanted - answered)} of {len(wanted)} events never answered; service log:\n{tail(log)}"
        )
        try:
            last = (await js.stream_info(streams.COMMANDS.name)).state.last_seq
            while next_sequence <= last:
                stored = await js.get_msg(streams.COMMANDS.name, next_sequence)
                answered.add(str(SayText.model_validate_json(stored.data or b"").reply_to))
                next_sequence += 1
        except Exception:  # the cluster is electing a leader: ask again
            await asyncio.sleep(0.2)
        else:
            await asyncio.sleep(0.05)  # the service is still answering


async def _until_cluster_ready(js: JetStreamContext) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            await js.add_stream(StreamConfig(name="PROBE", subjects=["probe.>"], num_replicas=3))
        except Exception:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)
        else:
            await js.delete_stream("PROBE")
            return


async def _publish_retrying(js: JetStreamContext, event: MessageReceived) -> None:
    """A gateway retries a publish while the cluster elects a new leader (same Nats-Msg-Id: stored once)."""
    deadline = time.monotonic() + 20
    subject, data = subjects.event(event.bot_id, MessageReceived), event.model_dump_json().encode()
    while True:
        try:
            await js.publish(subject, data, headers={"Nats-Msg-Id": event.id}, timeout=1)
        except Exception:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.1)
        else:
            return


@pytest.mark.slow
@pytest.mark.timeout(120)
async def test_a_redis_restart_loses_no_tag_reminder_or_vote(bus: Bus, nats_url: str, tmp_path: Path) -> None:
    redis = await start_redis(tmp_path / "redis", persistent=True)
    services: list[QunService[Any, Any]] = [tagger, scheduler, moderator]
    runtimes = [runtime_on(service, nats_url, redis.url) for service in services]
    carol = Contact(id="carol", name="Carol")
    try:
        for runtime in runtimes:
            await runtime.start()
        await bus.publish_event(
            message("标记 #周会", quote=Quote(talker_name="Bob", text="周会改到周四晚上八点"))
        )
        await bus.publish_event(message("提醒 明天上午9点 交周报"))
        await bus.publish_event(message("踢", talker=BOB, mention_ids=["bot", carol.id]))
        await bus.says(lambda r: "1/3" in r.text)
        await bus.says(count=3)

        redis.kill()  # SIGKILL: only what the append-only file holds survives
        redis = await start_redis(tmp_path / "redis", redis.port, persistent=True)

        await bus.publish_event(message("问 周会是什么时候", talker=BOB))
        await bus.publish_event(message("提醒列表", talker=BOB))
        await bus.publish_event(message("踢", talker=ALICE, mention_ids=["bot", carol.id]))
        await bus.says(lambda r: "周四晚上八点" in r.text, timeout=20)
        await bus.says(lambda r: "交周报" in r.text and r.reply_to is not None, count=2, timeout=20)
        await bus.says(lambda r: "2/3" in r.text, timeout=20)
    finally:
        for runtime in runtimes:
            await runtime.stop()
        redis.stop()
