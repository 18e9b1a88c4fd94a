"""Outages are pauses: with the gateway on the simulated world and a real service answering (examples/dingdong), a
60-second Redis outage and a 60-second NATS outage (each server killed and restarted on its port and data) lose no
event and send no reply twice. Members keep writing before, during and after the outage.

`QUNBUS_OUTAGE_S` shortens the outage for a quick local run; the default is the 60 s the aim names.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from examples.dingdong.app import service as dingdong
from schemas import DeadLettered
from services.shared import QunService, Runtime
from services.simulator.world import SimulatorWorld
from tests.conftest import Bus
from tools.servers import Server, start_nats, start_redis

from .test_app import FAST, Chat, eventually

OUTAGE_S = float(os.environ.get("QUNBUS_OUTAGE_S", "60"))

pytestmark = [pytest.mark.slow, pytest.mark.timeout(OUTAGE_S * 2 + 180)]


@asynccontextmanager
async def running(
    service: QunService[Any, Any], nats_url: str, redis_url: str, **overrides: Any
) -> AsyncIterator[Runtime[Any, Any]]:
    settings = service.settings_type(nats_url=nats_url, redis_url=redis_url, **overrides)
    runtime = service.runtime(settings)
    runtime.retry_base_s = 0.2
    async with runtime:
        yield runtime


class Members:
    """Contacts who each write `ding` to the bot once, one every `every_s`, until stopped."""

    def __init__(self, world: SimulatorWorld, every_s: float = 1.0) -> None:
        self.world = world
        self.every_s = every_s
        self.ids: list[str] = []
        self._task: asyncio.Task[None] | None = None

    async def _write(self) -> None:
        while True:
            person = self.world.add_contact(f"member{len(self.ids)}")
            self.ids.append(person.id)
            self.world.direct_message(person.id, "ding")
            await asyncio.sleep(self.every_s)

    def start(self) -> None:
        self._task = asyncio.create_task(self._write())

    async def stop(self) -> None:
        assert self._task is not None
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)

    def dongs(self) -> dict[str, int]:
        counts = dict.fromkeys(self.ids, 0)
        for message in self.world.bot_sent():
            if message.text == "dong" and message.to_id in counts:
                counts[message.to_id] += 1
        return counts


async def ride_out(
    members: Members, stop_server: Callable[[], None], start_server: Callable[[], Any]
) -> None:
    members.start()
    await eventually(lambda: sum(members.dongs().values()) >= 3, timeout=30)  # the stack answers before
    stop_server()
    await asyncio.sleep(OUTAGE_S)  # the outage's length is what is tested, not a synchronisation
    await start_server()
    await asyncio.sleep(5)  # members keep writing after it is back
    await members.stop()
    await eventually(lambda: all(count >= 1 for count in members.dongs().values()), timeout=120)


async def test_a_redis_outage_loses_no_event_and_doubles_no_reply(
    bus: Bus, nats_url: str, tmp_path: Path
) -> None:
    redis_dir = tmp_path / "redis-aof"
    redis: list[Server] = [await start_redis(redis_dir, persistent=True)]
    chat = Chat()
    members = Members(chat.world)

    async def restart() -> None:
        redis[0] = await start_redis(redis_dir, redis[0].port, persistent=True)

    try:
        async with AsyncExitStack() as stack:
            gateway = await stack.enter_async_context(running(chat.service(), nats_url, redis[0].url, **FAST))
            await stack.enter_async_context(running(dingdong, nats_url, redis[0].url))
            await ride_out(members, redis[0].kill, restart)
            await asyncio.sleep(2)  # a double would show up now
            consumer = gateway.context.deps.commands.consumer
            assert consumer is not None
            assert consumer.outages >= 1  # sending paused while Redis was away
    finally:
        redis[0].stop()

    counts = members.dongs()
    print(f"redis outage {OUTAGE_S:.0f} s: {len(counts)} members wrote, {sum(counts.values())} replies")
    assert len(counts) >= OUTAGE_S  # members wrote during the outage too
    assert set(counts.values()) == {1}, {who: n for who, n in counts.items() if n != 1}
    assert bus.matching("qun.dlq.>", DeadLettered) == []


async def test_a_nats_outage_loses_no_event_and_doubles_no_reply(
    bus: Bus, nats_server: Server, redis_url: str, tmp_path: Path
) -> None:
    chat = Chat()
    members = Members(chat.world)
    restarted: list[Server] = []

    async def restart() -> None:
        restarted.append(await start_nats(tmp_path / "jetstream", nats_server.port))

    try:
        async with AsyncExitStack() as stack:
            await stack.enter_async_context(running(chat.service(), nats_server.url, redis_url, **FAST))
            await stack.enter_async_context(running(dingdong, nats_server.url, redis_url))
            await ride_out(members, nats_server.kill, restart)
            await asyncio.sleep(2)
    finally:
        for server in restarted:
            server.stop()

    counts = members.dongs()
    print(f"nats outage {OUTAGE_S:.0f} s: {len(counts)} members wrote, {sum(counts.values())} replies")
    assert len(counts) >= OUTAGE_S
    assert set(counts.values()) == {1}, {who: n for who, n in counts.items() if n != 1}
    assert bus.matching("qun.dlq.>", DeadLettered) == []
