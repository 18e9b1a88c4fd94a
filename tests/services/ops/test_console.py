"""The console's HTTP API on a running ops service (real NATS and Redis): who may read, who may write, and clear
answers to bad requests."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import httpx
from pydantic import SecretStr
from redis.asyncio import Redis

from schemas import Room
from services.ops.accounts import RoomBook
from services.ops.app import service as ops
from services.ops.console import access_of
from services.ops.settings import OpsSettings
from tests.conftest import RunService

READ, WRITE = "r-token", "w-token"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@asynccontextmanager
async def api(run_service: RunService, **settings: object) -> AsyncIterator[httpx.AsyncClient]:
    async with run_service(ops, **settings) as runtime:
        transport = httpx.ASGITransport(app=runtime.http_app())
        async with httpx.AsyncClient(transport=transport, base_url="http://ops") as client:
            yield client


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def test_tokens_grant_read_or_write() -> None:
    settings = OpsSettings(console_token=SecretStr(READ), console_write_token=SecretStr(WRITE))
    assert access_of(settings, bearer(READ)) == "read"
    assert access_of(settings, bearer(WRITE)) == "write"
    assert access_of(settings, bearer("r-token2")) is None
    assert access_of(settings, {"authorization": f"Basic {READ}"}) is None
    assert access_of(settings, {}) is None
    assert access_of(OpsSettings(console_write_token=SecretStr(WRITE)), bearer(READ)) is None


async def test_without_a_token_configured_the_console_does_not_exist(run_service: RunService) -> None:
    async with api(run_service) as client:
        assert (await client.get("/ops")).status_code == 404
        assert (await client.get("/ops/api/overview", headers=bearer("anything"))).status_code == 404


async def test_reading_and_writing_need_their_tokens(run_service: RunService, redis_url: str) -> None:
    redis = Redis.from_url(redis_url, decode_responses=True)
    await RoomBook(redis).observe(
        "bot", Room(id="r1@chatroom", topic="开源交流群", member_count=3), datetime.now(UTC)
    )
    await redis.aclose()
    async with api(run_service, console_token=READ, console_write_token=WRITE) as client:
        page = await client.get("/ops/")
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert (await client.get("/ops/api/overview")).status_code == 401
        assert (await client.get("/ops/api/overview", headers=bearer("nope"))).status_code == 401
        overview = await client.get("/ops/api/overview", headers=bearer(READ))
        assert overview.status_code == 200
        assert overview.json()["access"] == "read"
        assert [s["name"] for s in overview.json()["services"]["live"]] == ["ops"]

        replay = await client.post("/ops/api/deadletters/replay", json={"seqs": [1]}, headers=bearer(READ))
        assert replay.status_code == 403
        cancel = await client.post("/ops/api/broadcast/cancel", json={"id": "x"}, headers=bearer(WRITE))
        assert cancel.status_code == 404

        rooms = await client.get("/ops/api/rooms", headers=bearer(READ))
        assert [room["topic"] for room in rooms.json()] == ["开源交流群"]


async def test_bad_requests_get_clear_answers(run_service: RunService, redis_url: str) -> None:
    redis = Redis.from_url(redis_url, decode_responses=True)
    await RoomBook(redis).observe("bot", Room(id="r1@chatroom", topic="开源交流群"), datetime.now(UTC))
    await redis.aclose()
    async with api(run_service, console_write_token=WRITE) as client:
        headers = bearer(WRITE)
        not_json = await client.post("/ops/api/broadcasts", content=b"{", headers=headers)
        assert (not_json.status_code, not_json.json()["error"]) == (400, "the body is not JSON")
        nothing = await client.post("/ops/api/broadcasts", json={"text": "hi"}, headers=headers)
        assert nothing.status_code == 400
        assert "choose rooms" in nothing.json()["error"]
        not_image = await client.post(
            "/ops/api/broadcasts",
            json={"match": "*", "image_base64": base64.b64encode(b"hello").decode()},
            headers=headers,
        )
        assert "not a PNG" in not_image.json()["error"]
        image = await client.post(
            "/ops/api/broadcasts",
            json={"match": "开源", "image_base64": base64.b64encode(PNG).decode(), "dry_run": True},
            headers=headers,
        )
        assert [r["room_id"] for r in image.json()["recipients"]] == ["r1@chatroom"]
        letter = await client.get("/ops/api/deadletter?seq=7", headers=headers)
        assert (letter.status_code, letter.json()["error"]) == (404, "no dead letter 7")
        since = await client.get("/ops/api/deadletters?since=yesterday", headers=headers)
        assert since.status_code == 400
        no_seqs = await client.post(
            "/ops/api/deadletters/replay", json={"service": "tagger"}, headers=headers
        )
        assert no_seqs.status_code == 400
