"""The admin panel's bus monitor against a real nats-server (tests/conftest.py)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

import nats
import pytest
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg

from schemas import SayText, subjects
from schemas.deadletter import DeadLettered
from schemas.registry import GatewayStatus, ServiceInfo
from services.simulator.admin import BusMonitor, summarize
from tests.conftest import Bus
from tests.factories import BOT, message


@pytest.fixture
async def connection(nats_url: str) -> AsyncIterator[NatsClient]:
    client = await nats.connect(nats_url)
    yield client
    await client.close()


@pytest.fixture
async def monitor(connection: NatsClient) -> AsyncIterator[BusMonitor]:
    watcher = BusMonitor(connection, BOT)
    await watcher.start()
    yield watcher
    await watcher.stop()


async def until(condition: Callable[[], object], timeout: float = 5.0) -> None:
    """Poll `condition()` until true or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        if condition():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"still false after {timeout}s")
        await asyncio.sleep(0.01)


async def test_recent_events_commands_and_dead_letters(monitor: BusMonitor, bus: Bus) -> None:
    await bus.publish_event(message("help"))
    say = SayText(room_id="room1@chatroom", text="可用命令\n标记")
    await bus.publish_raw(subjects.command(BOT, SayText), say.model_dump_json().encode(), say.id)
    letter = DeadLettered(
        service="tagger",
        subject=subjects.event(BOT, type(message("x"))),
        payload="{}",
        error="boom",
        deliveries=5,
        failed_at=datetime.now(UTC),
    )
    await bus.publish_raw(subjects.dead_letter("tagger"), letter.model_dump_json().encode(), "dl-1")
    await until(lambda: monitor.events and monitor.commands and monitor.dead_letters)
    (event,) = monitor.events
    assert event["subject"] == f"qun.evt.{BOT}.message"
    assert event["summary"] == "Alice: @QunBot help"
    (command,) = monitor.commands
    assert command["summary"] == "可用命令 ⏎ 标记"
    (dead,) = monitor.dead_letters
    assert (dead["service"], dead["deliveries"], dead["error"]) == ("tagger", 5, "boom")
    snapshot = await monitor.snapshot()
    assert snapshot["events"] == [event]
    assert snapshot["dead_letters"] == [dead]
    assert snapshot["outbound"] == {"gateway": "no answer"}


async def test_services_and_gateway_status(monitor: BusMonitor, connection: NatsClient) -> None:
    assert await monitor.services() == []
    assert await monitor.outbound() == {"gateway": "no answer"}

    async def answer_discover(request: Msg) -> None:
        for instance in ("tagger-1", "tagger-2"):
            info = ServiceInfo(name="tagger", version="0.1.0", instance=instance)
            await connection.publish(request.reply, info.model_dump_json().encode())

    async def answer_status(request: Msg) -> None:
        status = GatewayStatus(
            bot_id=BOT, logged_in=True, rooms=2, outbound_queue={"room1@chatroom": 3}, rate_limit_waits=4
        )
        await connection.publish(request.reply, status.model_dump_json().encode())

    await connection.subscribe(subjects.DISCOVER, cb=answer_discover)
    await connection.subscribe(subjects.gateway_status(BOT), cb=answer_status)
    assert await monitor.services() == [{"name": "tagger", "version": "0.1.0", "instances": 2}]
    outbound = await monitor.outbound()
    assert (outbound["logged_in"], outbound["queued"], outbound["rate_limit_waits"]) == (True, 3, 4)
    assert outbound["queue room1@chatroom"] == 3


def test_summaries_are_one_short_line() -> None:
    assert summarize(b"not json") == "not json"
    assert summarize(b'{"id": "1", "room_id": "r"}') == '{"room_id": "r"}'
    long = summarize(('{"text": "' + "字" * 200 + '"}').encode())
    assert len(long) == 80
    assert long.endswith("…")
