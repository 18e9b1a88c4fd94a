"""The gateway under its own NATS user (`gateway-<bot_id>`), with the deployment's permission table.

Proves the calls it really makes fit the table: publishing its account's events, binding to and pulling from its
provisioned command consumer through its own inbox prefix, acking, dead-lettering.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import nats
import pytest
from pydantic import SecretStr

from schemas import SayText, streams, subjects
from services.gateway.gateway import Gateway
from services.gateway.settings import GatewaySettings
from services.shared import QunSettings, permissions, provision
from tools.servers import start_nats

from .test_app import BOT, FAST, Chat


@dataclass
class SecuredNats:
    url: str
    passwords: dict[str, str]

    def settings(self, user: str) -> QunSettings:
        return QunSettings(nats_url=self.url, nats_user=user, nats_password=SecretStr(self.passwords[user]))


@pytest.fixture
async def secured_nats(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[SecuredNats]:
    users = [perms.user for perms in permissions.all_permissions([BOT])]
    passwords = {user: permissions.new_password() for user in users}
    for user, password in passwords.items():  # the server reads them from its environment, as in production
        monkeypatch.setenv(permissions.password_variable(user), password)
    config = tmp_path / "auth.conf"
    config.write_text(permissions.render_authorization([BOT]))
    server = await start_nats(tmp_path / "jetstream", config=config)
    try:
        yield SecuredNats(server.url, passwords)
    finally:
        server.stop()


async def eventually(check: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


async def stored(nats_url: str, settings: QunSettings, stream: str) -> int:
    connection = await nats.connect(
        nats_url,
        user=settings.nats_user,
        password=settings.nats_password.get_secret_value() if settings.nats_password else None,
        inbox_prefix=permissions.inbox_prefix(settings.nats_user),
    )
    try:
        return int((await connection.jetstream().stream_info(stream)).state.messages)
    finally:
        await connection.close()


async def test_the_gateway_works_under_its_own_nats_user(secured_nats: SecuredNats, redis_url: str) -> None:
    provisioner = secured_nats.settings(permissions.PROVISIONER)
    await provision.provision(provisioner, bot_ids=[BOT])
    chat = Chat()
    user = permissions.gateway_user(BOT)
    settings = GatewaySettings(
        nats_url=secured_nats.url,
        nats_user=user,
        nats_password=SecretStr(secured_nats.passwords[user]),
        redis_url=SecretStr(redis_url),
        bot_id=BOT,
        **FAST,  # type: ignore[arg-type]
    )
    moderator = secured_nats.settings("moderator")
    async with chat.service().runtime(settings) as runtime:
        gateway: Gateway = runtime.context.deps
        await eventually(lambda: gateway.outbound is not None)  # bound to its provisioned consumer
        chat.world.say(chat.room, chat.bob, "hello")
        async with await nats.connect(
            secured_nats.url,
            user="moderator",
            password=moderator.nats_password.get_secret_value() if moderator.nats_password else None,
            inbox_prefix=permissions.inbox_prefix("moderator"),
        ) as connection:
            js = connection.jetstream()
            await js.publish(
                subjects.command(BOT, SayText),
                SayText(room_id=chat.room, text="dong").model_dump_json().encode(),
            )
            await js.publish(subjects.command(BOT, SayText), b'{"text": ""}')
            await eventually(lambda: "dong" in [message.text for message in chat.world.bot_sent()])
        await eventually(lambda: gateway.status().sent == 1)
        events = await stored(secured_nats.url, provisioner, streams.EVENTS.name)
        letters = await stored(secured_nats.url, provisioner, streams.DEAD_LETTERS.name)

    assert events >= 3  # login, ready, the message
    assert letters == 1  # the invalid command, dead-lettered on qun.dlq.gateway
