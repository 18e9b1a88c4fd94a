"""What another service (or whoever stole its NATS credentials) cannot do: one test per line of the README's table.
The NATS side runs on a real nats-server with the permissions rendered from the services' declarations (the fixtures
of `tests/deploy/test_nats_permissions.py`); the gateway side on the simulated WeChat world.

Two more lines of the same actor have their own modules: `test_replies_only_to_inboxes.py` and
`test_payloads_cannot_escape.py`."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Awaitable, Callable

import pytest

from schemas import (
    COMMAND_TYPES,
    EVENT_TYPES,
    REQUEST_TYPES,
    GatewayStatus,
    Payload,
    SayText,
    streams,
    subjects,
)
from services.shared import catalog, permissions
from tests.conftest import Bus, RunService
from tests.deploy.test_nats_permissions import (  # noqa: F401 - fixtures
    BOT,
    UserClient,
    connect,
    provisioner,
    secured_nats,
)
from tests.services.gateway.test_app import BOT as GATEWAY_BOT
from tests.services.gateway.test_app import Chat, eventually, running

SERVICES = {service.name: service for service in catalog.event_services()}


def _matches(pattern: str, subject: str) -> bool:
    """NATS subject matching: `*` one token, `>` the rest."""
    wanted, given = pattern.split("."), subject.split(".")
    for index, token in enumerate(wanted):
        if token == ">":
            return len(given) > index
        if index >= len(given) or token not in {"*", given[index]}:
            return False
    return len(wanted) == len(given)


def _declared(name: str, kind: type[Payload]) -> bool:
    """Whether the service's declaration (not the permission module) says it sends `kind`."""
    service = SERVICES[name]
    subject = permissions.subject_of(kind).replace(subjects.ANY_BOT, BOT)
    return kind in service.publishes or any(_matches(raw, subject) for raw in service.nats_publish)


def _publishing(client: UserClient, subject: str) -> Callable[[], Awaitable[None]]:
    async def publish() -> None:
        await client.nc.publish(subject, b"{}")

    return publish


@pytest.mark.parametrize("name", sorted(SERVICES))
async def test_a_service_sends_only_what_it_declares_and_reads_only_its_own(
    name: str,
    provisioner: UserClient,  # noqa: F811
    connect: Callable[[str], Awaitable[UserClient]],  # noqa: F811
) -> None:
    """Every command, event and request a service does not declare is refused by the server (only the account's
    gateway publishes chat events; only the moderator adds or removes members); nor may it read the events
    stream, another service's consumer or inbox, or touch the streams. Nothing refused was stored."""
    client = await connect(name)
    undeclared = [
        kind for kind in (*COMMAND_TYPES, *EVENT_TYPES, *REQUEST_TYPES) if not _declared(name, kind)
    ]
    assert undeclared or name == "ops"  # ops replays dead letters to any event or command subject
    for kind in undeclared:
        subject = permissions.subject_of(kind).replace(subjects.ANY_BOT, BOT)
        await client.refused(_publishing(client, subject), subject)
    other = "tagger" if name != "tagger" else "moderator"
    js = client.nc.jetstream()
    await client.refused(lambda: client.nc.subscribe(f"{subjects.EVENTS}.>"), "qun.evt.>")
    await client.refused(lambda: client.nc.subscribe(f"_INBOX.{other}.>"), f"_inbox.{other}.>")
    await client.refused(
        lambda: client.nc.publish(f"$JS.API.CONSUMER.MSG.NEXT.{streams.EVENTS.name}.{other}", b"1"),
        f"$js.api.consumer.msg.next.qun_evt.{other}",
    )
    await client.refused(lambda: js.delete_stream(streams.EVENTS.name), "$js.api.stream.delete.qun_evt")
    await client.refused(lambda: js.purge_stream(streams.EVENTS.name), "$js.api.stream.purge.qun_evt")
    await client.refused(
        lambda: js.add_stream(name="MINE", subjects=["mine.>"]), "$js.api.stream.create.mine"
    )
    admin = provisioner.nc.jetstream()
    stored = [(await admin.stream_info(spec.name)).state.messages for spec in streams.ALL]
    assert stored == [0, 0, 0]


def _seconds_between(times: list[float]) -> list[float]:
    return [later - earlier for earlier, later in itertools.pairwise(times)]


async def test_no_service_can_push_the_account_past_its_pace_or_daily_budget(
    run_service: RunService, bus: Bus
) -> None:
    """A runaway service asks for ten messages at once: the gateway sends them no faster than the room's pace and no
    more than the day's budget; the rest wait (held), reported in the status. Pacing and budgets are taken in Redis
    by one script per send, under the send lease, so a second gateway process or a restart changes nothing."""
    chat = Chat()
    pace = {"room_per_second": 10.0, "room_burst": 1, "daily_text": 4}
    async with running(chat, run_service, bus, **pace):
        for index in range(10):
            say = SayText(room_id=chat.room, text=f"runaway {index}")
            await bus.js.publish(subjects.command(GATEWAY_BOT, SayText), say.model_dump_json().encode())
        await eventually(lambda: len(chat.world.bot_sent()) == 4)
        status = await _status_once_held(bus)
    sent = chat.world.bot_sent()
    assert [message.text for message in sent] == [f"runaway {index}" for index in range(4)]
    assert min(_seconds_between([message.timestamp for message in sent])) >= 0.09  # 10 a second, burst 1
    assert status.daily_used.get("text") == 4
    assert "budget" in status.held
    assert sum(status.queue_by_priority.values()) == 6


async def _status_once_held(bus: Bus, timeout: float = 5.0) -> GatewayStatus:
    deadline = time.monotonic() + timeout
    while True:
        reply = await bus.connection.request(subjects.gateway_status(GATEWAY_BOT), b"", timeout=2)
        status = GatewayStatus.model_validate_json(reply.data)
        if status.held and sum(status.queue_by_priority.values()) == 6:
            return status
        assert time.monotonic() < deadline, status
        await asyncio.sleep(0.02)
