"""qunctl against a real nats-server (JetStream) and redis-server: dead letters listed, shown, replayed with their
message ids and purged by filter; rooms, broadcasts (dry run, send, status, cancel), room lists, services, alerts."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from pydantic import SecretStr
from redis.asyncio import Redis

from schemas import DeadLettered, GatewayStatus, Room, SayText, streams, subjects
from services.ops import alerts
from services.ops.accounts import AccountBook, RoomBook
from services.ops.app import service as ops
from services.ops.book import AlertBook, BookPolicy
from services.ops.settings import OpsSettings
from tests.conftest import Bus, RunService
from tests.factories import message
from tools import qunctl

T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


@pytest.fixture
def settings(nats_url: str, redis_url: str) -> OpsSettings:
    return OpsSettings(nats_url=nats_url, redis_url=SecretStr(redis_url))


async def qunctl_run(settings: OpsSettings, *argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = await qunctl.run(list(argv), settings=settings, out=out)
    return code, out.getvalue()


async def qunctl_json(settings: OpsSettings, *argv: str) -> Any:
    code, text = await qunctl_run(settings, "--json", *argv)
    assert code == 0, text
    return json.loads(text)


async def dead_letter(nc: NatsClient, service: str, event: Any, at: datetime, **fields: Any) -> None:
    payload = event.model_dump_json()
    letter = DeadLettered(
        service=service,
        subject=subjects.event(event.bot_id, type(event)),
        payload=payload,
        payload_sha256=hashlib.sha256(payload.encode()).hexdigest(),
        payload_bytes=len(payload.encode()),
        error="ValueError: boom",
        deliveries=5,
        stream_sequence=1,
        failed_at=at,
        **fields,
    )
    await nc.jetstream().publish(
        subjects.dead_letter(service),
        letter.model_dump_json().encode(),
        headers={"Nats-Msg-Id": event.id + service},
    )


async def test_dead_letters_list_show_and_filter(settings: OpsSettings, nc: NatsClient) -> None:
    await dead_letter(nc, "tagger", message("一"), T0)
    await dead_letter(nc, "moderator", message("二"), T0 + timedelta(hours=1))
    await dead_letter(nc, "tagger", message("三", room=None), T0 + timedelta(hours=2))

    listed = await qunctl_json(settings, "dlq", "list")
    assert [(item["seq"], item["service"]) for item in listed] == [
        (1, "tagger"),
        (2, "moderator"),
        (3, "tagger"),
    ]
    assert [i["seq"] for i in await qunctl_json(settings, "dlq", "list", "--service", "tagger")] == [1, 3]
    since = (T0 + timedelta(minutes=30)).isoformat()
    assert [i["seq"] for i in await qunctl_json(settings, "dlq", "list", "--since", since)] == [2, 3]
    until = (T0 + timedelta(minutes=90)).isoformat()
    assert [i["seq"] for i in await qunctl_json(settings, "dlq", "list", "--until", until)] == [1, 2]
    by_subject = await qunctl_json(settings, "dlq", "list", "--subject", "qun.evt.*.message", "--limit", "2")
    assert [i["seq"] for i in by_subject] == [1, 2]

    shown = await qunctl_json(settings, "dlq", "show", "2")
    assert shown["service"] == "moderator"
    assert json.loads(shown["payload"])["body"] == "二"
    code, text = await qunctl_run(settings, "dlq", "list")
    assert code == 0
    assert text.splitlines()[0].split() == ["seq", "service", "subject", "failed_at", "deliveries", "error"]
    assert (await qunctl_run(settings, "dlq", "show", "99"))[0] == 1


async def test_replay_keeps_the_message_id_so_a_second_replay_is_dropped(
    settings: OpsSettings, nc: NatsClient, bus: Bus
) -> None:
    event = message("重放我")
    await dead_letter(nc, "tagger", event, T0)
    await dead_letter(nc, "tagger", message("cut"), T0, truncated=True)

    first = await qunctl_json(settings, "dlq", "replay", "1")
    assert first == [{"seq": 1, "outcome": "replayed", "detail": f"qun.evt.bot.message as {event.id}"}]
    replayed = await nc.jetstream().get_last_msg(streams.EVENTS.name, "qun.evt.bot.message")
    assert replayed.headers is not None
    assert replayed.headers["Nats-Msg-Id"] == event.id
    assert json.loads(replayed.data or b"")["body"] == "重放我"
    again = await qunctl_json(settings, "dlq", "replay", "1")
    assert again[0]["outcome"] == "duplicate"
    assert (await nc.jetstream().stream_info(streams.EVENTS.name)).state.messages == 1

    code, text = await qunctl_run(settings, "--json", "dlq", "replay", "2")
    assert code == 1
    assert json.loads(text)[0] == {"seq": 2, "outcome": "refused", "detail": "payload cut (truncated)"}


async def test_replay_and_purge_need_a_selection(settings: OpsSettings, nc: NatsClient) -> None:
    await dead_letter(nc, "tagger", message("x"), T0)
    code, text = await qunctl_run(settings, "dlq", "purge")
    assert code == 2
    assert "--all" in text
    assert (await qunctl_json(settings, "dlq", "list")) != []


async def test_purge_by_service_by_time_and_by_sequence(settings: OpsSettings, nc: NatsClient) -> None:
    for n, service in enumerate(["tagger", "tagger", "moderator", "scheduler", "scheduler"]):
        await dead_letter(nc, service, message(f"m{n}"), T0 + timedelta(hours=n))

    assert await qunctl_json(settings, "dlq", "purge", "--service", "tagger", "--dry-run") == {
        "deleted": 2,
        "dry_run": True,
    }
    assert (await qunctl_json(settings, "dlq", "purge", "--service", "tagger"))["deleted"] == 2
    later = (T0 + timedelta(hours=3, minutes=30)).isoformat()
    assert (await qunctl_json(settings, "dlq", "purge", "--since", later))["deleted"] == 1
    assert (await qunctl_json(settings, "dlq", "purge", "3"))["deleted"] == 1
    left = await qunctl_json(settings, "dlq", "list")
    assert [(item["seq"], item["service"]) for item in left] == [(4, "scheduler")]
    assert (await qunctl_json(settings, "dlq", "purge", "--all"))["deleted"] == 1
    assert await qunctl_json(settings, "dlq", "list") == []


async def seed_rooms(redis: Redis) -> None:
    rooms = RoomBook(redis)
    for room_id, topic, members in [
        ("r1@chatroom", "开源交流群", 120),
        ("r2@chatroom", "开源交流群 二群", 80),
        ("r3@chatroom", "Test Room", 5),
    ]:
        await rooms.observe("bot", Room(id=room_id, topic=topic, member_count=members), T0)
    await AccountBook(redis).logged_in("bot", "QunBot", T0)


async def test_rooms_and_broadcast_dry_run(settings: OpsSettings, redis: Redis, bus: Bus) -> None:
    await seed_rooms(redis)
    rooms = await qunctl_json(settings, "rooms", "--match", "开源*")
    assert [room["id"] for room in rooms] == ["r1@chatroom", "r2@chatroom"]
    code, text = await qunctl_run(
        settings, "broadcast", "send", "--text", "hi", "--match", "开源", "--dry-run"
    )
    assert code == 0
    assert "开源交流群 二群" in text
    assert "2 room(s); nothing sent (dry run)" in text
    assert bus.matching("qun.cmd.>") == []
    code, text = await qunctl_run(
        settings, "broadcast", "send", "--text", "hi", "--room", "nope", "--dry-run"
    )
    assert code == 2
    assert "rooms not known to the bot: nope" in text


async def test_broadcast_send_detached_status_and_cancel(
    settings: OpsSettings, redis: Redis, bus: Bus
) -> None:
    await seed_rooms(redis)
    assert (await qunctl_run(settings, "roomlist", "save", "weekly", "r1@chatroom", "r3@chatroom"))[0] == 0
    assert await qunctl_json(settings, "roomlist") == {"weekly": ["r1@chatroom", "r3@chatroom"]}
    created = await qunctl_json(
        settings, "broadcast", "send", "--text", "周会改到周五", "--list", "weekly", "--detach"
    )
    assert created["rooms"] == 2
    status = await qunctl_json(settings, "broadcast", "status", created["id"])
    assert [room["state"] for room in status["rooms"]] == ["waiting", "waiting"]
    assert (await qunctl_json(settings, "broadcast", "cancel", created["id"]))["cancelled"]
    listed = await qunctl_json(settings, "broadcast", "list")
    assert [(item["id"], item["cancelled"]) for item in listed] == [(created["id"], True)]
    assert bus.matching("qun.cmd.>") == []  # detached, and no ops service ran it


async def test_broadcast_send_follows_progress_until_cancelled(
    settings: OpsSettings, redis: Redis, bus: Bus
) -> None:
    """No gateway consumes the commands: the first window waits; a cancel from elsewhere ends the rest."""
    await seed_rooms(redis)
    narrow = settings.model_copy(update={"broadcast_window": 1})
    out = io.StringIO()

    async def cancel_when_handed_over() -> None:
        while not bus.matching("qun.cmd.bot.say"):
            await asyncio.sleep(0.02)
        (broadcast_id,) = await redis.smembers("qun:ops:broadcasts:active")
        await qunctl_run(settings, "broadcast", "cancel", str(broadcast_id))

    canceller = asyncio.create_task(cancel_when_handed_over())
    sending = asyncio.create_task(
        qunctl.run(["broadcast", "send", "--text", "通知", "--match", "开源*"], settings=narrow, out=out)
    )
    await canceller
    # The one message at the "gateway" is never acknowledged: the runner keeps waiting for it; stop it.
    sending.cancel()
    with pytest.raises(asyncio.CancelledError):
        await sending
    says = bus.commands(SayText)
    assert len(says) == 1
    assert says[0].priority == "broadcast"
    assert "[" in out.getvalue()
    assert "1 waiting" in out.getvalue()


async def test_services_accounts_and_alerts(
    settings: OpsSettings, run_service: RunService, redis: Redis
) -> None:
    async with run_service(ops):
        services = await qunctl_json(settings, "services")
        assert [(s["name"], len(s["instances"])) for s in services["live"]] == [("ops", 1)]
    await AccountBook(redis).logged_in("bot", "QunBot", T0)
    accounts = await qunctl_json(settings, "accounts")
    assert [(a["bot_id"], a["logged_in"], a["answering"]) for a in accounts] == [("bot", True, False)]
    alerts = await qunctl_json(settings, "alerts")
    assert alerts == {"active": [], "recent": []}
    code, text = await qunctl_run(settings, "alerts", "test")
    assert code == 1
    assert "no alert channel is configured" in text
    queues = await qunctl_json(settings, "queues")
    assert {c["name"] for c in queues["consumers"]} == {"ops"}


def test_tables_align_chinese_text_and_show_times_to_the_second() -> None:
    out = io.StringIO()
    qunctl.table(
        [{"topic": "开源交流群", "at": "2026-11-22T01:00:00.123456+00:00"}, {"topic": "Test", "at": None}],
        ["topic", "at"],
        out,
    )
    local = datetime(2026, 11, 22, 1, tzinfo=UTC).astimezone().strftime("%Y-%m-%d %H:%M:%S")
    assert out.getvalue().splitlines() == [
        "topic       at",  # 开源交流群 takes ten columns in a terminal
        f"开源交流群  {local}",
        "Test        -",
    ]


async def test_budgets_from_the_gateway_and_recent_alerts(
    settings: OpsSettings, nc: NatsClient, redis: Redis
) -> None:
    status = GatewayStatus(
        bot_id="bot",
        logged_in=True,
        daily_used={"text": 450, "file": 3},
        daily_limits={"text": 500, "file": 50},
    )

    async def reply(request: Msg) -> None:
        await request.respond(status.model_dump_json().encode())

    await nc.subscribe(subjects.gateway_status("bot"), cb=reply)
    await AccountBook(redis).logged_in("bot", "QunBot", T0)
    assert await qunctl_json(settings, "budgets") == [
        {"account": "bot", "kind": "file", "used": 3, "limit": 50, "share": "6%"},
        {"account": "bot", "kind": "text", "used": 450, "limit": 500, "share": "90%"},
    ]
    code, text = await qunctl_run(settings, "accounts")
    assert code == 0
    assert "file 3/50 text 450/500" in text

    await AlertBook(redis, ["webhook"], BookPolicy()).fire(alerts.logged_out("bot", "", T0), T0)
    shown = await qunctl_json(settings, "alerts")
    assert [record["alert"]["key"] for record in shown["active"]] == ["logged_out:bot"]
    assert shown["recent"][0]["deliveries"] == {"webhook": "pending"}
