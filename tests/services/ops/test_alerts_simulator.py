"""Alerts from the real gateway: on the simulated WeChat a fresh login asks for a QR scan (alert with the link), the
scan logs in (the alert ends), the account is logged out (one alert per channel, two ops replicas); a gateway whose
puppet service is unreachable alerts after the threshold."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from redis.asyncio import Redis

from schemas import GatewayErrored, GatewayReady, LoggedOut, ScanUpdated
from services.gateway.app import make_service as make_gateway
from services.gateway.settings import GatewaySettings
from services.ops import keys
from services.ops.app import service as ops
from services.simulator.puppet import SimulatorPuppet
from services.simulator.world import SimulatorWorld
from tests.conftest import Bus, RunService
from tests.services.ops.robots import serving_mailbox, serving_robots
from tools.servers import free_port

ROBOTS = ("webhook", "wecom", "dingtalk", "feishu", "serverchan")


async def until(check: Callable[[], Awaitable[bool] | bool], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if await result if isinstance(result, Awaitable) else result:
            return
        assert time.monotonic() < deadline, f"{what} not reached within {timeout}s"
        await asyncio.sleep(0.05)


@pytest.mark.slow
async def test_scan_login_and_logout_on_the_simulator_alert_every_channel_once(
    run_service: RunService, bus: Bus, redis_url: str
) -> None:
    world = SimulatorWorld()
    puppet = SimulatorPuppet(world, require_scan=True)

    @asynccontextmanager
    async def simulated(_: GatewaySettings) -> AsyncIterator[SimulatorPuppet]:
        yield puppet

    async with serving_robots() as robots, serving_mailbox() as mailbox:
        settings: dict[str, Any] = {
            **robots.settings(),
            "smtp_host": mailbox.host,
            "smtp_port": mailbox.port,
            "smtp_security": "none",
            "smtp_to": "ops@example.org",
            "qr_url": "https://gw.example/qr",
            "poll_s": 0.2,
            "alert_lang": "en",
        }
        async with (
            run_service(ops, **settings),
            run_service(ops, **settings),
            run_service(make_gateway(simulated), show_qr=False),
        ):
            await bus.wait_for(
                "qun.evt.*.scan", ScanUpdated, lambda scan: scan.status == "waiting", timeout=20
            )
            await until(
                lambda: all(robots.of(name) for name in ROBOTS) and bool(mailbox.messages), "scan alerts"
            )
            assert "https://gw.example/qr" in robots.of("feishu")[0]["content"]["text"]

            await puppet.confirm_scan()
            await bus.wait_for(f"qun.evt.{world.bot_id}.ready", GatewayReady, timeout=20)
            await puppet.logout()
            await bus.wait_for(f"qun.evt.{world.bot_id}.logout", LoggedOut, timeout=20)
            await until(lambda: all(len(robots.of(name)) == 2 for name in ROBOTS), "logout alerts")
            await until(lambda: len(mailbox.messages) == 2, "logout e-mail")
            await bus.consumer_settled("ops")
            redis = Redis.from_url(redis_url, decode_responses=True)
            try:
                await until(lambda: _outbox_empty(redis), "every delivery settled")
            finally:
                await redis.aclose()

    assert robots.refused == []
    kinds = [(hook["alert"]["kind"], hook["status"]) for hook in robots.of("webhook")]
    assert kinds == [("scan_needed", "firing"), ("logged_out", "firing")]  # the scan's end is quiet
    assert {name: len(robots.of(name)) for name in ROBOTS} == dict.fromkeys(ROBOTS, 2)
    assert [message["Subject"] for message in mailbox.messages] == [
        "[qunbus] QR scan needed to log in: pending",
        f"[qunbus] WeChat account logged out: {world.bot_id}",
    ]


async def _outbox_empty(redis: Redis) -> bool:
    return await redis.zcard(keys.OUTBOX) == 0


@pytest.mark.slow
async def test_a_gateway_that_cannot_reach_its_puppet_service_alerts_after_the_threshold(
    run_service: RunService, bus: Bus, tmp_path: Any
) -> None:
    async with serving_robots() as robots:
        hook = {k: v for k, v in robots.settings().items() if k.startswith("webhook")}
        async with (
            run_service(ops, **hook, poll_s=0.2, unreachable_after_s=1.0),
            run_service(
                make_gateway(),
                puppet="service",
                puppet_service_endpoint=f"127.0.0.1:{free_port()}",  # nothing listens there
                puppet_service_token="insecure_test",
                wechaty_dir=tmp_path / "wechaty",
                reconnect_min_s=0.2,
                reconnect_max_s=0.5,
                show_qr=False,
            ),
        ):
            await bus.wait_for("qun.evt.*.error", GatewayErrored, timeout=20)
            await until(lambda: bool(robots.of("webhook")), "the unreachable alert")
    (hook_payload,) = robots.of("webhook")
    assert hook_payload["alert"]["kind"] == "unreachable"
    assert hook_payload["alert"]["bot_id"] == "pending"
    assert "puppet" in hook_payload["alert"]["title_en"]
