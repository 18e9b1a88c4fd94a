"""The gateway's core: one WeChat account's session, its events out to the bus, its commands in from the bus.

Lifecycle: `run()` keeps a python-wechaty session alive (reconnecting with backoff). Puppet events are handled
one at a time in arrival order. On login the account's id becomes `bot_id`; the command consumer
`gateway-<bot_id>` starts and stops with the login.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import sys
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Tracer
from redis.asyncio import Redis

from schemas import (
    DeadLettered,
    Event,
    GatewayErrored,
    GatewayReady,
    GatewayStatus,
    LoggedIn,
    LoggedOut,
    MessageReceived,
    Quote,
    subjects,
)
from services.gateway import qr, translate
from services.gateway._wechaty_compat import hide_in_logs, wechaty, wechaty_puppet
from services.gateway.bot import GatewayWechaty, PuppetEvent
from services.gateway.command_loop import CommandLoop, Totals, consumer_name
from services.gateway.outbound import Outbound
from services.gateway.pacing import RecentIds
from services.gateway.parsing import parse_text
from services.gateway.quotes import QuoteRecord
from services.gateway.reader import PuppetReader, enum_name
from services.gateway.settings import GatewaySettings
from services.gateway.supervisor import Backoff, supervise

log = logging.getLogger("qunbus.gateway")

__all__ = ["Gateway", "consumer_name", "free_port"]

Publish = Callable[[str, bytes, str], Awaitable[None]]
DeadLetter = Callable[[DeadLettered], Awaitable[None]]

_DRAIN_TIMEOUT_S = 2.0
_STOP_TIMEOUT_S = 5.0
_PROBE_TIMEOUT_S = 3.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _current_names(reader: PuppetReader, room_id: str) -> Callable[[str], Awaitable[set[str]]]:
    async def names(contact_id: str) -> set[str]:
        contact = await reader.contact(contact_id, room_id)
        return {contact.name, contact.alias or ""} - {""}

    return names


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("%s stopped: commands are not carried out", task.get_name(), exc_info=task.exception())


class Gateway:
    def __init__(self, settings: GatewaySettings, redis: Redis, puppet: Any | None = None) -> None:
        """`puppet`: an in-process puppet (the simulator); None means the puppet service from the settings."""
        self.settings = settings
        self.redis = redis
        self.in_process_puppet = puppet
        self.bot_id: str = settings.bot_id
        self.bot_name = ""
        self.logged_in = False
        self.ready = False
        self.rooms = 0
        self.qr_code: str | None = None
        self.qr_status = "unknown"
        self.wechaty: GatewayWechaty | None = None
        self.commands: CommandLoop | None = None
        self.quotes = self._quote_record(settings.bot_id)
        self._ending: asyncio.Task[None] | None = None
        self.totals = Totals()
        self.instance = f"{socket.gethostname()}-{uuid.uuid4().hex[:8]}"
        self._publish: Publish | None = None
        self._dead_letter: DeadLetter | None = None
        self._nats: NatsClient | None = None
        self._tracer: Tracer = trace.get_tracer("qunbus.gateway")
        self._seen_messages = RecentIds(max_size=50_000, ttl_seconds=24 * 3600)
        self._outbound_task: asyncio.Task[None] | None = None
        self._status_subscriptions: dict[str, Subscription] = {}
        self._ready_task: asyncio.Task[None] | None = None

    def _quote_record(self, bot_id: str) -> QuoteRecord:
        settings = self.settings
        return QuoteRecord(
            self.redis, bot_id, keep_days=settings.quote_record_days, per_room=settings.quote_record_per_room
        )

    def attach(self, publish: Publish, dead_letter: DeadLetter, nats: NatsClient, tracer: Tracer) -> None:
        """The bus, once the runtime is connected."""
        self._publish = publish
        self._dead_letter = dead_letter
        self._nats = nats
        self._tracer = tracer

    # -- session ---------------------------------------------------------------------------------------------

    async def run(self) -> None:
        await self._answer_status(self.bot_id)
        backoff = Backoff(initial_s=self.settings.reconnect_min_s, maximum_s=self.settings.reconnect_max_s)
        await supervise(self._session, self._end_session, self._session_ended, backoff)

    async def _session(self) -> None:
        if self.in_process_puppet is None:
            await self._probe_puppet_service()
        events: asyncio.Queue[PuppetEvent] = asyncio.Queue()
        bot = GatewayWechaty(self._wechaty_options(), events)
        self.wechaty = bot
        handler = asyncio.create_task(self._handle_events(events, bot), name="gateway-events")
        try:
            await bot.start()
        finally:
            # Events already received are handled while the puppet may still answer; then the handler goes.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(_DRAIN_TIMEOUT_S):
                    await events.join()
            handler.cancel()
            await asyncio.gather(handler, return_exceptions=True)

    def _wechaty_options(self) -> Any:
        settings = self.settings
        token = settings.puppet_service_token.get_secret_value() if settings.puppet_service_token else None
        hide_in_logs(token)  # python-wechaty logs it at every start
        return wechaty.WechatyOptions(
            puppet=self.in_process_puppet or "wechaty-puppet-service",
            # A fresh PuppetOptions: the dataclass default is one instance shared by every WechatyOptions.
            puppet_options=wechaty_puppet.PuppetOptions(
                token=token, end_point=settings.puppet_service_endpoint
            ),
            host="127.0.0.1",
            port=settings.wechaty_port or free_port(),
        )

    async def _probe_puppet_service(self) -> None:
        """Fail fast, without blocking: python-wechaty checks the endpoint with a blocking telnet of up to 3 s."""
        endpoint = self.settings.puppet_service_endpoint
        if not endpoint:
            return  # token-only: python-wechaty looks the endpoint up
        host, _, port = endpoint.removeprefix("http://").rpartition(":")
        async with asyncio.timeout(_PROBE_TIMEOUT_S):
            _, writer = await asyncio.open_connection(host or "127.0.0.1", int(port or 80))
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()

    async def _end_session(self) -> None:
        """Idempotent and hard to interrupt: a shutdown cancels again and again, yet the commands must go back to
        JetStream and the send lease be released. A second caller waits for the same ending."""
        if self._ending is None or self._ending.done():
            self._ending = asyncio.create_task(self._close_session(), name="gateway-session-end")
        await asyncio.shield(self._ending)

    async def _close_session(self) -> None:
        self.logged_in = False
        self.ready = False
        await self._stop_outbound()
        bot, self.wechaty = self.wechaty, None
        if bot is None:
            return
        try:
            async with asyncio.timeout(_STOP_TIMEOUT_S):
                await bot.stop()
        except Exception:  # the connection is already gone; nothing left to close cleanly
            log.debug("stopping the puppet failed", exc_info=True)

    async def _session_ended(self, error: BaseException | None, delay: float) -> None:
        reason = f"{type(error).__name__}: {error}" if error else "session ended"
        log.warning("WeChat session ended (%s); reconnecting in %.1fs", reason, delay)
        await self._publish_quietly(
            GatewayErrored(
                id=translate.event_id(self.bot_id, "error", reason, self._now().isoformat()),
                bot_id=self.bot_id,
                timestamp=self._now(),
                message=f"puppet session ended ({reason}); reconnecting in {delay:.0f}s",
            )
        )

    async def close(self) -> None:
        await self._end_session()
        for subscription in self._status_subscriptions.values():
            with contextlib.suppress(Exception):
                await subscription.unsubscribe()
        self._status_subscriptions.clear()

    # -- puppet events ---------------------------------------------------------------------------------------

    async def _handle_events(self, events: asyncio.Queue[PuppetEvent], bot: GatewayWechaty) -> None:
        while True:
            name, payload = await events.get()
            try:
                # One trace per WeChat happening: every service's handling and the sends it causes join it.
                with self._tracer.start_as_current_span(f"wechat {name}", kind=SpanKind.CONSUMER):
                    await self.handle_event(name, payload, bot.puppet)
            except Exception as error:  # one bad event must not stop the others
                log.exception("handling puppet event %s failed", name)
                await self._publish_quietly(self._error_event(f"{name} event: {error}"))
            finally:
                events.task_done()

    async def handle_event(self, name: str, payload: Any, puppet: Any) -> None:
        reader = PuppetReader(puppet)
        match name:
            case "scan":
                await self._on_scan(payload)
            case "login":
                await self._on_login(payload.contact_id, puppet, reader)
            case "logout":
                await self._on_logout(str(getattr(payload, "data", "") or ""))
            case "ready":
                await self._on_ready(puppet)
            case "message":
                await self._on_message(payload.message_id, puppet, reader)
            case "room-join":
                await self._on_room_join(payload, reader)
            case "room-leave":
                await self._on_room_leave(payload, reader)
            case "room-topic":
                await self._on_room_topic(payload, reader)
            case "friendship":
                await self._on_friendship(payload.friendship_id, puppet, reader)
            case "error":
                await self._on_error(payload)
            case _:
                log.debug("ignoring puppet event %s", name)

    async def _on_scan(self, payload: Any) -> None:
        status_name = getattr(payload.status, "name", str(payload.status))
        self.qr_code = payload.qrcode or None
        self.qr_status = translate.scan_status(status_name)
        event = translate.scan_updated(self.bot_id, self.qr_code, status_name, self._now())
        if self.qr_code and self.qr_status == "waiting":
            log.info("scan the QR code to log in: %s (also on /qr of the HTTP port)", event.url)
            if self.settings.show_qr:
                sys.stderr.write(qr.terminal_text(self.qr_code))
        await self.publish(event)

    async def _on_login(self, contact_id: str, puppet: Any, reader: PuppetReader) -> None:
        if self.settings.bot_id not in {"pending", contact_id}:
            log.warning("logged in as %s, not the configured %s", contact_id, self.settings.bot_id)
        self.bot_id = contact_id
        self.quotes = self._quote_record(contact_id)
        self.bot_name = await reader.contact_name(contact_id)
        self.logged_in = True
        self.ready = False
        self.qr_code, self.qr_status = None, "confirmed"
        log.info("logged in as %s (%s)", self.bot_name, contact_id)
        await self.publish(
            LoggedIn(
                id=translate.event_id(contact_id, "login", self._now().isoformat()),
                bot_id=contact_id,
                timestamp=self._now(),
                name=self.bot_name,
            )
        )
        await self._answer_status(contact_id)
        await self._start_outbound(puppet, reader)
        self._ready_task = asyncio.create_task(self._ready_fallback(puppet))

    async def _ready_fallback(self, puppet: Any) -> None:
        """Some puppets never say `ready`; the account works anyway."""
        await asyncio.sleep(self.settings.ready_timeout_s)
        if self.logged_in and not self.ready:
            log.info("no ready event within %.0fs of login; assuming ready", self.settings.ready_timeout_s)
            await self._on_ready(puppet)

    async def _on_logout(self, reason: str) -> None:
        was_logged_in, self.logged_in, self.ready = self.logged_in, False, False
        await self._stop_outbound()
        if not was_logged_in:
            return
        log.warning("logged out (%s)", reason or "no reason given")
        await self.publish(
            LoggedOut(
                id=translate.event_id(self.bot_id, "logout", self._now().isoformat()),
                bot_id=self.bot_id,
                timestamp=self._now(),
                reason=reason,
            )
        )

    async def _on_ready(self, puppet: Any) -> None:
        if self.ready or not self.logged_in:
            return
        self.ready = True
        await self._count_rooms(puppet)
        await self.publish(
            GatewayReady(
                id=translate.event_id(self.bot_id, "ready", self._now().isoformat()),
                bot_id=self.bot_id,
                timestamp=self._now(),
            )
        )

    async def _count_rooms(self, puppet: Any) -> None:
        with contextlib.suppress(Exception):  # the count is for the status reply only
            self.rooms = len(await puppet.room_list())

    async def _on_message(self, message_id: str, puppet: Any, reader: PuppetReader) -> None:
        if not self.logged_in:
            return
        now = asyncio.get_running_loop().time()
        if self._seen_messages.seen(message_id, now):
            log.debug("message %s seen before; not published again", message_id)
            return
        payload = await puppet.message_payload(message_id)
        facts = await reader.message_facts(payload, self.bot_id, self.bot_name, self._now())
        event = translate.message_received(facts, self.bot_id)
        if event.room is not None and event.type == "text":
            event = await self._with_checked_quote(event, facts, puppet, reader)
            await self._remember(event)
        if not event.from_self or self.settings.publish_self:
            await self.publish(event)
        # Remembered only once published: a message whose publish failed is published when WeChat repeats it.
        self._seen_messages.add(message_id, now)

    async def _with_checked_quote(
        self, event: MessageReceived, facts: translate.MessageFacts, puppet: Any, reader: PuppetReader
    ) -> MessageReceived:
        """The quote verified against what was really said (typed quotes are forgeable); unverified when in doubt
        or when Redis cannot be asked."""
        room = event.room
        assert room is not None
        try:
            if facts.quoted_message_id:
                quote = await self._quote_by_id(facts.quoted_message_id, event.quote, puppet, reader, room.id)
            elif event.quote is not None:
                quote = await self.quotes.verify(room.id, event.quote, _current_names(reader, room.id))
            else:
                return event
        except Exception:  # an unverified quote is the safe answer; the event still goes out
            log.warning("could not check the quote of %s; left unverified", event.id, exc_info=True)
            return event
        return event.model_copy(update={"quote": quote})

    async def _quote_by_id(
        self, quoted_id: str, typed: Quote | None, puppet: Any, reader: PuppetReader, room_id: str
    ) -> Quote:
        """The puppet said which message is quoted: its talker and text come from WeChat, not from the typing."""
        quoted = await puppet.message_payload(quoted_id)
        talker_id = str(quoted.from_id)
        text = parse_text(quoted.text or "", []).text
        name = typed.talker_name if typed is not None else await reader.display_name(room_id, talker_id)
        return Quote(
            talker_name=name,
            text=text,
            verified=True,
            talker_id=talker_id,
            message_id=translate.event_id(self.bot_id, "message", quoted_id),
        )

    async def _remember(self, event: MessageReceived) -> None:
        """Who said what, for verifying later quotes. Best effort: an event is never held back for it."""
        assert event.room is not None
        talker = event.talker
        try:
            await self.quotes.remember(
                event.room.id,
                talker_id=talker.id,
                names=(talker.name, talker.alias),
                text=event.text,
                event_id=event.id,
                at=event.timestamp.timestamp(),
            )
        except Exception:  # Redis away: that message cannot be verified when quoted, nothing more
            log.warning("could not remember message %s for quote checks", event.id, exc_info=True)

    async def _on_room_join(self, payload: Any, reader: PuppetReader) -> None:
        room = await reader.room_or_id(payload.room_id)
        invitees = [await reader.contact_ref(who, room.id) for who in payload.invited_ids or []]
        inviter = await reader.contact_ref(payload.inviter_id, room.id) if payload.inviter_id else None
        when = translate.wechat_time(payload.timestamp, self._now())
        await self.publish(translate.room_joined(self.bot_id, room, invitees, inviter, when))
        if self.bot_id in (payload.invited_ids or []):
            await self._count_rooms(reader.puppet)

    async def _on_room_leave(self, payload: Any, reader: PuppetReader) -> None:
        room = await reader.room_or_id(payload.room_id)
        # They are no longer members: no room alias to look up.
        leavers = [await reader.contact_ref(who) for who in payload.removed_ids or []]
        remover = await reader.contact_ref(payload.remover_id, room.id) if payload.remover_id else None
        when = translate.wechat_time(payload.timestamp, self._now())
        await self.publish(translate.room_left(self.bot_id, room, leavers, remover, when))
        if self.bot_id in (payload.removed_ids or []):
            await self._count_rooms(reader.puppet)

    async def _on_room_topic(self, payload: Any, reader: PuppetReader) -> None:
        room = (await reader.room_or_id(payload.room_id)).model_copy(
            update={"topic": payload.new_topic or ""}
        )
        changer = await reader.contact_ref(payload.changer_id, room.id) if payload.changer_id else None
        when = translate.wechat_time(payload.timestamp, self._now())
        event = translate.room_topic_changed(self.bot_id, room, payload.old_topic or "", changer, when)
        await self.publish(event)

    async def _on_friendship(self, friendship_id: str, puppet: Any, reader: PuppetReader) -> None:
        friendship = await puppet.friendship_payload(friendship_id)
        if enum_name(wechaty_puppet.FriendshipType, friendship.type) != "FRIENDSHIP_TYPE_RECEIVE":
            return  # confirmations and verifications are not requests
        contact = await reader.contact_ref(friendship.contact_id)
        event = translate.friendship_requested(
            self.bot_id, friendship_id, contact, friendship.hello or "", self._now()
        )
        await self.publish(event)

    async def _on_error(self, payload: Any) -> None:
        message = str(getattr(payload, "data", payload) or "").strip()
        if not message:
            return  # python-wechaty's puppets emit empty errors now and then
        log.warning("puppet error: %s", message)
        await self.publish(self._error_event(message))

    def _error_event(self, message: str) -> GatewayErrored:
        now = self._now()
        return GatewayErrored(
            id=translate.event_id(self.bot_id, "error", message, now.isoformat()),
            bot_id=self.bot_id,
            timestamp=now,
            message=message[:1000],
        )

    # -- publishing ------------------------------------------------------------------------------------------

    async def publish(self, event: Event) -> None:
        """JetStream publish with `Nats-Msg-Id` = event id. While NATS is unreachable (a restart, a leader
        election) it keeps trying for up to GATEWAY_PUBLISH_RETRY_S: WeChat will not deliver the event again."""
        if self._publish is None:
            raise RuntimeError("the gateway is not attached to the bus")
        subject = subjects.event(event.bot_id, type(event))
        data = event.model_dump_json().encode()
        loop = asyncio.get_running_loop()
        give_up_at = loop.time() + self.settings.publish_retry_s
        delay, attempt = 0.2, 0
        while True:
            attempt += 1
            try:
                await self._publish(subject, data, event.id)
            except Exception:
                if loop.time() + delay > give_up_at:
                    raise
                log.warning(
                    "publishing %s failed (attempt %d); retrying", subject, attempt, exc_info=attempt == 1
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
            else:
                return

    async def _publish_quietly(self, event: Event) -> None:
        """For error reports: failing to report must not hide the original failure."""
        try:
            await self.publish(event)
        except Exception:
            log.exception("could not publish %s", type(event).__name__)

    def _now(self) -> datetime:
        return datetime.now(UTC)

    # -- commands --------------------------------------------------------------------------------------------

    async def _start_outbound(self, puppet: Any, reader: PuppetReader) -> None:
        await self._stop_outbound()
        if self._nats is None or self._dead_letter is None:
            raise RuntimeError("the gateway is not attached to the bus")
        commands = CommandLoop(
            self.settings,
            self.bot_id,
            instance=self.instance,
            redis=self.redis,
            nats=self._nats,
            dead_letter=self._dead_letter,
            tracer=self._tracer,
            puppet=puppet,
            reader=reader,
            totals=self.totals,
        )
        await commands.ensure_consumer()
        self.commands = commands
        self._outbound_task = asyncio.create_task(commands.run(), name=f"gateway-commands-{self.bot_id}")
        self._outbound_task.add_done_callback(_log_failure)

    async def _stop_outbound(self) -> None:
        if self._ready_task is not None:
            self._ready_task.cancel()
            self._ready_task = None
        task = self._outbound_task
        if task is not None:
            task.cancel()
            _, pending = await asyncio.wait({task}, timeout=_STOP_TIMEOUT_S)
            if pending:
                log.error("the command loop did not stop within %.0fs", _STOP_TIMEOUT_S)
        self._outbound_task = None
        self.commands = None

    @property
    def outbound(self) -> Outbound | None:
        """What carries commands out while this process sends for the account (None otherwise)."""
        return self.commands.outbound if self.commands is not None else None

    # -- status ----------------------------------------------------------------------------------------------

    def healthy(self) -> bool:
        """False when the account is logged in but commands are not being carried out (the command loop died or
        never started, e.g. its consumer is missing): a restart is the remedy."""
        if not self.logged_in:
            return True
        task = self._outbound_task
        return task is not None and not task.done()

    def status(self) -> GatewayStatus:
        totals, commands = self.totals, self.commands
        stats = commands.stats() if commands is not None else None
        outbound = commands.outbound if commands is not None else None
        sender = commands.sender if commands is not None else None
        daily_used = dict(totals.daily_used)
        if stats is not None:
            daily_used.update(stats.daily_used)
        return GatewayStatus(
            bot_id=self.bot_id,
            logged_in=self.logged_in,
            name=self.bot_name,
            rooms=self.rooms,
            outbound_queue=sender.queue_sizes() if sender else {},
            rate_limit_waits=totals.rate_limit_waits + (stats.rate_limit_waits if stats else 0),
            sent=totals.sent + (stats.sent if stats else 0),
            sending=commands is not None and commands.sending,
            held=commands.held() if commands is not None and self.logged_in else "",
            dropped_stale=totals.dropped_stale + (outbound.dropped_stale if outbound else 0),
            queue_by_priority=sender.queue.sizes_by_priority() if sender else {},
            daily_used=daily_used,
            daily_limits={
                kind: limit for kind, limit in self.settings.daily_limits.as_dict().items() if limit
            },
        )

    def unknown_outcomes(self) -> int:
        stats = self.commands.stats() if self.commands is not None else None
        return self.totals.unknown_outcomes + (stats.unknown_outcomes if stats else 0)

    async def refresh_daily_use(self) -> None:
        """Today's use as Redis counts it (also what other processes sent), for the status reply."""
        commands = self.commands
        if commands is None:
            return
        with contextlib.suppress(Exception):  # the status answers from what it knows
            used = await commands.budget.daily_used()
            self.totals.daily_used = used
            stats = commands.stats()
            if stats is not None:
                stats.daily_used = dict(used)

    async def _answer_status(self, bot_id: str) -> None:
        if self._nats is None or bot_id in self._status_subscriptions:
            return

        async def answer(message: Msg) -> None:
            commands = self.commands
            if commands is not None and not commands.lease.held and commands.lease.other_holder:
                return  # a standby: the process that sends for the account answers for it
            await self.refresh_daily_use()
            await message.respond(self.status().model_dump_json().encode())

        self._status_subscriptions[bot_id] = await self._nats.subscribe(
            subjects.gateway_status(bot_id), cb=answer
        )
