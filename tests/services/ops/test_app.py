"""The ops service over real NATS and Redis: events in, alerts out on every configured channel, exactly once even
with two replicas."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from redis.asyncio import Redis

from schemas import LoggedIn, LoggedOut, RoomJoined, RoomLeft, SayText, ScanUpdated, new_id
from services.ops import keys
from services.ops.accounts import AccountBook, RoomBook
from services.ops.app import service
from tests.conftest import Bus, RunService
from tests.factories import ALICE, OTHER_ROOM, ROOM, message
from tests.services.ops.robots import Mailbox, Robots, serving_mailbox, serving_robots

ROBOTS = ("webhook", "wecom", "dingtalk", "feishu", "serverchan")


async def until(check: Callable[[], Awaitable[bool]], timeout: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {timeout}s")
        await asyncio.sleep(0.02)


def channel_settings(robots: Robots, mailbox: Mailbox) -> dict[str, Any]:
    return {
        **robots.settings(),
        "smtp_host": mailbox.host,
        "smtp_port": mailbox.port,
        "smtp_security": "none",
        "smtp_to": "ops@example.org",
        "admins": "admin1",
        "poll_s": 0.2,
        "alert_retry_s": 0.05,
        "qr_url": "https://gw.example/qr",
    }


async def outbox_empty(redis_url: str) -> bool:
    redis = Redis.from_url(redis_url, decode_responses=True)
    try:
        return await redis.zcard(keys.OUTBOX) == 0
    finally:
        await redis.aclose()


def event_at(model: type[Any], bot_id: str, at: datetime, **fields: Any) -> Any:
    return model(id=new_id(), bot_id=bot_id, timestamp=at, **fields)


async def test_a_logout_alerts_every_channel_exactly_once_with_two_replicas(
    bus: Bus, run_service: RunService, redis_url: str
) -> None:
    now = datetime.now(UTC)
    async with serving_robots() as robots, serving_mailbox() as mailbox:
        settings = channel_settings(robots, mailbox)
        async with run_service(service, **settings), run_service(service, **settings):
            await bus.publish_event(event_at(LoggedIn, "wxid_a", now - timedelta(seconds=2), name="A"))
            await bus.publish_event(event_at(LoggedIn, "wxid_b", now - timedelta(seconds=2), name="B"))
            await bus.consumer_settled("ops")
            logout = event_at(LoggedOut, "wxid_a", now, reason="kicked")
            await bus.publish_event(logout)
            # The gateway publishing the same logout again (same id: JetStream drops it) and a second logout
            # report (another id) do not make a second alert.
            await bus.publish_event(logout)
            await bus.publish_event(
                event_at(LoggedOut, "wxid_a", now + timedelta(seconds=1), reason="kicked")
            )

            async def everyone_told() -> bool:
                return all(robots.of(name) for name in ROBOTS) and bool(mailbox.messages)

            await until(everyone_told, what="an alert on every channel")
            admin_says = await bus.says(lambda say: say.contact_id == "admin1")
            await bus.consumer_settled("ops")
            await until(lambda: outbox_empty(redis_url), what="every delivery settled")

    assert {name: len(robots.of(name)) for name in ROBOTS} == dict.fromkeys(ROBOTS, 1)
    assert len(mailbox.messages) == 1
    assert "wxid_a" in mailbox.messages[0]["Subject"]
    assert robots.refused == []
    (say,) = admin_says
    assert isinstance(say, SayText)
    assert say.priority == "notice"
    assert bus.matching("qun.cmd.wxid_b.say")
    assert not bus.matching("qun.cmd.wxid_a.*")
    assert len(bus.matching("qun.cmd.*.say")) == 1
    assert "kicked" in robots.of("feishu")[0]["content"]["text"]


async def test_a_new_login_resolves_the_logout_and_the_qr_alert_links_the_page(
    bus: Bus, run_service: RunService
) -> None:
    now = datetime.now(UTC)
    async with serving_robots() as robots, serving_mailbox() as mailbox:
        settings = {**channel_settings(robots, mailbox), "wechat_alerts": False}
        async with run_service(service, **settings):
            await bus.publish_event(event_at(LoggedOut, "wxid_a", now))
            await until(lambda: _has(robots, "webhook", 1), what="the logout alert")
            await bus.publish_event(
                event_at(
                    ScanUpdated, "wxid_a", now + timedelta(seconds=1), status="waiting", qrcode="weixin://x"
                )
            )
            await until(lambda: _has(robots, "webhook", 2), what="the scan alert")
            await bus.publish_event(event_at(LoggedIn, "wxid_a", now + timedelta(seconds=2), name="A"))
            await until(lambda: _has(robots, "webhook", 3), what="the resolution")
            await bus.consumer_settled("ops")
    hooks = robots.of("webhook")
    assert [(hook["alert"]["kind"], hook["status"]) for hook in hooks] == [
        ("logged_out", "firing"),
        ("scan_needed", "firing"),
        ("logged_out", "resolved"),  # the scan alert ends quietly: the login says it all
    ]
    assert hooks[1]["alert"]["link"] == "https://gw.example/qr"


async def test_without_a_qr_page_configured_the_scan_alert_links_the_published_image(
    bus: Bus, run_service: RunService
) -> None:
    async with serving_robots() as robots:
        hook = {k: v for k, v in robots.settings().items() if k.startswith("webhook")}
        async with run_service(service, **hook):
            scan = event_at(
                ScanUpdated,
                "pending",
                datetime.now(UTC),
                status="waiting",
                qrcode="weixin://x",
                url="https://img/x",
            )
            await bus.publish_event(scan)
            await until(lambda: _has(robots, "webhook", 1), what="the scan alert")
    assert robots.of("webhook")[0]["alert"]["link"] == "https://img/x"


async def _has(robots: Robots, name: str, count: int) -> bool:
    return len(robots.of(name)) >= count


async def test_a_late_logout_after_a_login_makes_no_alert(
    bus: Bus, run_service: RunService, redis_url: str
) -> None:
    now = datetime.now(UTC)
    async with run_service(service, wechat_alerts=False):
        await bus.publish_event(event_at(LoggedIn, "wxid_a", now, name="A"))
        await bus.consumer_settled("ops")
        await bus.publish_event(event_at(LoggedOut, "wxid_a", now - timedelta(minutes=1)))
        await bus.consumer_settled("ops")
        redis = Redis.from_url(redis_url, decode_responses=True)
        try:
            assert await redis.hlen(keys.ACTIVE_ALERTS) == 0
            (account,) = await AccountBook(redis).all()
            assert account.logged_in
        finally:
            await redis.aclose()


async def test_rooms_are_learnt_from_events(bus: Bus, run_service: RunService, redis_url: str) -> None:
    async with run_service(service):
        await bus.publish_event(message("hello", room=ROOM, talker=ALICE, mentions_bot=False))
        await bus.publish_event(
            RoomJoined(id=new_id(), bot_id="bot", timestamp=datetime.now(UTC), room=OTHER_ROOM, invitees=[])
        )
        await bus.consumer_settled("ops")
        await bus.publish_event(
            RoomLeft(
                id=new_id(),
                bot_id="bot",
                timestamp=datetime.now(UTC),
                room=OTHER_ROOM,
                leavers=[{"id": "bot", "name": "QunBot"}],  # type: ignore[list-item]
            )
        )
        await bus.consumer_settled("ops")
    redis = Redis.from_url(redis_url, decode_responses=True)
    try:
        rooms = {room.id: room for room in await RoomBook(redis).rooms(["bot"])}
    finally:
        await redis.aclose()
    assert rooms[ROOM.id].topic == ROOM.topic
    assert rooms[ROOM.id].member_count == ROOM.member_count
    assert not rooms[ROOM.id].gone
    assert rooms[OTHER_ROOM.id].gone
