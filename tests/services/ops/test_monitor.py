"""The periodic look over real NATS and Redis: gateways asked on `qun.gw.<bot>.status` (answered here as the
gateway would), the registry, JetStream consumers and the dead-letter stream; time moved by hand."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.js.api import ConsumerConfig
from redis.asyncio import Redis

from examples.dingdong.app import service as dingdong
from schemas import DeadLettered, GatewayStatus, streams, subjects
from services.ops import alerts, keys
from services.ops.accounts import AccountBook
from services.ops.book import AlertBook, BookPolicy
from services.ops.monitor import Monitor
from services.ops.settings import OpsSettings
from tests.conftest import Bus, RunService
from tests.factories import message

T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def monitor_for(nc: NatsClient, redis: Redis, **settings: object) -> tuple[Monitor, AlertBook]:
    config = OpsSettings(
        **{"bots": ("wxid_bot",), **settings},  # type: ignore[arg-type]
        unreachable_after_s=300,
        lag_threshold=3,
        lag_for_s=60,
        service_gone_after_s=90,
        discover_window_s=0.3,
    )
    book = AlertBook(redis, ["webhook"], BookPolicy())
    return Monitor(
        config, redis=redis, connection=nc, book=book, accounts=AccountBook(redis), instance="m1"
    ), book


async def active_keys(book: AlertBook) -> set[str]:
    return {record["alert"]["key"] for record in await book.active()}


async def answer_status(nc: NatsClient, status: GatewayStatus) -> None:
    async def reply(request: Msg) -> None:
        await request.respond(status.model_dump_json().encode())

    await nc.subscribe(subjects.gateway_status(status.bot_id), cb=reply)


async def test_a_silent_gateway_alerts_after_the_threshold_and_resolves_when_it_answers(
    nc: NatsClient, redis: Redis
) -> None:
    monitor, book = monitor_for(nc, redis)
    assert await monitor.lead()
    await monitor.poll(T0)
    assert await active_keys(book) == set()
    notes = await monitor.poll(T0 + timedelta(minutes=6))
    assert [note.alert.key for note in notes] == ["unreachable:wxid_bot"]
    await answer_status(nc, GatewayStatus(bot_id="wxid_bot", logged_in=True))
    notes = await monitor.poll(T0 + timedelta(minutes=7))
    assert [(note.alert.key, note.status) for note in notes] == [("unreachable:wxid_bot", "resolved")]


async def test_budget_near_its_end_from_the_gateway_status(nc: NatsClient, redis: Redis) -> None:
    await answer_status(
        nc,
        GatewayStatus(
            bot_id="wxid_bot",
            logged_in=True,
            daily_used={"text": 85, "file": 2},
            daily_limits={"text": 100, "file": 20},
        ),
    )
    monitor, book = monitor_for(nc, redis)
    await monitor.poll(T0)
    assert await active_keys(book) == {"budget:wxid_bot:text:near"}
    (account,) = await AccountBook(redis).all(["wxid_bot"])
    assert account.logged_in


async def test_a_service_that_stops_answering_the_registry(
    nc: NatsClient, redis: Redis, run_service: RunService
) -> None:
    monitor, book = monitor_for(nc, redis)
    async with run_service(dingdong):
        await monitor.poll(T0)
    await monitor.poll(T0 + timedelta(seconds=30))
    assert "service_gone:dingdong" not in await active_keys(book)
    notes = await monitor.poll(T0 + timedelta(minutes=2))
    assert "service_gone:dingdong" in [note.alert.key for note in notes]


async def test_consumer_lag_and_dead_letter_growth(nc: NatsClient, redis: Redis, bus: Bus) -> None:
    js = nc.jetstream()
    await js.add_consumer(
        streams.EVENTS.name, ConsumerConfig(durable_name="slowpoke", filter_subject="qun.evt.>")
    )
    monitor, _book = monitor_for(nc, redis)
    await monitor.poll(T0)  # the first look sets the dead-letter baseline
    for n in range(4):
        await bus.publish_event(message(f"m{n}"))
    payload = message("bad").model_dump_json()
    letter = DeadLettered(
        service="tagger",
        subject="qun.evt.bot.message",
        payload=payload,
        payload_sha256=hashlib.sha256(payload.encode()).hexdigest(),
        error="boom",
        deliveries=5,
        failed_at=T0,
    )
    await js.publish(subjects.dead_letter("tagger"), letter.model_dump_json().encode())
    first = await monitor.poll(T0 + timedelta(seconds=10))
    assert [note.alert.key for note in first] == ["dead_letters"]
    assert first[0].alert.title_en == "1 new dead letters (tagger +1)"
    later = await monitor.poll(T0 + timedelta(seconds=75))
    assert [note.alert.key for note in later] == ["lag:QUN_EVT/slowpoke"]


async def test_only_one_replica_polls(nc: NatsClient, redis: Redis) -> None:
    first, _ = monitor_for(nc, redis)
    second = Monitor(
        first.settings,
        redis=redis,
        connection=nc,
        book=AlertBook(redis, [], BookPolicy()),
        accounts=AccountBook(redis),
        instance="m2",
    )
    assert await first.lead()
    assert not await second.lead()
    assert await first.lead()  # renewed
    await redis.delete(keys.LEADER)  # the first one died and its lease lapsed
    assert await second.lead()


async def test_a_gateway_still_named_pending_that_logged_in_resolves_its_scan_alert(
    nc: NatsClient, redis: Redis
) -> None:
    monitor, book = monitor_for(nc, redis, bots=())
    accounts = AccountBook(redis)
    await accounts.scan("pending", "waiting", "weixin://x", T0)
    await book.fire(alerts.scan_needed("pending", "", T0), T0)
    await answer_status(nc, GatewayStatus(bot_id="wxid_new", logged_in=True, name="New"))
    pending_status = GatewayStatus(bot_id="wxid_new", logged_in=True, name="New")

    async def reply(request: Msg) -> None:
        await request.respond(pending_status.model_dump_json().encode())

    await nc.subscribe(
        subjects.gateway_status("pending"), cb=reply
    )  # the same gateway, asked by its old name
    notes = await monitor.poll(T0 + timedelta(minutes=1))
    assert notes == []  # the scan alert ends quietly
    assert await active_keys(book) == set()
    by_id = {account.bot_id: account for account in await accounts.all()}
    assert by_id["pending"].logged_in_as == "wxid_new"
    assert by_id["pending"].qrcode == ""
    assert by_id["wxid_new"].logged_in
