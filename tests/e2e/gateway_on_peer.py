"""The gateway (GATEWAY_PUPPET=service) connected to the official peer, and the room the e2e tests play in."""

from __future__ import annotations

import asyncio
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from schemas import GatewayReady, LoggedIn
from services.gateway.app import make_service
from services.shared import Runtime
from tests.conftest import Bus, RunService
from tools.servers import child_env, free_port

from .puppet_mock import PuppetMockWorld

ROOT = Path(__file__).resolve().parents[2]

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


class GatewayProcess:
    """`python -m services.gateway` against the peer, as in production: a separate process that can be killed."""

    def __init__(
        self, world: PuppetMockWorld, nats_url: str, redis_url: str, tmp_path: Path, **env: str
    ) -> None:
        self.log_path = tmp_path / f"gateway-{secrets.token_hex(4)}.log"
        self.env = child_env(
            GATEWAY_PUPPET="service",
            WECHATY_PUPPET_SERVICE_ENDPOINT=world.endpoint,
            WECHATY_PUPPET_SERVICE_TOKEN=world.token,
            GATEWAY_WECHATY_DIR=str(tmp_path / "wechaty"),
            GATEWAY_SHOW_QR="false",
            GATEWAY_JITTER_S="0",
            NATS_URL=nats_url,
            REDIS_URL=redis_url,
            HTTP_PORT=str(free_port()),
            **env,
        )
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "services.gateway"], cwd=ROOT, env=self.env, stdout=log, stderr=log
            )

    def kill(self) -> None:
        """kill -9: no goodbye, no lease released, nothing handed back."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()

    def log_tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:] if self.log_path.exists() else ""
