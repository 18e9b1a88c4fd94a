"""The NATS permission table, proven against a real nats-server running the rendered configuration.

Each test starts its own nats-server (JetStream on a temporary directory) with the `authorization` block rendered
by `services.shared.permissions`, passwords generated for the run and handed over through the environment exactly
as the Kubernetes StatefulSet does. The provisioner creates the streams and consumers; then each user must be able
to do its job and be refused everything else.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import nats
import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg
from pydantic import SecretStr

from schemas import ChatCommand, Command, MessageReceived, SayText, ServiceInfo, streams, subjects
from services.shared import Context, QunService, QunSettings, catalog, permissions, provision
from tests import factories
from tools.servers import nats_server_binary, start_redis

BOT = "wxid_qunbot"
OTHER_BOT = "wxid_otherbot"
SERVICES = tuple(service.name for service in catalog.event_services())
DEADLINE_S = 5.0


@dataclass
class NatsServer:
    url: str
    passwords: dict[str, str]


@dataclass
class UserClient:
    """A connection as one NATS user that records every permission violation the server reports."""

    user: str
    nc: Client
    violations: list[str] = field(default_factory=list)
    reported: asyncio.Event = field(default_factory=asyncio.Event)

    async def refused(self, action: Callable[[], Awaitable[object]], needle: str) -> None:
        """Run `action` and require the server to refuse it with a permissions violation naming `needle`.

        A refused request never gets an answer, so the action runs as a task that is cancelled once the
        violation has arrived, rather than waiting for its own timeout."""
        self.violations.clear()
        task = asyncio.ensure_future(action())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._violation_naming(needle), timeout=DEADLINE_S)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, nats.errors.Error):
            await task
        assert any(needle in v for v in self.violations), (needle, self.violations)

    async def _violation_naming(self, needle: str) -> None:
        while not any(needle in v for v in self.violations):
            self.reported.clear()
            await self.reported.wait()

    async def no_violation(self) -> None:
        # nats-py writes flush's PING ahead of commands still buffered; the second PING follows them, so its
        # PONG proves the server has processed (and judged) everything sent before.
        await self.nc.flush()
        await self.nc.flush()
        assert self.violations == []


def _read_ports(ports_file: Path) -> dict[str, list[str]] | None:
    """The server writes its ports file once it listens; it may be caught half written."""
    try:
        ports: dict[str, list[str]] = json.loads(ports_file.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    return ports


@pytest.fixture
def secured_nats(tmp_path: Path) -> Iterator[NatsServer]:
    users = permissions.all_permissions([BOT, OTHER_BOT])
    passwords = {perms.user: permissions.new_password() for perms in users}
    (tmp_path / "auth.conf").write_text(permissions.render_authorization([BOT, OTHER_BOT]))
    (tmp_path / "nats.conf").write_text(
        "listen: 127.0.0.1:-1\n"
        f"ports_file_dir: {json.dumps(str(tmp_path))}\n"
        f"jetstream {{ store_dir: {json.dumps(str(tmp_path / 'js'))} }}\n"
        'include "auth.conf"\n'
    )
    env = {**os.environ, **{permissions.password_variable(user): pw for user, pw in passwords.items()}}
    log = tmp_path / "nats.log"
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            [str(nats_server_binary()), "-c", str(tmp_path / "nats.conf")],
            env=env,
            stdout=log_file,
            stderr=log_file,
        )
    try:
        ports_file = tmp_path / f"nats-server_{process.pid}.ports"
        deadline = time.monotonic() + DEADLINE_S
        while not (ports := _read_ports(ports_file)):
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "nats-server did not start"
            time.sleep(0.01)
        url = ports["nats"][0]
        yield NatsServer(url=url, passwords=passwords)
    finally:
        process.terminate()
        process.wait(timeout=DEADLINE_S)


@pytest.fixture
async def connect(secured_nats: NatsServer) -> AsyncIterator[Callable[[str], Awaitable[UserClient]]]:
    clients: list[UserClient] = []

    async def _connect(user: str) -> UserClient:
        violations: list[str] = []
        reported = asyncio.Event()

        async def on_error(error: Exception) -> None:
            violations.append(str(error).lower())
            reported.set()

        nc = await nats.connect(
            secured_nats.url,
            user=user,
            password=secured_nats.passwords[user],
            inbox_prefix=permissions.inbox_prefix(user).encode(),
            error_cb=on_error,
            allow_reconnect=False,
        )
        client = UserClient(user=user, nc=nc, violations=violations, reported=reported)
        clients.append(client)
        return client

    yield _connect
    for client in clients:
        await client.nc.close()


def _consumers() -> list[streams.ConsumerSpec]:
    """The durable consumers of a deployment: one per service on QUN_EVT, one per account's gateway on QUN_CMD."""
    specs = [
        streams.ConsumerSpec(streams.EVENTS.name, service, (f"{subjects.EVENTS}.{subjects.ANY_BOT}.message",))
        for service in SERVICES
    ]
    specs += [
        streams.ConsumerSpec(
            streams.COMMANDS.name, permissions.gateway_user(bot), (subjects.all_commands(bot),)
        )
        for bot in (BOT, OTHER_BOT)
    ]
    return specs


async def _provision(provisioner: UserClient) -> None:
    """The provisioning job's own code, run as the provisioner user."""
    js = provisioner.nc.jetstream()
    await provision.ensure_streams(js)
    for spec in _consumers():
        await provision.ensure_consumer(js, spec)
    await provision.ensure_streams(js)  # a second run (an upgrade) updates in place
    await provisioner.no_violation()


@pytest.fixture
async def provisioner(connect: Callable[[str], Awaitable[UserClient]]) -> UserClient:
    client = await connect(permissions.PROVISIONER)
    await _provision(client)
    return client


async def _publish_event(gateway: UserClient, bot_id: str = BOT) -> None:
    ack = await gateway.nc.jetstream().publish(
        f"{subjects.EVENTS}.{bot_id}.message", b"{}", headers={"Nats-Msg-Id": secrets.token_hex(8)}
    )
    assert ack.stream == streams.EVENTS.name


async def _pull_one(client: UserClient, stream: str, durable: str, filter_subject: str) -> Msg:
    # The same calls FastStream's pull subscriber makes: consumer info (bind), then fetch from the inbox.
    subscription = await client.nc.jetstream().pull_subscribe(filter_subject, durable=durable, stream=stream)
    (message,) = await subscription.fetch(1, timeout=DEADLINE_S)
    return message


@pytest.mark.parametrize("service", SERVICES)
async def test_service_does_its_job(
    service: str, provisioner: UserClient, connect: Callable[[str], Awaitable[UserClient]]
) -> None:
    client = await connect(service)
    gateway = await connect(permissions.gateway_user(BOT))
    await _publish_event(gateway)

    message = await _pull_one(client, streams.EVENTS.name, service, f"{subjects.EVENTS}.>")
    assert message.subject == f"{subjects.EVENTS}.{BOT}.message"
    await message.ack_sync(timeout=DEADLINE_S)
    info = await provisioner.nc.jetstream().consumer_info(streams.EVENTS.name, service)
    assert (info.num_ack_pending, info.num_pending, info.delivered.stream_seq) == (0, 0, 1)

    js = client.nc.jetstream()
    [declared] = [s for s in catalog.event_services() if s.name == service]
    for kind in declared.publishes:
        if issubclass(kind, Command):
            ack = await js.publish(subjects.command(BOT, kind), b"{}")
            assert ack.stream == streams.COMMANDS.name
    ack = await js.publish(subjects.dead_letter(service), b"{}")
    assert ack.stream == streams.DEAD_LETTERS.name
    await client.no_violation()


async def _request_until_answered(client: UserClient, subject: str) -> Msg:
    """nats-py may send flush's PING ahead of a buffered SUB, so a responder's interest can arrive just after
    the first request: ask again until answered, within the deadline."""
    deadline = time.monotonic() + DEADLINE_S
    while True:
        try:
            return await client.nc.request(subject, b"{}", timeout=DEADLINE_S)
        except nats.errors.NoRespondersError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.01)


@pytest.mark.parametrize("service", SERVICES)
async def test_service_answers_and_asks_the_registry(
    service: str, provisioner: UserClient, connect: Callable[[str], Awaitable[UserClient]]
) -> None:
    responder = await connect(service)
    asker = await connect("moderator" if service != "moderator" else "tagger")

    async def answer(msg: Msg) -> None:
        await msg.respond(json.dumps({"name": service}).encode())

    await responder.nc.subscribe(subjects.DISCOVER, cb=answer)
    reply = await _request_until_answered(asker, subjects.DISCOVER)
    assert json.loads(reply.data) == {"name": service}
    await responder.no_violation()
    await asker.no_violation()


async def test_tagger_may_say_but_not_remove_members(
    provisioner: UserClient, connect: Callable[[str], Awaitable[UserClient]]
) -> None:
    tagger = await connect("tagger")
    js = tagger.nc.jetstream()
    await tagger.refused(
        lambda: js.publish(f"{subjects.COMMANDS}.x.room.remove", b"{}"), "qun.cmd.x.room.remove"
    )
    await tagger.refused(lambda: js.publish(f"{subjects.COMMANDS}.x.room.add", b"{}"), "qun.cmd.x.room.add")
    state = await provisioner.nc.jetstream().stream_info(streams.COMMANDS.name)
    assert state.state.messages == 0


@pytest.mark.parametrize("service", SERVICES)
async def test_service_cannot_touch_streams_or_consumers(
    service: str, provisioner: UserClient, connect: Callable[[str], Awaitable[UserClient]]
) -> None:
    client = await connect(service)
    js = client.nc.jetstream()
    await client.refused(
        lambda: js.add_stream(name="EVIL", subjects=["evil.>"]), "$js.api.stream.create.evil"
    )
    await client.refused(lambda: js.delete_stream(streams.EVENTS.name), "$js.api.stream.delete.qun_evt")
    await client.refused(lambda: js.purge_stream(streams.EVENTS.name), "$js.api.stream.purge.qun_evt")
    await client.refused(lambda: js.delete_consumer(streams.EVENTS.name, service), "$js.api.consumer.delete")
    await client.refused(
        lambda: js.add_consumer(streams.EVENTS.name, durable_name="mine"), "$js.api.consumer.durable.create"
    )
    names = await provisioner.nc.jetstream().streams_info()
    assert sorted(str(s.config.name) for s in names) == sorted(spec.name for spec in streams.ALL)


async def test_service_cannot_pull_or_snoop_on_another_service(
    provisioner: UserClient, connect: Callable[[str], Awaitable[UserClient]]
) -> None:
    tagger = await connect("tagger")
    gateway = await connect(permissions.gateway_user(BOT))
    await _publish_event(gateway)

    await tagger.refused(
        lambda: _pull_one(tagger, streams.EVENTS.name, "moderator", f"{subjects.EVENTS}.>"),
        "$js.api.consumer.info.qun_evt.moderator",
    )
    await tagger.refused(
        lambda: tagger.nc.publish(f"$JS.API.CONSUMER.MSG.NEXT.{streams.EVENTS.name}.moderator", b"1"),
        "$js.api.consumer.msg.next.qun_evt.moderator",
    )
    await tagger.refused(lambda: tagger.nc.subscribe("_INBOX.moderator.>"), "_inbox.moderator.>")
    await tagger.refused(lambda: tagger.nc.subscribe(f"{subjects.EVENTS}.>"), "qun.evt.>")
    await tagger.refused(lambda: tagger.nc.subscribe(f"{subjects.COMMANDS}.>"), "qun.cmd.>")
    await tagger.refused(
        lambda: tagger.nc.publish(subjects.dead_letter("moderator"), b"{}"), "qun.dlq.moderator"
    )
    await tagger.refused(lambda: tagger.nc.publish(f"{subjects.EVENTS}.{BOT}.message", b"{}"), "qun.evt.")
    info = await provisioner.nc.jetstream().consumer_info(streams.EVENTS.name, "moderator")
    assert (info.num_pending, info.num_ack_pending) == (1, 0)  # still waiting for the moderator


async def test_gateway_serves_only_its_own_account(
    provisioner: UserClient, connect: Callable[[str], Awaitable[UserClient]]
) -> None:
    gateway = await connect(permissions.gateway_user(BOT))
    moderator = await connect("moderator")
    await _publish_event(gateway)
    await gateway.refused(lambda: _publish_event(gateway, OTHER_BOT), f"qun.evt.{OTHER_BOT}.message")

    ack = await moderator.nc.jetstream().publish(subjects.command(BOT, SayText), b"{}")
    assert ack.stream == streams.COMMANDS.name
    own = permissions.gateway_user(BOT)
    message = await _pull_one(gateway, streams.COMMANDS.name, own, subjects.all_commands(BOT))
    await message.ack_sync(timeout=DEADLINE_S)

    other = permissions.gateway_user(OTHER_BOT)
    await gateway.refused(
        lambda: _pull_one(gateway, streams.COMMANDS.name, other, subjects.all_commands(OTHER_BOT)),
        f"$js.api.consumer.info.qun_cmd.{other}".lower(),
    )
    await gateway.refused(lambda: gateway.nc.publish(subjects.command(BOT, SayText), b"{}"), "qun.cmd.")


async def test_gateway_listens_on_its_own_status_subject_only(
    provisioner: UserClient, connect: Callable[[str], Awaitable[UserClient]]
) -> None:
    gateway = await connect(permissions.gateway_user(BOT))
    await gateway.nc.subscribe(subjects.gateway_status(BOT))
    await gateway.no_violation()
    await gateway.refused(lambda: gateway.nc.subscribe(subjects.gateway_status(OTHER_BOT)), OTHER_BOT.lower())


async def test_provisioner_cannot_delete_or_read_messages(
    provisioner: UserClient, connect: Callable[[str], Awaitable[UserClient]]
) -> None:
    js = provisioner.nc.jetstream()
    await provisioner.refused(lambda: js.delete_stream(streams.EVENTS.name), "$js.api.stream.delete")
    await provisioner.refused(
        lambda: js.delete_consumer(streams.EVENTS.name, "tagger"), "$js.api.consumer.delete"
    )
    await provisioner.refused(
        lambda: provisioner.nc.publish(f"$JS.API.CONSUMER.MSG.NEXT.{streams.EVENTS.name}.tagger", b"1"),
        "$js.api.consumer.msg.next",
    )
    await provisioner.refused(
        lambda: provisioner.nc.publish(f"{subjects.COMMANDS}.{BOT}.say", b"{}"), "qun.cmd"
    )


@pytest.fixture
async def redis_url(tmp_path: Path) -> AsyncIterator[str]:
    server = await start_redis(tmp_path / "redis")
    yield server.url
    server.stop()


async def test_a_real_service_runs_under_its_own_user(
    secured_nats: NatsServer,
    redis_url: str,
    provisioner: UserClient,
    connect: Callable[[str], Awaitable[UserClient]],
) -> None:
    """The plumbing's real calls (bind, pull, ack, publish, answer the registry) fit the table.

    Needs the plumbing to use the user's inbox prefix (`permissions.inbox_prefix(settings.nats_user)`) on its
    NatsBroker and its pull subscriber: with the default `_INBOX.` the server refuses the subscription."""
    service: QunService[QunSettings, None] = QunService("tagger", version="9.9.9", settings=QunSettings)

    @service.command(ChatCommand(name="ding", keywords_en=["ding"], needs_mention=False))
    async def ding(event: MessageReceived, ctx: Context[QunSettings, None], args: str) -> None:
        await ctx.reply("dong")

    settings = QunSettings(
        nats_url=secured_nats.url,
        nats_user="tagger",
        nats_password=SecretStr(secured_nats.passwords["tagger"]),
        redis_url=SecretStr(redis_url),
    )
    gateway = await connect(permissions.gateway_user(BOT))
    moderator = await connect("moderator")
    try:
        async with service.runtime(settings):
            await _ding_dong_and_discover(gateway, moderator)
    except (TimeoutError, nats.errors.Error) as error:
        pytest.fail(
            f"{error!r}: the plumbing must connect and pull with permissions.inbox_prefix(NATS_USER); "
            "see the permissions module's docstring"
        )
    info_after = await provisioner.nc.jetstream().consumer_info(streams.EVENTS.name, "tagger")
    assert (info_after.num_pending, info_after.num_ack_pending) == (0, 0)


async def _ding_dong_and_discover(gateway: UserClient, moderator: UserClient) -> None:
    """A message as the gateway publishes it gets its answer on the gateway's consumer; the registry answers."""
    event = factories.message("ding", bot_id=BOT, mentions_bot=False)
    await gateway.nc.jetstream().publish(
        subjects.event(BOT, MessageReceived),
        event.model_dump_json().encode(),
        headers={"Nats-Msg-Id": event.id},
    )
    message = await _pull_one(
        gateway, streams.COMMANDS.name, permissions.gateway_user(BOT), subjects.all_commands(BOT)
    )
    assert SayText.model_validate_json(message.data).text == "dong"
    await message.ack_sync(timeout=DEADLINE_S)

    inbox = moderator.nc.new_inbox()
    answers = await moderator.nc.subscribe(inbox)
    await moderator.nc.publish(subjects.DISCOVER, b"", reply=inbox)
    info = ServiceInfo.model_validate_json((await answers.next_msg(timeout=DEADLINE_S)).data)
    assert (info.name, info.version) == ("tagger", "9.9.9")
