"""A broadcast through the real gateway (python-wechaty on the simulated WeChat) over real NATS and Redis, sent
from the console's HTTP endpoint: each chosen room gets it once, the others nothing, the account's pacing holds."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from schemas import LoggedIn
from services.gateway.app import make_service as make_gateway
from services.gateway.settings import GatewaySettings
from services.ops.accounts import RoomBook
from services.ops.app import service as ops
from services.simulator.puppet import SimulatorPuppet
from services.simulator.world import OSS_ROOM_ID, SimulatorWorld
from tests.conftest import Bus, RunService

ACCOUNT_PER_MINUTE = 240.0  # one message every 0.25 s once the burst is used
PACED = {
    "room_per_second": 100.0,
    "room_burst": 10,
    "account_per_minute": ACCOUNT_PER_MINUTE,
    "account_burst": 1,
    "jitter_s": 0.0,
}
READ, WRITE = "read-token-1", "write-token-2"


@asynccontextmanager
async def console(runtime: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=runtime.http_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://ops") as client:
        yield client


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


@pytest.mark.slow
async def test_broadcast_from_the_console_reaches_each_chosen_room_once_at_the_gateways_pace(
    run_service: RunService, bus: Bus, redis_url: str
) -> None:
    world = SimulatorWorld()
    people = [person.id for person in world.contacts() if person.id != world.bot_id][:3]
    chosen = [world.add_room(f"运营群{n}", owner_id=people[0], member_ids=people).id for n in range(1, 5)]

    @asynccontextmanager
    async def simulated(_: GatewaySettings) -> AsyncIterator[SimulatorPuppet]:
        yield SimulatorPuppet(world)

    async with (
        run_service(ops, console_token=READ, console_write_token=WRITE, broadcast_window=2) as runtime,
        run_service(make_gateway(simulated), **PACED),
    ):
        await bus.wait_for(f"qun.evt.{world.bot_id}.login", LoggedIn, timeout=20)
        for room_id in [*chosen, OSS_ROOM_ID]:  # the ops service learns rooms from what happens in them
            world.say(room_id, people[1], "大家好")
        redis = Redis.from_url(redis_url, decode_responses=True)
        try:
            deadline = time.monotonic() + 20
            while len(await RoomBook(redis).rooms([world.bot_id])) < 5:
                assert time.monotonic() < deadline, "rooms not learnt"
                await asyncio.sleep(0.05)
        finally:
            await redis.aclose()

        async with console(runtime) as client:
            dry = await client.post(
                "/ops/api/broadcasts",
                json={"text": "今晚维护", "match": "运营群*", "dry_run": True},
                headers=bearer(READ),
            )
            assert dry.status_code == 200
            assert sorted(r["room_id"] for r in dry.json()["recipients"]) == sorted(chosen)
            refused = await client.post(
                "/ops/api/broadcasts", json={"text": "x", "match": "*"}, headers=bearer(READ)
            )
            assert refused.status_code == 403
            assert not world.bot_sent()

            created = await client.post(
                "/ops/api/broadcasts", json={"text": "今晚维护", "match": "运营群*"}, headers=bearer(WRITE)
            )
            assert created.status_code == 200
            broadcast_id = created.json()["id"]
            deadline = time.monotonic() + 30
            while True:
                progress = (
                    await client.get(f"/ops/api/broadcast?id={broadcast_id}", headers=bearer(READ))
                ).json()
                if progress["finished"]:
                    break
                assert time.monotonic() < deadline, progress["counts"]
                await asyncio.sleep(0.1)

    sent = [message for message in world.bot_sent() if message.text == "今晚维护"]
    assert sorted(message.room_id or "" for message in sent) == sorted(chosen)  # each chosen room once
    assert progress["counts"]["done"] == 4
    gaps = [later.timestamp - earlier.timestamp for earlier, later in itertools.pairwise(sent)]
    assert min(gaps) >= 60 / ACCOUNT_PER_MINUTE * 0.9, gaps  # never faster than the account's pace
