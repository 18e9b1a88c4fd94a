"""Turns one JetStream message into a typed handler call, and decides its fate (ack, retry, dead-letter).

Every cross-cutting rule lives here, once for all services:
- decode and validate; a payload that is not JSON, has another schema_version, or breaks the schema goes to
  `qun.dlq.<service>` at once (retrying cannot fix it);
- the bot's own messages are not delivered; a service switched off for a room sees nothing from it;
- an event older than QUN_MAX_EVENT_AGE_S (since the gateway published it) still runs, but its chat replies are
  dropped (no welcoming people who joined hours ago);
- admin-only chat commands refuse non-admins before the handler runs;
- the message is acked only after the handler returned (its effects stored, its commands published); a handler
  error is retried with backoff up to QUN_MAX_DELIVER deliveries, then dead-lettered with the reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from nats.errors import Error as NatsError
from pydantic import ValidationError

from schemas import SCHEMA_VERSION, DeadLettered, Event, MessageReceived, Room, subjects
from services.shared import metrics
from services.shared.commands import Lang, Match, language_of
from services.shared.context import AppContext, Context

if TYPE_CHECKING:
    from services.shared.service import QunService

log = logging.getLogger("qunbus.dispatch")


class Delivery(Protocol):
    """The part of a JetStream message the dispatcher needs (FastStream's NatsMessage adapts to it)."""

    subject: str
    data: bytes
    deliveries: int
    stream_sequence: int | None
    published_at: datetime

    async def ack(self) -> None: ...
    async def nak(self, delay: float) -> None: ...
    async def in_progress(self) -> None: ...


class BadPayloadError(Exception):
    """The message can never be handled as it is."""


DeadLetter = Callable[[DeadLettered], Awaitable[None]]


class Dispatcher:
    def __init__(
        self,
        service: QunService[Any, Any],
        app: AppContext[Any, Any],
        dead_letter: DeadLetter,
        retry_base_s: float,
    ) -> None:
        self._service = service
        self._app = app
        self._dead_letter = dead_letter
        self._retry_base_s = retry_base_s
        self._in_order: dict[str, asyncio.Lock] = {}
        self._running: dict[Delivery, float] = {}  # handler start times, for the keep-alive

    async def handle(self, delivery: Delivery) -> None:
        try:
            event = self._decode(delivery)
        except BadPayloadError as error:
            await self._give_up(delivery, f"invalid payload: {error}")
            return
        # Messages of one room (or one sender) run in arrival order: asyncio.Lock wakes waiters first-in first-out.
        key = _order_key(event)
        lock = self._in_order.setdefault(key, asyncio.Lock())
        try:
            async with lock:
                self._running[delivery] = time.monotonic()
                try:
                    await self._handle(delivery, event)
                finally:
                    del self._running[delivery]
        finally:
            if not lock.locked() and self._in_order.get(key) is lock:
                del self._in_order[key]

    async def _handle(self, delivery: Delivery, event: Event) -> None:
        started = time.perf_counter()
        name = self._service.name
        try:
            await self._route(event, delivery)
        except Exception as error:  # any handler failure is retried, then dead-lettered
            metrics.FAILED.labels(name).inc()
            if delivery.deliveries >= self._app.settings.max_deliver:
                log.exception(
                    "%s: giving up on %s after %d deliveries", name, delivery.subject, delivery.deliveries
                )
                await self._give_up(delivery, f"{type(error).__name__}: {error}")
                return
            delay = self._retry_base_s * 2 ** (delivery.deliveries - 1)
            log.warning("%s: handler failed on %s (%s), retry in %.2fs", name, delivery.subject, error, delay)
            await delivery.nak(delay)
            return
        await delivery.ack()
        metrics.HANDLED.labels(name, event.subject_suffix).inc()
        metrics.LATENCY.labels(name).observe(time.perf_counter() - started)

    async def keep_alive(self) -> None:
        """Tells JetStream a slow handler is still working (every third of the ack wait), so its message is not
        redelivered to another replica while it runs. One loop for all messages, not a task per message."""
        interval = self._app.settings.ack_wait_s / 3
        while True:
            await asyncio.sleep(interval)
            due = time.monotonic() - interval
            for delivery, started in list(self._running.items()):
                if started <= due:
                    with contextlib.suppress(NatsError):  # acked meanwhile, or the connection is gone
                        await delivery.in_progress()

    def _decode(self, delivery: Delivery) -> Event:
        try:
            _, suffix = subjects.split(delivery.subject)
        except ValueError as error:
            raise BadPayloadError(str(error)) from error
        event_type = self._service.event_types.get(suffix)
        if event_type is None:
            raise BadPayloadError(f"no handler for {suffix!r}")
        try:
            raw = json.loads(delivery.data)
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise BadPayloadError(f"not JSON: {error}") from error
        version = raw.get("schema_version", SCHEMA_VERSION) if isinstance(raw, dict) else None
        if version != SCHEMA_VERSION:
            raise BadPayloadError(f"unknown schema_version {version!r} (this service reads {SCHEMA_VERSION})")
        try:
            return event_type.model_validate(raw)
        except ValidationError as error:
            raise BadPayloadError(_short(error)) from error

    async def _route(self, event: Event, delivery: Delivery) -> None:
        if isinstance(event, MessageReceived) and event.from_self:
            return
        room = getattr(event, "room", None)
        prefs = await self._app.rooms.prefs(room.id) if isinstance(room, Room) else None
        if prefs is not None and self._service.switchable and self._service.name in prefs.disabled_services:
            return
        body = event.body if isinstance(event, MessageReceived) else ""
        ctx: Context[Any, Any] = Context(
            **vars(self._app),
            event=event,
            lang=(prefs.lang if prefs and prefs.lang else None) or _lang_of(event),
            zone=_zone(prefs.timezone if prefs else None, self._app.settings.zone),
            # Real time, not the service clock: the offset moves the domain's "now", not how long the event waited.
            stale=_age_s(delivery, datetime.now(UTC)) > self._app.settings.max_event_age_s,
        )
        if isinstance(event, MessageReceived):
            match = self._service.matcher.match(body) if body else None
            if match is not None and (
                event.mentions_bot or event.room is None or not match.command.needs_mention
            ):
                await self._run_command(match, event, ctx)
                return
        for handler in self._service.handlers_for(type(event)):
            await handler(event, ctx)

    async def _run_command(self, match: Match, event: MessageReceived, ctx: Context[Any, Any]) -> None:
        if match.command.admin_only and not await ctx.is_admin():
            await ctx.reply(
                zh=f"抱歉，「{match.keyword}」只有管理员可以使用。",
                en=f"Sorry, '{match.keyword}' is for admins only.",
            )
            return
        await self._service.command_handler(match.command.name)(event, ctx, match.args)

    async def _give_up(self, delivery: Delivery, reason: str) -> None:
        log.error("%s: dead-lettering %s: %s", self._service.name, delivery.subject, reason)
        await self._dead_letter(
            DeadLettered(
                service=self._service.name,
                subject=delivery.subject,
                payload=delivery.data.decode("utf-8", errors="replace"),
                error=reason,
                deliveries=delivery.deliveries,
                stream_sequence=delivery.stream_sequence,
                failed_at=datetime.now(UTC),
            )
        )
        metrics.DEAD_LETTERED.labels(self._service.name).inc()
        await delivery.ack()


def _order_key(event: Event) -> str:
    room = getattr(event, "room", None)
    if isinstance(room, Room):
        return room.id
    if isinstance(event, MessageReceived):
        return event.talker.id
    return event.subject_suffix


def _zone(name: str | None, default: ZoneInfo) -> ZoneInfo:
    try:
        return ZoneInfo(name) if name else default
    except (ZoneInfoNotFoundError, ValueError):  # set by hand to something unknown: the default, not a crash
        log.warning("unknown time zone %r in room preferences; using %s", name, default.key)
        return default


def _lang_of(event: Event) -> Lang:
    return language_of(event.body) if isinstance(event, MessageReceived) else "zh"


def _age_s(delivery: Delivery, now: datetime) -> float:
    return (now - delivery.published_at).total_seconds()


def _short(error: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors()[:5])
