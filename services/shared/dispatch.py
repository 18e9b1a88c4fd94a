"""Turns one JetStream message into a typed handler call. Every cross-cutting rule lives here, once for all services:

- decode and validate; a payload that is not JSON (or too deep, or too large), has another schema_version, or
  breaks the schema raises `Permanent`: dead-lettered at once (retrying cannot fix it);
- the bot's own messages are not delivered; a service switched off for a room sees nothing from it;
- an event older than QUN_MAX_EVENT_AGE_S (since the gateway published it) still runs, but its chat replies are
  dropped (no welcoming people who joined hours ago);
- messages addressed to the bot (an @-mention in a room, or a direct message) get exactly one answer: a keyword
  command of this service runs; a keyword of another live service is left to it; otherwise the services' claims
  decide between recognised intents and fallbacks (`intents.py`);
- the filters a command declares (`rooms_only`, `admin_only`, `needs_mention`), each with one wording;
- reply budgets per member, room and service (`quotas.py`), with one polite "please slow down";
- messages of one room (or one sender of direct messages) are handled in arrival order, rooms in parallel.
Acking, retries, outages and dead letters are the consumer's (`consumer.py`): a handler that returns has stored
its effects; one that raises is retried.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import inspect
import json
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from opentelemetry.trace import SpanKind, Tracer
from pydantic import ValidationError

from schemas import SCHEMA_VERSION, ChatCommand, Event, MessageReceived, Room, subjects
from services.shared import metrics, telemetry
from services.shared.commands import Bilingual, Lang, language_of
from services.shared.consumer import Delivery, Permanent
from services.shared.context import AppContext, Context, HeldOutput
from services.shared.intents import Claim, ClaimBoard, Intent
from services.shared.quotas import SLOW_DOWN, ReplyQuota, Verdict
from services.shared.registry import LiveRegistry

if TYPE_CHECKING:
    from services.shared.service import QunService

log = logging.getLogger("qunbus.dispatch")

MAX_PAYLOAD_DEPTH = 32
"""Events are a few levels deep; a deeper payload is garbage or an attack on the decoder."""

ROOMS_ONLY = Bilingual(zh="这个命令只能在群里用。", en="This command works in group chats only.")


def admins_only(keyword: str) -> Bilingual:
    return Bilingual(
        zh=f"抱歉，「{keyword}」只有管理员可以使用。", en=f"Sorry, '{keyword}' is for admins only."
    )


class Dispatcher:
    def __init__(
        self,
        service: QunService[Any, Any],
        *,
        app: AppContext[Any, Any],
        registry: LiveRegistry,
        board: ClaimBoard,
        quota: ReplyQuota,
        tracer: Tracer | None,
        erase: Callable[[int], Awaitable[None]] | None = None,
    ) -> None:
        """`erase(sequence)` overwrites an event in its stream (`ctx.erase_event()`)."""
        self._service = service
        self._app = app
        self._registry = registry
        self._board = board
        self._quota = quota
        self._tracer = tracer
        self._eraser = erase
        self._in_order: dict[str, _Turn] = {}

    async def handle(self, delivery: Delivery) -> None:
        """The consumer's handler: returns once the event's effects are stored."""
        started = time.perf_counter()
        event = self._decode(delivery)
        # Messages of one room (or one sender) run in arrival order: asyncio.Lock wakes waiters first-in first-out.
        key = _order_key(event)
        turn = self._in_order.get(key)
        if turn is None:
            turn = self._in_order[key] = _Turn()
        turn.holders += 1
        try:
            async with turn.lock:
                with self._span(delivery, event):
                    try:
                        await self._route(event, delivery)
                    except Exception:
                        metrics.FAILED.labels(self._service.name).inc()
                        raise
        finally:
            turn.holders -= 1
            if (
                turn.holders == 0
            ):  # nobody runs or waits: forget it (a released lock still has waiters to wake)
                del self._in_order[key]
        metrics.HANDLED.labels(self._service.name, event.subject_suffix).inc()
        metrics.LATENCY.labels(self._service.name).observe(time.perf_counter() - started)

    async def _erase(self, sequence: int) -> None:
        if self._eraser is None:
            log.warning("%s: cannot erase event %d (no eraser configured)", self._service.name, sequence)
            return
        await self._eraser(sequence)

    def is_private(self, delivery: Delivery) -> bool:
        """A direct message (it may carry a password): its dead letter keeps only a hash and length."""
        if not delivery.subject.endswith(f".{MessageReceived.subject_suffix}"):
            return False
        try:
            return json.loads(delivery.data).get("room", "") is None
        except (ValueError, AttributeError, RecursionError):
            return False  # not a message as the gateway publishes them: keep it for inspection

    @contextlib.contextmanager
    def _span(self, delivery: Delivery, event: Event) -> Iterator[None]:
        if self._tracer is None:
            yield
            return
        with telemetry.continued(
            self._tracer, f"{delivery.subject} process", delivery.headers, SpanKind.CONSUMER
        ) as span:
            span.set_attribute("messaging.consumer.group.name", self._service.name)
            span.set_attribute("messaging.message.id", event.id)
            yield

    # -- decoding --------------------------------------------------------------------------------------------

    def _decode(self, delivery: Delivery) -> Event:
        try:
            _, suffix = subjects.split(delivery.subject)
        except ValueError as error:
            raise Permanent(f"invalid payload: {error}") from error
        event_type = self._service.event_types.get(suffix)
        if event_type is None:
            raise Permanent(f"invalid payload: no handler for {suffix!r}")
        raw = decode_json(delivery.data)
        version = raw.get("schema_version", SCHEMA_VERSION) if isinstance(raw, dict) else None
        if version != SCHEMA_VERSION:
            raise Permanent(
                f"invalid payload: unknown schema_version {version!r} (this service reads {SCHEMA_VERSION})"
            )
        try:
            return event_type.model_validate(raw)
        except ValidationError as error:
            raise Permanent(f"invalid payload: {_short(error)}") from error

    # -- routing ---------------------------------------------------------------------------------------------

    async def _route(self, event: Event, delivery: Delivery) -> None:
        if isinstance(event, MessageReceived) and event.from_self:
            return
        room = getattr(event, "room", None)
        prefs = await self._app.room(room.id) if isinstance(room, Room) else None
        switched_off = bool(
            prefs and self._service.switchable and self._service.name in prefs.disabled_services
        )
        ctx: Context[Any, Any] = Context(
            **vars(self._app),
            event=event,
            lang=(prefs.lang if prefs and prefs.lang else None) or _lang_of(event),
            zone=_zone(prefs.timezone if prefs else None, self._app.settings.zone),
            # Real time, not the service clock: the offset moves the domain's "now", not how long the event waited.
            stale=delivery.age_s(datetime.now(UTC)) > self._app.settings.max_event_age_s,
        )
        try:
            if isinstance(event, MessageReceived) and await self._answer(
                event, ctx, switched_off=switched_off
            ):
                return
            if switched_off:
                return
            for handler in self._service.handlers_for(type(event)):
                await handler(event, ctx)
        finally:
            if ctx.erase and delivery.stream_sequence is not None:
                await self._erase(delivery.stream_sequence)

    async def _answer(self, event: MessageReceived, ctx: Context[Any, Any], *, switched_off: bool) -> bool:
        """Whether this service answered the message (then its plain-message observers do not see it)."""
        service = self._service
        body = event.body
        addressed = event.room is None or event.mentions_bot
        if not switched_off:
            match = service.matcher.match(body) if body else None
            if match is not None and (addressed or not match.command.needs_mention):
                await self._run(match.command, match.keyword, match.args, event, ctx)
                return True
        if not addressed or not service.claims:
            return False
        if not self._registry.ready.is_set():  # just started: see who else is live before claiming
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._app.settings.claim_deadline_s):
                    await self._registry.ready.wait()
        if self._registry.keyword(body) is not None:
            return False  # another live service's keyword: it answers, nobody claims
        intent, command = (None, "") if switched_off else await self._recognise(event, ctx)
        rank = -1 if switched_off else service.fallback_rank_for(event, ctx)
        claim = Claim(confidence=intent.confidence if intent else 0.0, fallback_rank=rank)
        early = self._speculate(event, ctx, claim)
        try:
            decision = await self._board.decide(event.bot_id, event.id, claim, self._registry.claimers())
        except BaseException:
            await _drop(early)
            raise
        if decision.winner != service.name or decision.by_intent:
            await _drop(early)
        if decision.winner != service.name:
            return False
        if decision.by_intent and intent is not None:
            spec = service.command_spec(command)
            await self._run(spec, (spec.keywords or [spec.name])[0], intent.args, event, ctx)
        elif early is not None:
            task, held = early
            await task  # its failure is the message's failure: retried like any handler's
            if await self._within_budget(event, ctx):
                await held.release()
        elif service.fallback_handler is not None and await self._within_budget(event, ctx):
            await service.fallback_handler(event, ctx)
        return True

    def _speculate(
        self, event: MessageReceived, ctx: Context[Any, Any], claim: Claim
    ) -> tuple[asyncio.Task[None], HeldOutput] | None:
        """Start a speculative fallback while the claims are decided, its output held back."""
        service = self._service
        fallback = service.fallback_handler
        if fallback is None or not service.fallback_speculative or claim.fallback_rank < 0:
            return None
        if claim.confidence >= self._board.threshold:
            return None  # it would win with an intent, not as the fallback
        held = HeldOutput(ctx._bus)
        speculative = dataclasses.replace(ctx, _bus=held)

        async def run() -> None:
            await fallback(event, speculative)

        return asyncio.create_task(run()), held

    async def _recognise(self, event: MessageReceived, ctx: Context[Any, Any]) -> tuple[Intent | None, str]:
        """This service's most confident intent for the message, and the command it is for."""
        best: Intent | None = None
        best_command = ""
        for command, recognise in self._service.recognisers:
            try:
                intent = recognise(event, ctx)
                if inspect.isawaitable(intent):
                    intent = await intent
            except Exception:  # a broken recogniser must not silence the bot: it just claims nothing
                log.exception("%s: recogniser for %s failed", self._service.name, command)
                continue
            if intent is not None and (best is None or intent.confidence > best.confidence):
                best, best_command = intent, command
        return best, best_command

    async def _run(
        self, command: ChatCommand, keyword: str, args: str, event: MessageReceived, ctx: Context[Any, Any]
    ) -> None:
        if not await self._within_budget(event, ctx):
            return
        if command.rooms_only and event.room is None:
            await ctx.reply(ROOMS_ONLY)
            return
        if command.admin_only and not await ctx.is_admin():
            await ctx.reply(admins_only(keyword))
            return
        await self._service.command_handler(command.name)(event, ctx, args)

    async def _within_budget(self, event: MessageReceived, ctx: Context[Any, Any]) -> bool:
        if event.talker.id in self._app.settings.admins:
            return True  # operators are not rationed
        room_id = event.room.id if event.room else None
        verdict = await self._quota.take(event.bot_id, room_id, event.talker.id, ctx.now())
        if verdict is Verdict.SLOW_DOWN:
            await ctx.reply(SLOW_DOWN, mention_ids=[event.talker.id] if event.room else [])
        return verdict is Verdict.OK


async def _drop(early: tuple[asyncio.Task[None], HeldOutput] | None) -> None:
    """A speculative fallback that did not win: stop it and forget what it would have said."""
    if early is None:
        return
    task, _ = early
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


class _Turn:
    """The queue of one room's (or one sender's) messages in this replica."""

    __slots__ = ("holders", "lock")

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.holders = 0


def decode_json(data: bytes) -> Any:
    """JSON that cannot escape: not UTF-8/JSON, nested deeper than MAX_PAYLOAD_DEPTH, or holding a number too long
    to convert all raise `Permanent`."""
    try:
        raw = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise Permanent(f"invalid payload: not JSON: {error}") from error
    except (RecursionError, ValueError) as error:  # a 100k-deep document; a 5,000-digit integer
        raise Permanent(f"invalid payload: {type(error).__name__}: {str(error)[:200]}") from error
    if _depth(raw) > MAX_PAYLOAD_DEPTH:
        raise Permanent(f"invalid payload: nested deeper than {MAX_PAYLOAD_DEPTH}")
    return raw


def _depth(value: Any, level: int = 0) -> int:
    if level > MAX_PAYLOAD_DEPTH:
        return level
    if isinstance(value, dict):
        return max((_depth(item, level + 1) for item in value.values()), default=level + 1)
    if isinstance(value, list):
        return max((_depth(item, level + 1) for item in value), default=level + 1)
    return level


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


def _short(error: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors()[:5])
