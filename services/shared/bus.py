"""The bus connection of one running instance: connect (riding out a slow start), publish, request, answer.

FastStream's `NatsBroker` holds the NATS connection (reconnects, credentials, the per-user inbox prefix), publishes
with its telemetry middleware (W3C trace context in the headers) and runs the core-NATS responders (registry,
requests between services). JetStream consumption is not done here: `services.shared.consumer` pulls.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

from faststream.nats import NatsBroker
from faststream.nats.opentelemetry import NatsTelemetryMiddleware
from faststream.nats.security import NatsCredentials, NatsUserPassword
from faststream.security import BaseSecurity
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.errors import Error as NatsError
from opentelemetry.sdk.trace import TracerProvider
from pydantic import ValidationError

from schemas import Command, Event, Payload, Request, ServiceInfo, streams, subjects
from services.shared import permissions
from services.shared.settings import QunSettings

log = logging.getLogger("qunbus.bus")

BROKER_LOGGER = "qunbus.broker"
"""FastStream's own logger: it narrates its task lifecycle at INFO (quieted by `logs.configure`)."""

Respond = Callable[[str, bytes], Awaitable[bytes | None]]
"""(subject, request data) -> reply data, or None for no reply."""


def nats_security(settings: QunSettings) -> BaseSecurity | None:
    """NATS_CREDS (a credentials file) wins over NATS_USER/NATS_PASSWORD; neither means no auth."""
    if settings.nats_creds is not None:
        return NatsCredentials(str(settings.nats_creds))
    if settings.nats_user and settings.nats_password:
        return NatsUserPassword(settings.nats_user, settings.nats_password.get_secret_value())
    return None


def is_inbox(subject: str) -> bool:
    """Replies go only to inboxes (`_INBOX.` and the per-user `_INBOX.<user>.` prefixes): a request cannot make a
    service publish an event, a command or anything else on the requester's behalf."""
    return subject.startswith(f"{permissions.INBOX_ROOT}.")


def stream_of(subject: str) -> str:
    for spec in streams.ALL:
        if any(subject.startswith(pattern.rstrip(">")) for pattern in spec.subjects):
            return spec.name
    raise ValueError(f"no stream for {subject!r}")


class BusConnection:
    def __init__(self, settings: QunSettings, instance: str, tracer_provider: TracerProvider | None) -> None:
        self.settings = settings
        self.instance = instance
        self.tracer_provider = tracer_provider
        self.broker: NatsBroker | None = None
        self.retries = 0  # failed attempts to connect at start
        self._responders: list[tuple[str, str | None, Respond]] = []
        self._subscriptions: list[Subscription] = []

    @property
    def connection(self) -> NatsClient:
        if self.broker is None:
            raise RuntimeError("not connected")
        return self.broker.connection

    @property
    def connected(self) -> bool:
        return self.broker is not None and self.broker.connection.is_connected

    def respond(self, subject: str, answer: Respond, *, queue: str | None = None) -> None:
        """Answer requests on `subject` (wildcards allowed) once connected; `queue` makes one replica answer."""
        self._responders.append((subject, queue, answer))

    async def connect(self) -> None:
        """Connect, retrying with backoff for QUN_START_TIMEOUT_S: JetStream can be slow at start (a cluster
        electing leaders, a server restarting)."""
        give_up_at = time.monotonic() + self.settings.start_timeout_s
        delay = 0.5
        while True:
            broker = self._new_broker()
            try:
                # nats-py retries unreachable servers inside one connect (about 2 min): keep to our own deadline.
                async with asyncio.timeout(max(0.5, give_up_at - time.monotonic())):
                    await broker.start()
            except (NatsError, OSError, TimeoutError) as error:
                with contextlib.suppress(NatsError, OSError):
                    await broker.stop()
                self.retries += 1
                if time.monotonic() + delay > give_up_at:
                    raise
                log.warning(
                    "%s: NATS not ready (%s); retrying in %.1fs", self.instance, type(error).__name__, delay
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
            else:
                self.broker = broker
                break
        for subject, queue, answer in self._responders:
            self._subscriptions.append(
                await self.connection.subscribe(subject, queue=queue or "", cb=self._answering(answer))
            )

    def _answering(self, answer: Respond) -> Callable[[Msg], Awaitable[None]]:
        async def handle(message: Msg) -> None:
            if not is_inbox(message.reply):
                log.warning(
                    "%s: refused a request on %s: its reply subject is no inbox",
                    self.instance,
                    message.subject,
                )
                return
            try:
                reply = await answer(message.subject, message.data)
            except Exception:  # a failing answer must not end the subscription; the requester times out
                log.exception("%s: answering %s failed", self.instance, message.subject)
                return
            if reply is not None:
                with contextlib.suppress(NatsError, OSError):
                    await self.connection.publish(message.reply, reply)

        return handle

    def _new_broker(self) -> NatsBroker:
        settings = self.settings
        return NatsBroker(
            servers=settings.nats_servers,
            security=nats_security(settings),
            # Replies and pulled messages arrive on this user's own inboxes: NATS permissions allow no other.
            inbox_prefix=permissions.inbox_prefix(settings.nats_user),
            name=self.instance,
            logger=logging.getLogger(BROKER_LOGGER),
            log_level=logging.DEBUG,
            middlewares=[NatsTelemetryMiddleware(tracer_provider=self.tracer_provider)]
            if self.tracer_provider
            else [],
            graceful_timeout=10.0,
        )

    async def close_responders(self) -> None:
        """Stop answering (first thing when stopping: the registry must not list a service that is going)."""
        for subscription in self._subscriptions:
            with contextlib.suppress(NatsError, OSError):
                await subscription.unsubscribe()
        self._subscriptions.clear()

    async def close(self) -> None:
        await self.close_responders()
        if self.broker is not None:
            try:
                await self.broker.stop()
            except (NatsError, OSError) as error:  # NATS already gone: nothing left to drain
                log.warning(
                    "%s: NATS connection lost while stopping (%s)", self.instance, type(error).__name__
                )
            self.broker = None

    # -- publishing ------------------------------------------------------------------------------------------

    async def publish(self, subject: str, data: bytes, msg_id: str) -> None:
        """JetStream publish that returns once stored; `msg_id` makes a repeated publish a no-op."""
        if self.broker is None:
            raise RuntimeError("not connected")
        await self.broker.publish(
            data,
            subject,
            headers={"Nats-Msg-Id": msg_id, "content-type": "application/json"},
            stream=stream_of(subject),
            timeout=5.0,
        )

    async def send(self, bot_id: str, command: Command) -> None:
        await self.publish(
            subjects.command(bot_id, type(command)), command.model_dump_json().encode(), command.id
        )

    async def emit(self, event: Event) -> None:
        await self.publish(
            subjects.event(event.bot_id, type(event)), event.model_dump_json().encode(), event.id
        )

    async def request(self, bot_id: str, request: Request, timeout: float) -> Payload:
        """Ask whichever live service answers `request`; TimeoutError when none does in time."""
        try:
            reply = await self.connection.request(
                subjects.request(bot_id, type(request)), request.model_dump_json().encode(), timeout=timeout
            )
        except NatsError as error:  # no responders, or none in time
            raise TimeoutError(f"nobody answered {type(request).__name__}") from error
        try:
            return request.reply_type.model_validate_json(reply.data)
        except ValidationError as error:
            raise TimeoutError(f"an invalid answer to {type(request).__name__}") from error

    async def discover(self, window_s: float) -> list[ServiceInfo]:
        """Ask every live replica; gather answers for `window_s` (the registry's documented window); one per name."""
        return await discover(self.connection, window_s)

    async def announce(self, info: ServiceInfo | None) -> None:
        """Tell every registry that this service started (`info`) or is stopping (None: look again)."""
        with contextlib.suppress(NatsError, OSError):
            await self.connection.publish(
                subjects.SERVICES_CHANGED, info.model_dump_json().encode() if info else b""
            )


async def every_replica(connection: NatsClient, window_s: float) -> list[ServiceInfo]:
    """Ask the registry; every answer that arrives within `window_s` (one per live replica)."""
    inbox = connection.new_inbox()
    answers: list[ServiceInfo] = []
    subscription = await connection.subscribe(inbox)
    try:
        await connection.publish(subjects.DISCOVER, b"", reply=inbox)
        deadline = time.monotonic() + window_s
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                message = await subscription.next_msg(timeout=remaining)
            except TimeoutError:
                break
            with contextlib.suppress(ValueError):
                answers.append(ServiceInfo.model_validate_json(message.data))
    finally:
        await subscription.unsubscribe()
    return answers


async def discover(connection: NatsClient, window_s: float) -> list[ServiceInfo]:
    """The live services, one answer per name, sorted by name."""
    found: dict[str, ServiceInfo] = {}
    for info in await every_replica(connection, window_s):
        found.setdefault(info.name, info)
    return sorted(found.values(), key=lambda info: info.name)
