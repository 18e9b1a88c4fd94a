"""The command side of whole gateways over real NATS and Redis on the simulated world: restarts and a second process
get no extra budget, one process sends at a time, stale commands are dropped, the status tells all."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from prometheus_client import REGISTRY

from schemas import Command, GatewayStatus, SayText, subjects
from services.gateway.app import make_service
from services.gateway.gateway import Gateway
from services.gateway.settings import GatewaySettings
from services.shared import Runtime
from services.simulator.puppet import SimulatorPuppet
from tests.conftest import Bus, RunService

from .test_app import BOT, FAST, Chat, eventually, sent_texts


@asynccontextmanager
async def gateway(chat: Chat, run_service: RunService, **settings: Any) -> AsyncIterator[Gateway]:
    """One gateway process (its own puppet on the shared world), logged in; not necessarily the sender."""

    @asynccontextmanager
    async def own_puppet(_: GatewaySettings) -> AsyncIterator[Any]:
        yield SimulatorPuppet(chat.world)

    runtime: Runtime[GatewaySettings, Gateway]
    async with run_service(make_service(own_puppet), **{**FAST, **settings}) as runtime:
        await eventually(lambda: runtime.context.deps.commands is not None)
        yield runtime.context.deps


async def publish(bus: Bus, command: Command) -> None:
    await bus.js.publish(subjects.command(BOT, type(command)), command.model_dump_json().encode())


async def status(bus: Bus) -> GatewayStatus:
    reply = await bus.connection.request(subjects.gateway_status(BOT), b"", timeout=2)
    return GatewayStatus.model_validate_json(reply.data)


def send_times(chat: Chat) -> list[float]:
    return [message.timestamp for message in chat.world.bot_sent()]


async def test_a_restart_does_not_refill_the_budget(run_service: RunService, bus: Bus) -> None:
    chat = Chat()
    slow = {"account_per_minute": 20.0, "account_burst": 3}  # a burst of 3, then one every 3 s
    rooms = [chat.world.add_room(f"群{n}", owner_id=chat.alice, member_ids=[chat.alice]).id for n in range(5)]
    async with gateway(chat, run_service, **slow) as first:
        await eventually(lambda: first.outbound is not None)
        for room in rooms:
            await publish(bus, SayText(room_id=room, text=f"to {room}"))
        await eventually(lambda: len(chat.world.bot_sent()) == 3)
    assert len(chat.world.bot_sent()) == 3  # the fourth was waiting for a token when the process stopped

    async with gateway(chat, run_service, **slow) as second:  # a new process: nothing in memory
        await eventually(lambda: second.outbound is not None)
        await eventually(lambda: len(chat.world.bot_sent()) == 5, timeout=15)

    times = send_times(chat)
    # Token bucket: the n-th message can leave no earlier than (n - burst) refills after the first.
    assert times[3] - times[0] >= 3.0 - 0.05
    assert times[4] - times[0] >= 6.0 - 0.05
    assert sorted(sent_texts(chat)) == sorted(f"to {room}" for room in rooms)


async def test_only_one_process_sends_and_the_second_takes_over(run_service: RunService, bus: Bus) -> None:
    chat = Chat()
    async with gateway(chat, run_service) as first:
        await eventually(lambda: first.outbound is not None)
        async with gateway(chat, run_service, lease_ttl_s=1.0) as second:
            assert second.outbound is None
            assert not second.status().sending
            assert "lease" in second.status().held
            for n in range(3):
                await publish(bus, SayText(room_id=chat.room, text=f"first {n}"))
            await eventually(lambda: len(chat.world.bot_sent()) == 3)
            assert second.status().sent == 0
            assert (await status(bus)).sending  # the standby leaves the status request to the sender
            await first.close()  # stops sending and releases the lease
            await eventually(lambda: second.outbound is not None)
            await publish(bus, SayText(room_id=chat.room, text="second"))
            await eventually(lambda: "second" in sent_texts(chat))
            assert second.status().sent == 1

    assert sent_texts(chat) == ["first 0", "first 1", "first 2", "second"]


async def test_commands_that_waited_too_long_are_dropped_never_sent_late(
    run_service: RunService, bus: Bus
) -> None:
    chat = Chat()
    async with gateway(chat, run_service, max_command_age_s=1.0) as first:
        await eventually(lambda: first.outbound is not None)
    # The gateway is down; these wait in JetStream longer than GATEWAY_MAX_COMMAND_AGE_S.
    await publish(bus, SayText(room_id=chat.room, text="stale"))
    await publish(
        bus,
        SayText(
            room_id=chat.room, text="past its deadline", deadline=datetime.now(UTC) + timedelta(seconds=1)
        ),
    )
    await asyncio.sleep(1.5)  # they must be older than the limit: this wait is the test's subject, not a sync
    async with gateway(chat, run_service, max_command_age_s=1.0) as second:
        await eventually(lambda: second.outbound is not None)
        await publish(bus, SayText(room_id=chat.room, text="fresh"))
        await eventually(lambda: "fresh" in sent_texts(chat))
        await eventually(lambda: second.status().dropped_stale == 2)

    assert sent_texts(chat) == ["fresh"]


async def test_the_status_tells_lease_budgets_and_queues(run_service: RunService, bus: Bus) -> None:
    chat = Chat()
    async with gateway(chat, run_service, daily_text=100, daily_file=0) as running:
        await eventually(lambda: running.outbound is not None)
        await publish(bus, SayText(room_id=chat.room, text="hi"))
        await eventually(lambda: bool(chat.world.bot_sent()))
        answer = await status(bus)
        used = REGISTRY.get_sample_value("qun_gateway_daily_used", {"bot_id": BOT, "kind": "text"})
        limit = REGISTRY.get_sample_value("qun_gateway_daily_limit", {"bot_id": BOT, "kind": "text"})
        sending = REGISTRY.get_sample_value("qun_gateway_sending", {"bot_id": BOT})

    assert (used, limit, sending) == (1.0, 100.0, 1.0)
    assert answer.sending
    assert answer.held == ""
    assert answer.daily_used["text"] == 1
    assert answer.daily_limits == {"text": 100, "invite": 50, "friend": 100}
    assert answer.sent == 1
