"""The gateway service: the only process that talks to WeChat. One process per WeChat account.

    GATEWAY_PUPPET=service    a wechaty puppet service (WECHATY_PUPPET_SERVICE_ENDPOINT / _TOKEN), real WeChat
    GATEWAY_PUPPET=simulator  the local simulated WeChat (services.simulator), its page and API on SIMULATOR_PORT

Publishes `qun.evt.<bot_id>.*`, executes `qun.cmd.<bot_id>.*`, answers `qun.gw.<bot_id>.status`, and serves the
login QR code on `/qr` of HTTP_PORT.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from redis.asyncio import Redis

from services.gateway import metrics, qr
from services.gateway.gateway import Gateway
from services.gateway.settings import GatewaySettings
from services.shared import AppContext, QunService, Runtime
from services.shared.http import Request, Response

VERSION = "0.1.0"

log = logging.getLogger("qunbus.gateway")

PuppetSource = Callable[[GatewaySettings], AbstractAsyncContextManager[Any]]
"""Yields an in-process puppet for the session (or None for the puppet service in the settings)."""


@contextlib.asynccontextmanager
async def configured_puppet(settings: GatewaySettings) -> AsyncIterator[Any]:
    if settings.puppet == "service":
        yield None
        return
    # Imported only when asked for: a production gateway does not load the simulator.
    simulator = importlib.import_module("services.simulator.world")
    puppet_module = importlib.import_module("services.simulator.puppet")
    http = importlib.import_module("services.simulator.http")
    world = simulator.SimulatorWorld()
    # A taken port fails the start (rather than a gateway whose page is someone else's server).
    async with http.serving(world, settings.simulator_host, settings.simulator_port) as url:
        log.info("simulator page and API on %s", url)
        yield puppet_module.SimulatorPuppet(world)


def make_service(puppet_source: PuppetSource = configured_puppet) -> QunService[GatewaySettings, Gateway]:
    """The gateway service; tests pass their own `puppet_source` (a simulated world they drive)."""

    @contextlib.asynccontextmanager
    async def open_gateway(settings: GatewaySettings, redis: Redis) -> AsyncIterator[Gateway]:
        async with puppet_source(settings) as puppet:
            gateway = Gateway(settings, redis, puppet)
            try:
                with metrics.registered(metrics.GatewayCollector(gateway.status, gateway.unknown_outcomes)):
                    yield gateway
            finally:
                await gateway.close()

    service: QunService[GatewaySettings, Gateway] = QunService(
        "gateway",
        version=VERSION,
        settings=GatewaySettings,
        deps=open_gateway,
        summary_zh="连接微信：发布群消息与事件，执行发送与群管理命令",
        summary_en="The WeChat connection: publishes messages and events, carries out sends and room changes",
        switchable=False,
        internal=True,
        publishes=(),  # events, per account, with the gateway's own NATS user (permissions.gateway_permissions)
    )

    @service.on_start
    async def attach(runtime: Runtime[GatewaySettings, Gateway]) -> None:
        gateway = runtime.context.deps
        gateway.attach(runtime.publish, runtime.dead_letter, runtime.broker.connection, runtime.tracer)
        world = getattr(gateway.in_process_puppet, "world", None)
        if (
            world is not None
        ):  # the simulator's page also shows the bus: services, events, dead letters, queue
            admin = importlib.import_module("services.simulator.admin")
            monitor = admin.BusMonitor(runtime.broker.connection, gateway.bot_id)
            await monitor.start()
            world.admin_source = monitor.snapshot

    @service.health_check
    def carrying_out_commands(ctx: AppContext[GatewaySettings, Gateway]) -> bool:
        return ctx.deps.healthy()

    @service.background
    async def keep_wechat_connected(ctx: AppContext[GatewaySettings, Gateway]) -> None:
        await ctx.deps.run()

    @service.route("GET", "/qr")
    async def login_qr_code(_: Request, ctx: AppContext[GatewaySettings, Gateway]) -> Response:
        gateway = ctx.deps
        status = "logged in" if gateway.logged_in else gateway.qr_status
        return Response(200, qr.page(gateway.qr_code, status).encode(), "text/html; charset=utf-8")

    return service


service = make_service()
