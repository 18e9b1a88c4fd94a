"""The gateway (GATEWAY_PUPPET=service) connected to the official peer, and the room the e2e tests play in."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from schemas import GatewayReady, LoggedIn
from services.gateway.app import make_service
from services.shared import Runtime
from tests.conftest import Bus, RunService

from .puppet_mock import PuppetMockWorld

FAST = {
    "room_per_second": 1000.0,
    "room_burst": 100,
    "account_per_minute": 60000.0,
    "account_burst": 100,
    "jitter_s": 0.0,
    "retry_base_s": 0.05,
    "reconnect_min_s": 0.1,
    "show_qr": False,
}
BOT_ALIAS = "小助手"  # the bot's own name in the room, which members @-mention


async def eventually(check: Callable[[], bool], *, within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {within}s")
        await asyncio.sleep(0.02)


PEOPLE = (("alice", "Alice"), ("bob", "Bob"), ("carol", "Carol"), ("dave", "Dave"), ("erin", "Erin"))


class Group:
    """A mock-world room 开源群 owned by Alice, with the bot in it (room alias 小助手). By default its members are
    Alice, Bob and Carol; Dave and Erin are contacts outside it."""

    def __init__(self, world: PuppetMockWorld, room_id: str) -> None:
        self.world = world
        self.room_id = room_id

    @classmethod
    async def create(
        cls, world: PuppetMockWorld, name: str, member_ids: Sequence[str] = ("alice", "bob", "carol")
    ) -> Group:
        await world.create_contacts(*PEOPLE)
        room_id = await world.create_room(
            name, topic="开源群", member_ids=member_ids, owner_id="alice", aliases={world.bot_id: BOT_ALIAS}
        )
        return cls(world, room_id)


@asynccontextmanager
async def gateway_on(
    world: PuppetMockWorld, run_service: RunService, bus: Bus, tmp_path: Path, **settings: Any
) -> AsyncIterator[Runtime[Any, Any]]:
    """The gateway connected to the peer with its token, logged in, executing commands."""
    overrides = {
        "puppet": "service",
        "puppet_service_endpoint": world.endpoint,
        "puppet_service_token": world.token,
        "wechaty_dir": tmp_path / "wechaty",
        **FAST,
        **settings,
    }
    async with run_service(make_service(), **overrides) as runtime:
        await bus.wait_for(f"qun.evt.{world.bot_id}.login", LoggedIn, timeout=15)
        await bus.wait_for(f"qun.evt.{world.bot_id}.ready", GatewayReady, timeout=15)
        await eventually(lambda: runtime.context.deps.outbound is not None)
        yield runtime
