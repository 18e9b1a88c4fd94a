"""The operators' console in a real headless Chromium (Debian's), driven by Playwright, served by a running ops
service over real NATS and Redis: sign in with a token, see accounts (with the QR code to scan), rooms, services,
queues, dead letters (replay with the write token), alerts and a broadcast dry run; the read token hides writes.
Needs `apt-get install chromium fonts-noto-cjk`; skipped loudly without them. A failure saves a screenshot."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import nats
import pytest
from redis.asyncio import Redis

from schemas import DeadLettered, LoggedOut, Room, new_id, subjects
from services.ops.accounts import AccountBook, RoomBook
from services.ops.app import service as ops
from tests.browser import browser_page
from tests.conftest import Bus, RunService
from tests.factories import message
from tools.servers import free_port

READ, WRITE = "read-token-console", "write-token-console"

pytestmark = pytest.mark.browser


async def seed(redis_url: str, nats_url: str, bus: Bus) -> str:
    """An account waiting for its QR scan, a second one logged in with two rooms, one dead letter."""
    now = datetime.now(UTC)
    redis = Redis.from_url(redis_url, decode_responses=True)
    try:
        accounts = AccountBook(redis)
        await accounts.scan("pending", "waiting", "https://login.weixin.qq.com/l/abc", now)
        await accounts.logged_in("wxid_bot", "QunBot", now)
        rooms = RoomBook(redis)
        await rooms.observe("wxid_bot", Room(id="r1@chatroom", topic="开源交流群", member_count=120), now)
        await rooms.observe("wxid_bot", Room(id="r2@chatroom", topic="<b>Test</b> Room", member_count=7), now)
    finally:
        await redis.aclose()
    event = message("坏消息", bot_id="wxid_bot")
    payload = event.model_dump_json()
    letter = DeadLettered(
        service="tagger",
        subject=subjects.event("wxid_bot", type(event)),
        payload=payload,
        payload_sha256=hashlib.sha256(payload.encode()).hexdigest(),
        error="ValueError: boom",
        deliveries=5,
        failed_at=now,
    )
    connection = await nats.connect(nats_url)
    try:
        await connection.jetstream().publish(
            subjects.dead_letter("tagger"),
            letter.model_dump_json().encode(),
            headers={"Nats-Msg-Id": new_id()},
        )
    finally:
        await connection.close()
    return event.id


@asynccontextmanager
async def console(run_service: RunService) -> AsyncIterator[str]:
    port = free_port()
    async with (
        run_service(
            ops, console_token=READ, console_write_token=WRITE, http_port=port, poll_s=0.5
        ) as runtime,
        runtime.serving_http(),
    ):
        yield f"http://127.0.0.1:{port}/ops"


async def sign_in(page: Any, url: str, token: str) -> None:
    await page.goto(url)
    await page.fill("#token", token)
    await page.click("#token-form button")
    await page.locator("#console").wait_for()


@pytest.mark.slow
async def test_console_shows_the_system_and_replays_a_dead_letter(
    run_service: RunService, bus: Bus, redis_url: str, nats_url: str, request: pytest.FixtureRequest
) -> None:
    event_id = await seed(redis_url, nats_url, bus)
    async with console(run_service) as url, browser_page(request.node.name, width=1400, height=1000) as page:
        await page.goto(url)
        await page.fill("#token", "wrong")
        await page.click("#token-form button")
        await page.locator("#sign-in-error", has_text="invalid token").wait_for()

        await bus.publish_event(
            LoggedOut(id=new_id(), bot_id="wxid_old", timestamp=datetime.now(UTC), reason="kicked")
        )
        await sign_in(page, url, WRITE)
        assert await page.inner_text("#access") == "可写 read-write"
        await page.locator("#accounts tr", has_text="wxid_bot").wait_for()
        qr = page.locator("#qr-pending img")
        await qr.wait_for()
        assert await qr.evaluate("image => image.complete && image.naturalWidth > 0")
        await page.locator("#rooms td", has_text="开源交流群").wait_for()
        assert await page.locator("#rooms td", has_text="<b>Test</b> Room").count() == 1  # shown as text
        await page.locator("#services td", has_text="ops").wait_for()
        await page.locator("#consumers td", has_text="ops").wait_for()
        await page.locator("#alerts-active li", has_text="wxid_old").wait_for()

        await page.locator("#dead-letters td", has_text="ValueError: boom").wait_for()
        await page.click('#dead-letters button[data-replay="1"]')
        await page.locator("#replay-result", has_text="replayed").wait_for()
        replayed = await bus.wait_for("qun.evt.wxid_bot.message", type(message("x")))
        assert replayed[0].id == event_id

        await page.fill("#bc-text", "今晚维护")
        await page.fill("#bc-match", "开源*")
        await page.click("#bc-dry-run")
        await page.locator("#bc-recipients li", has_text="r1@chatroom").wait_for()
        # The replayed message came from another room of that name: the ops service learnt it from the replay.
        recipients = await page.locator("#bc-recipients li").all_inner_texts()
        assert sorted(text.split()[-1] for text in recipients) == ["r1@chatroom", "room1@chatroom"]
        assert "dry run" in await page.inner_text("#bc-result")
        await page.set_input_files(
            "#bc-image", files=[{"name": "a.txt", "mimeType": "image/png", "buffer": b"not an image"}]
        )
        await page.click("#bc-dry-run")
        await page.locator("#bc-result", has_text="not a PNG").wait_for()
        png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
        await page.set_input_files(
            "#bc-image", files=[{"name": "a.png", "mimeType": "image/png", "buffer": png}]
        )
        await page.click("#bc-dry-run")
        await page.locator("#bc-result", has_text="dry run").wait_for()
        assert bus.matching("qun.cmd.>") == []


@pytest.mark.slow
async def test_the_read_token_shows_no_write_action(
    run_service: RunService, bus: Bus, redis_url: str, nats_url: str, request: pytest.FixtureRequest
) -> None:
    await seed(redis_url, nats_url, bus)
    async with console(run_service) as url, browser_page(request.node.name, width=1400, height=1000) as page:
        await sign_in(page, url, READ)
        assert await page.inner_text("#access") == "只读 read-only"
        await page.locator("#dead-letters td", has_text="ValueError: boom").wait_for()
        assert await page.locator("#dead-letters button").count() == 0
        assert await page.locator("#bc-send").is_hidden()
        await page.click("#sign-out")
        await page.locator("#sign-in").wait_for()
