"""The ops service: alerts for operators, broadcasts to many rooms, and the console. Internal: members never see
it in help, and no room can switch it off.

Handlers turn gateway events into account and room facts and into alerts; background loops poll the system (one
replica at a time), deliver alerts, and carry broadcasts out; the console's routes live under /ops on HTTP_PORT.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
from nats.aio.client import Client as NatsClient
from redis.asyncio import Redis

from schemas import (
    Command,
    GatewayErrored,
    GatewayReady,
    LoggedIn,
    LoggedOut,
    MessageReceived,
    RoomJoined,
    RoomLeft,
    RoomTopicChanged,
    SayText,
    ScanUpdated,
    SendFile,
    streams,
    subjects,
)
from services.ops import alerts, bus, channels, keys
from services.ops.accounts import AccountBook, RoomBook
from services.ops.book import AlertBook, BookPolicy
from services.ops.broadcast import BroadcastRunner
from services.ops.console import ROUTES, Console
from services.ops.monitor import Monitor
from services.ops.operations import Operations
from services.ops.settings import OpsSettings
from services.shared import AppContext, Context, QunService, Runtime
from services.shared.http import Request, Response

log = logging.getLogger("qunbus.ops")

VERSION = "0.1.0"


@dataclass
class Deps:
    settings: OpsSettings
    redis: Redis
    http: httpx.AsyncClient
    accounts: AccountBook
    rooms: RoomBook
    book: AlertBook
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    """Set when a notification was queued by this replica: deliver now rather than at the next tick."""
    channels: list[channels.Channel] = field(default_factory=list)
    nats: NatsClient | None = None
    operations: Operations | None = None
    monitor: Monitor | None = None
    runner: BroadcastRunner | None = None
    console: Console | None = None

    def connected(self) -> tuple[NatsClient, Operations, Monitor, BroadcastRunner]:
        if self.nats is None or self.operations is None or self.monitor is None or self.runner is None:
            raise RuntimeError("the ops service is not connected yet")
        return self.nats, self.operations, self.monitor, self.runner

    async def fire(self, alert: alerts.Alert, ctx: AppContext[OpsSettings, Deps]) -> None:
        if await self.book.fire(alert, ctx.now()) is not None:
            self.wake.set()

    async def resolve(self, key: str, ctx: AppContext[OpsSettings, Deps]) -> None:
        if await self.book.resolve(key, ctx.now()) is not None:
            self.wake.set()


@contextlib.asynccontextmanager
async def open_deps(settings: OpsSettings, redis: Redis) -> AsyncIterator[Deps]:
    async with httpx.AsyncClient(timeout=settings.http_timeout_s) as http:
        accounts = AccountBook(redis)
        probe = channels.configured(settings, http, send=_unused_send, logged_in=accounts.logged_in_ids)
        policy = BookPolicy(
            repeat_s=settings.alert_repeat_s,
            max_per_hour=settings.alert_max_per_hour,
            retry_s=settings.alert_retry_s,
            attempts=settings.alert_attempts,
        )
        book = AlertBook(redis, [channel.name for channel in probe], policy)
        yield Deps(settings, redis, http, accounts, RoomBook(redis), book)


async def _unused_send(_bot_id: str, _command: SayText) -> None:
    raise RuntimeError("not connected")


service: QunService[OpsSettings, Deps] = QunService(
    "ops",
    version=VERSION,
    settings=OpsSettings,
    deps=open_deps,
    title_zh="运维",
    title_en="operations",
    summary_zh="运维：告警、群发和控制台",
    summary_en="Operations: alerts, broadcasts and the console",
    switchable=False,
    internal=True,
    publishes=(SayText, SendFile),
    # Operator tooling: gateway status, stream and consumer state, dead letters (read, replay, purge).
    nats_publish=(
        subjects.gateway_status(subjects.ANY_BOT),
        *(f"$JS.API.STREAM.INFO.{stream.name}" for stream in streams.ALL),
        f"$JS.API.CONSUMER.LIST.{streams.EVENTS.name}",
        f"$JS.API.CONSUMER.LIST.{streams.COMMANDS.name}",
        f"$JS.API.CONSUMER.INFO.{streams.COMMANDS.name}.gateway-*",
        f"$JS.API.STREAM.MSG.GET.{streams.DEAD_LETTERS.name}",
        f"$JS.API.STREAM.MSG.DELETE.{streams.DEAD_LETTERS.name}",
        f"$JS.API.STREAM.PURGE.{streams.DEAD_LETTERS.name}",
        f"{subjects.EVENTS}.>",  # dead-letter replay to the original subject
        f"{subjects.COMMANDS}.>",
    ),
)


@service.on_start
async def connect(runtime: Runtime[OpsSettings, Deps]) -> None:
    deps = runtime.context.deps
    connection = runtime.broker.connection
    deps.nats = connection

    async def send(bot_id: str, command: Command) -> None:
        await bus.publish_command(connection, bot_id, command)

    async def publish(bot_id: str, command: Command) -> int:
        return await bus.publish_command(connection, bot_id, command)

    async def floor(bot_id: str) -> int | None:
        return await bus.ack_floor(connection, bot_id)

    deps.channels = channels.configured(
        deps.settings, deps.http, send=send, logged_in=deps.accounts.logged_in_ids
    )
    deps.operations = Operations(
        deps.settings, deps.redis, connection, deps.book, clock=runtime.clock, prefs=runtime.context.room
    )
    deps.monitor = Monitor(
        deps.settings,
        redis=deps.redis,
        connection=connection,
        book=deps.book,
        accounts=deps.accounts,
        instance=runtime.instance,
    )
    deps.runner = BroadcastRunner(
        deps.operations.broadcast_store,
        publish,
        floor,
        runtime.clock.now,
        window=deps.settings.broadcast_window,
        owner=runtime.instance,
    )
    deps.console = console = Console(deps.settings, deps.operations)
    if console.enabled:
        log.info("ops console on /ops of the HTTP port")
    else:
        log.info("ops console off: set OPS_CONSOLE_TOKEN to turn it on")


# -- accounts and alerts from the gateway's events ---------------------------------------------------------------


@service.on(LoggedOut)
async def on_logged_out(event: LoggedOut, ctx: Context[OpsSettings, Deps]) -> None:
    deps = ctx.deps
    if await deps.accounts.logged_out(event.bot_id, event.timestamp):
        await deps.fire(alerts.logged_out(event.bot_id, event.reason, ctx.now()), ctx)


@service.on(LoggedIn)
async def on_logged_in(event: LoggedIn, ctx: Context[OpsSettings, Deps]) -> None:
    deps = ctx.deps
    if await deps.accounts.logged_in(event.bot_id, event.name, event.timestamp):
        await deps.redis.hdel(keys.TROUBLE, event.bot_id)
        await deps.resolve(f"{alerts.LOGGED_OUT}:{event.bot_id}", ctx)
        await deps.resolve(f"{alerts.SCAN_NEEDED}:{event.bot_id}", ctx)


@service.on(ScanUpdated)
async def on_scan(event: ScanUpdated, ctx: Context[OpsSettings, Deps]) -> None:
    deps = ctx.deps
    await deps.accounts.scan(event.bot_id, event.status, event.qrcode or "", event.timestamp)
    if event.status == "waiting" and event.qrcode:
        # The gateway's page (OPS_QR_URL) shows the current code; else the image link the gateway published.
        link = ctx.settings.qr_link(event.bot_id) or event.url or ""
        await deps.fire(alerts.scan_needed(event.bot_id, link, ctx.now()), ctx)
    elif event.status == "confirmed":
        await deps.resolve(f"{alerts.SCAN_NEEDED}:{event.bot_id}", ctx)


@service.on(GatewayErrored)
async def on_gateway_error(event: GatewayErrored, ctx: Context[OpsSettings, Deps]) -> None:
    await ctx.deps.redis.hsetnx(keys.TROUBLE, event.bot_id, event.timestamp.isoformat())
    await ctx.deps.accounts.seen(event.bot_id, event.timestamp)


@service.on(GatewayReady)
async def on_gateway_ready(event: GatewayReady, ctx: Context[OpsSettings, Deps]) -> None:
    await ctx.deps.redis.hdel(keys.TROUBLE, event.bot_id)
    await ctx.deps.accounts.seen(event.bot_id, event.timestamp)


# -- rooms the accounts are in ----------------------------------------------------------------------------------


@service.on(MessageReceived)
async def on_message(event: MessageReceived, ctx: Context[OpsSettings, Deps]) -> None:
    if event.room is not None:
        await ctx.deps.rooms.observe(event.bot_id, event.room, event.timestamp)


@service.on(RoomJoined)
async def on_room_join(event: RoomJoined, ctx: Context[OpsSettings, Deps]) -> None:
    await ctx.deps.rooms.observe(event.bot_id, event.room, event.timestamp)


@service.on(RoomTopicChanged)
async def on_room_topic(event: RoomTopicChanged, ctx: Context[OpsSettings, Deps]) -> None:
    await ctx.deps.rooms.observe(event.bot_id, event.room, event.timestamp)


@service.on(RoomLeft)
async def on_room_leave(event: RoomLeft, ctx: Context[OpsSettings, Deps]) -> None:
    if any(leaver.id == event.bot_id for leaver in event.leavers):
        await ctx.deps.rooms.left(event.bot_id, event.room.id, event.timestamp)
    else:
        await ctx.deps.rooms.observe(event.bot_id, event.room, event.timestamp)


# -- loops --------------------------------------------------------------------------------------------------------


@service.background
async def watch(app: AppContext[OpsSettings, Deps]) -> None:
    """Poll the system while this replica holds the lease."""
    _, _, monitor, _ = app.deps.connected()
    while True:
        if await monitor.lead() and await monitor.poll(app.now()):
            app.deps.wake.set()
        await asyncio.sleep(app.settings.poll_s)


@service.background
async def deliver(app: AppContext[OpsSettings, Deps]) -> None:
    """Send queued alert notifications (every replica; each delivery is claimed by one)."""
    deps = app.deps
    while True:
        deps.wake.clear()
        await deps.book.deliver_due(deps.channels, app.now())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(deps.wake.wait(), timeout=1.0)


@service.background
async def run_broadcasts(app: AppContext[OpsSettings, Deps]) -> None:
    """Carry out active broadcasts, each by one runner at a time (a lease), concurrently."""
    _, operations, _, runner = app.deps.connected()
    running: dict[str, asyncio.Task[bool]] = {}
    try:
        while True:
            for broadcast_id in await operations.broadcast_store.active():
                task = running.get(broadcast_id)
                if task is None or task.done():
                    running[broadcast_id] = asyncio.create_task(runner.run(broadcast_id))
            for broadcast_id, task in list(running.items()):
                if task.done():
                    del running[broadcast_id]
                    if not task.cancelled() and task.exception() is not None:
                        log.error("broadcast %s failed; retrying", broadcast_id, exc_info=task.exception())
            await asyncio.sleep(runner.tick_s)
    finally:
        for task in running.values():
            task.cancel()
        await asyncio.gather(*running.values(), return_exceptions=True)


# -- the console ----------------------------------------------------------------------------------------------------


def _console_route(method: str, path: str) -> None:
    async def handle(request: Request, app: AppContext[OpsSettings, Deps]) -> Response:
        console = app.deps.console
        if console is None:
            return Response.text("starting", 503)
        return await console.handle(method, path, request)

    service.route(method, path)(handle)


for _method, _path in ROUTES:
    _console_route(_method, _path)
