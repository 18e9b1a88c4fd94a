"""Real servers for every test that crosses the bus: a fresh nats-server (JetStream) and redis-server on free
ports per test, in the test's own temporary directory. Nothing is shared between tests."""

from __future__ import annotations

import asyncio
import fnmatch
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import nats
import pytest
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.js.errors import NotFoundError
from redis.asyncio import Redis

from schemas import Command, Event, Payload, SayText, subjects
from services.shared import QunService, Runtime
from services.shared.provision import ensure_streams
from tools.servers import Server, start_nats, start_redis


@pytest.fixture
async def nats_server(tmp_path: Path) -> AsyncIterator[Server]:
    server = await start_nats(tmp_path / "jetstream")
    connection = await nats.connect(server.url)
    try:
        await ensure_streams(connection.jetstream())
    finally:
        await connection.close()
    yield server
    server.stop()


@pytest.fixture
def nats_url(nats_server: Server) -> str:
    return nats_server.url


@pytest.fixture
async def redis_server(tmp_path: Path) -> AsyncIterator[Server]:
    server = await start_redis(tmp_path / "redis")
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server: Server) -> str:
    return redis_server.url


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    """A client of the test's redis-server (strings decoded)."""
    client = Redis.from_url(redis_url, decode_responses=True)
    yield client
    await client.aclose()


@pytest.fixture
async def nc(nats_url: str) -> AsyncIterator[NatsClient]:
    """A plain connection to the test's nats-server."""
    connection = await nats.connect(nats_url)
    yield connection
    await connection.close()


class Bus:
    """A test's view of the bus: publishes like the gateway, records every `qun.>` message."""

    def __init__(self, connection: NatsClient) -> None:
        self.connection = connection
        self.js = connection.jetstream()
        self.seen: list[Msg] = []

    async def publish_event(self, event: Event) -> None:
        await self.js.publish(
            subjects.event(event.bot_id, type(event)),
            event.model_dump_json().encode(),
            headers={"Nats-Msg-Id": event.id},
        )

    async def publish_raw(self, subject: str, data: bytes, msg_id: str | None = None) -> None:
        await self.js.publish(subject, data, headers={"Nats-Msg-Id": msg_id} if msg_id else None)

    def matching(self, pattern: str, model: type[Payload] | None = None) -> list[Any]:
        found = [m for m in self.seen if fnmatch.fnmatchcase(m.subject, pattern)]
        return [model.model_validate_json(m.data) for m in found] if model else found

    async def wait_for(
        self,
        pattern: str,
        model: type[Payload],
        where: Callable[[Any], bool] = lambda _: True,
        *,
        count: int = 1,
        timeout: float = 5.0,
    ) -> list[Any]:
        """Poll until `count` messages on subjects matching `pattern` (fnmatch) satisfy `where`."""
        deadline = time.monotonic() + timeout
        while True:
            found = [payload for payload in self.matching(pattern, model) if where(payload)]
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"expected {count} x {model.__name__} on {pattern} within {timeout}s, got {len(found)}; "
                    f"seen: {[m.subject for m in self.seen]}"
                )
            await asyncio.sleep(0.01)

    async def says(
        self, where: Callable[[Any], bool] = lambda _: True, *, count: int = 1, timeout: float = 5.0
    ) -> list[Any]:
        return await self.wait_for("qun.cmd.*.say", SayText, where, count=count, timeout=timeout)

    def commands(self, model: type[Command]) -> list[Any]:
        return self.matching(f"qun.cmd.*.{model.subject_suffix}", model)

    async def consumer_settled(self, durable: str, timeout: float = 5.0) -> None:
        """Poll until the service's consumer has nothing pending or unacked."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                info = await self.js.consumer_info("QUN_EVT", durable)
            except NotFoundError:
                info = None
            if info is not None and info.num_pending == 0 and info.num_ack_pending == 0:
                return
            await asyncio.sleep(0.01)
        raise AssertionError(f"consumer {durable} still busy after {timeout}s")


@pytest.fixture
async def bus(nats_url: str) -> AsyncIterator[Bus]:
    connection = await nats.connect(nats_url)
    bus = Bus(connection)

    async def record(message: Msg) -> None:
        bus.seen.append(message)

    await connection.subscribe("qun.>", cb=record)
    yield bus
    await connection.close()


RunService = Callable[..., AbstractAsyncContextManager[Runtime[Any, Any]]]

GENEROUS_QUOTAS = {
    "quota_member_per_minute": 100_000,
    "quota_member_per_hour": 100_000,
    "quota_member_per_day": 100_000,
    "quota_room_per_minute": 100_000,
    "quota_service_per_minute": 100_000,
}
GENEROUS_QUOTA_ENV = {
    "QUN_QUOTA_MEMBER_PER_MIN": "100000",
    "QUN_QUOTA_MEMBER_PER_HOUR": "100000",
    "QUN_QUOTA_MEMBER_PER_DAY": "100000",
    "QUN_QUOTA_ROOM_PER_MIN": "100000",
    "QUN_QUOTA_SERVICE_PER_MIN": "100000",
}
"""The same for services started as processes."""


@pytest.fixture
def run_service(nats_url: str, redis_url: str) -> RunService:
    """`async with run_service(service, **settings) as runtime:` — one in-process instance on the test servers."""

    @asynccontextmanager
    async def run(service: QunService[Any, Any], **overrides: Any) -> AsyncIterator[Runtime[Any, Any]]:
        # Tests send many messages from one member: reply budgets only where a test is about them.
        overrides = {**GENEROUS_QUOTAS, **overrides}
        settings = service.settings_type(nats_url=nats_url, redis_url=redis_url, **overrides)
        runtime = service.runtime(settings)
        runtime.retry_base_s = 0.02
        async with runtime:
            yield runtime

    return run
