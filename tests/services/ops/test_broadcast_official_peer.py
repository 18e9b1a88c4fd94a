"""A broadcast end to end against the official Wechaty peer (TypeScript PuppetServer over wechaty-puppet-mock):
the ops service learns the rooms from members speaking, a broadcast to three of four rooms goes through the
gateway, each of the three gets it exactly once, and no faster than the account's pace. Skipped without Node."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from services.ops.accounts import RoomBook
from services.ops.app import service as ops
from services.ops.broadcast import Selection
from services.ops.operations import Operations
from tests.conftest import Bus, RunService
from tests.e2e.gateway_on_peer import PEOPLE, gateway_on
from tests.e2e.puppet_mock import PuppetMockWorld, ensure_node_modules
from tests.peers import require_node

pytestmark = pytest.mark.slow
ACCOUNT_PER_MINUTE = 240.0  # after the first message, one every 0.25 s


@pytest.fixture
async def peer() -> AsyncIterator[PuppetMockWorld]:
    require_node("the official Wechaty peer")
    ensure_node_modules()
    async with PuppetMockWorld.started() as world:
        yield world


async def test_each_chosen_room_gets_the_broadcast_once_at_the_accounts_pace(
    peer: PuppetMockWorld, run_service: RunService, bus: Bus, tmp_path: Path, redis_url: str
) -> None:
    await peer.create_contacts(*PEOPLE)
    rooms = {}
    for name, topic in [("ops-a", "运营群A"), ("ops-b", "运营群B"), ("ops-c", "运营群C"), ("chat", "闲聊群")]:
        rooms[topic] = await peer.create_room(
            name, topic=topic, member_ids=("alice", "bob"), owner_id="alice"
        )
    pace = {"account_per_minute": ACCOUNT_PER_MINUTE, "account_burst": 1}
    async with (
        run_service(ops, broadcast_window=2) as runtime,
        gateway_on(peer, run_service, bus, tmp_path, **pace),
    ):
        for room_id in rooms.values():
            await peer.say_in_room("bob", room_id, "大家好")
        redis = Redis.from_url(redis_url, decode_responses=True)
        try:
            deadline = time.monotonic() + 20
            while len(await RoomBook(redis).rooms([peer.bot_id])) < len(rooms):
                assert time.monotonic() < deadline, "rooms not learnt"
                await asyncio.sleep(0.05)
        finally:
            await redis.aclose()
        operations: Operations = runtime.context.deps.operations
        started = time.monotonic()
        broadcast = await operations.create_broadcast(Selection(topic="运营群*"), "今晚维护", None, None)
        await peer.wait_for(lambda o: sum(m.text == "今晚维护" for m in o.sent) >= 3, within=30)
        elapsed = time.monotonic() - started
        deadline = time.monotonic() + 20
        while not (progress := await operations.broadcast(broadcast.id) or {}).get("finished"):
            assert time.monotonic() < deadline, progress
            await asyncio.sleep(0.05)
        final = await peer.observed()

    got = sorted(m.room_id or "" for m in final.sent if m.text == "今晚维护")
    assert got == sorted(rooms[t] for t in ("运营群A", "运营群B", "运营群C"))
    assert progress["counts"]["done"] == 3
    assert elapsed >= 2 * 60 / ACCOUNT_PER_MINUTE * 0.9  # three messages at one per 0.25 s: at least 0.5 s
