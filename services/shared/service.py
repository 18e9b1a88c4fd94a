"""`QunService` declares a service (its handlers, commands and resources); `Runtime` runs one instance of it.

    service = QunService("tagger", version="0.1.0", settings=TaggerSettings, deps=open_deps)

    @service.command(ChatCommand(name="ask", keywords_zh=["问"], keywords_en=["ask"]))
    async def ask(event: MessageReceived, ctx: Context[TaggerSettings, Deps], args: str) -> None: ...

    if __name__ == "__main__":
        service.run()

Each instance gets its own NATS connection and one durable pull consumer named after the service (shared by all
replicas), filtered to the event subjects it has handlers for. It answers the registry and serves
/healthz, /readyz and /metrics on HTTP_PORT.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Generic, Self, TypeVar

import uvicorn
from faststream import AckPolicy
from faststream.nats import ConsumerConfig, JStream, NatsBroker, PullSub
from faststream.nats.message import NatsMessage
from faststream.nats.opentelemetry import NatsTelemetryMiddleware
from faststream.nats.security import NatsCredentials, NatsUserPassword
from faststream.security import BaseSecurity
from nats.aio.msg import Msg
from nats.errors import Error as NatsError
from nats.js.api import DeliverPolicy
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from redis.asyncio import BlockingConnectionPool, Redis

from schemas import ChatCommand, Command, DeadLettered, Event, MessageReceived, ServiceInfo, streams, subjects
from services.shared import logs, permissions, telemetry
from services.shared.commands import CommandMatcher
from services.shared.context import AppContext, Clock, Context
from services.shared.dispatch import Dispatcher
from services.shared.http import HttpApp, Request, Response
from services.shared.rooms import AdminCheck, RoomStore
from services.shared.settings import QunSettings

S = TypeVar("S", bound=QunSettings)
D = TypeVar("D")
E = TypeVar("E", bound=Event)

log = logging.getLogger("qunbus")

DepsFactory = Callable[[S, Redis], AbstractAsyncContextManager[D]]
EventHandler = Callable[[Any, Context[Any, Any]], Awaitable[None]]
CommandHandler = Callable[[MessageReceived, Context[Any, Any], str], Awaitable[None]]
BackgroundTask = Callable[[AppContext[Any, Any]], Awaitable[None]]
RouteHandler = Callable[[Request, AppContext[Any, Any]], Awaitable[Response]]
StartHook = Callable[["Runtime[Any, Any]"], Awaitable[None]]
HealthCheck = Callable[[AppContext[Any, Any]], bool]


@contextlib.asynccontextmanager
async def _no_deps(_settings: QunSettings, _redis: Redis) -> AsyncIterator[None]:
    yield None


@dataclass(frozen=True)
class _Command:
    spec: ChatCommand
    handler: CommandHandler


class QunService(Generic[S, D]):
    def __init__(
        self,
        name: str,
        *,
        version: str,
        settings: type[S],
        deps: DepsFactory[S, D] | None = None,
        summary_zh: str = "",
        summary_en: str = "",
        switchable: bool = True,
    ) -> None:
        """`switchable=False` for a service an admin must not be able to turn off in a room (the one that
        holds the on/off switch itself)."""
        self.name = name
        self.version = version
        self.settings_type = settings
        self.deps_factory: DepsFactory[S, Any] = deps or _no_deps
        self.summary_zh = summary_zh
        self.summary_en = summary_en
        self.switchable = switchable
        self._commands: dict[str, _Command] = {}
        self._matcher: CommandMatcher | None = None
        self._handlers: dict[type[Event], list[EventHandler]] = {}
        self.background_tasks: list[BackgroundTask] = []
        self.routes: list[tuple[str, str, RouteHandler]] = []
        self.start_hooks: list[StartHook] = []
        self.health_checks: list[HealthCheck] = []

    # -- declaring -------------------------------------------------------------------------------------------

    def command(self, spec: ChatCommand) -> Callable[[CommandHandler], CommandHandler]:
        def register(handler: CommandHandler) -> CommandHandler:
            if spec.name in self._commands:
                raise ValueError(f"{self.name}: command {spec.name!r} registered twice")
            self._commands[spec.name] = _Command(spec, handler)
            self._matcher = None
            return handler

        return register

    def on(self, event_type: type[E]) -> Callable[[EventHandler], EventHandler]:
        def register(handler: EventHandler) -> EventHandler:
            self._handlers.setdefault(event_type, []).append(handler)
            return handler

        return register

    def background(self, task: BackgroundTask) -> BackgroundTask:
        """Runs for the instance's lifetime; restarted with backoff if it fails."""
        self.background_tasks.append(task)
        return task

    def route(self, method: str, path: str) -> Callable[[RouteHandler], RouteHandler]:
        def register(handler: RouteHandler) -> RouteHandler:
            self.routes.append((method, path, handler))
            return handler

        return register

    def health_check(self, check: HealthCheck) -> HealthCheck:
        """A service-specific liveness rule: /healthz and /readyz fail (and Kubernetes restarts the pod) when it
        returns False."""
        self.health_checks.append(check)
        return check

    def on_start(self, hook: StartHook) -> StartHook:
        """Runs once the instance is connected, before background tasks (e.g. extra subscribers)."""
        self.start_hooks.append(hook)
        return hook

    # -- what the plumbing reads -----------------------------------------------------------------------------

    @property
    def chat_commands(self) -> list[ChatCommand]:
        return [command.spec for command in self._commands.values()]

    @property
    def matcher(self) -> CommandMatcher:
        if self._matcher is None:
            self._matcher = CommandMatcher(self.chat_commands)
        return self._matcher

    def command_handler(self, name: str) -> CommandHandler:
        return self._commands[name].handler

    def handlers_for(self, event_type: type[Event]) -> list[EventHandler]:
        return self._handlers.get(event_type, [])

    @property
    def event_types(self) -> dict[str, type[Event]]:
        """Subject suffix -> event type, for every event this service consumes."""
        types = set(self._handlers)
        if self._commands:
            types.add(MessageReceived)
        return {event_type.subject_suffix: event_type for event_type in types}

    def consumer(self, max_deliver: int = 5, ack_wait_s: float = 30.0) -> streams.ConsumerSpec | None:
        if not self.event_types:
            return None
        return streams.ConsumerSpec(
            stream=streams.EVENTS.name,
            durable=self.name,
            filter_subjects=tuple(
                sorted(f"{subjects.EVENTS}.{subjects.ANY_BOT}.{suffix}" for suffix in self.event_types)
            ),
            max_deliver=max_deliver,
            ack_wait=timedelta(seconds=ack_wait_s),
        )

    def info(self, instance: str) -> ServiceInfo:
        return ServiceInfo(
            name=self.name,
            version=self.version,
            instance=instance,
            summary_zh=self.summary_zh,
            summary_en=self.summary_en,
            commands=self.chat_commands,
        )

    # -- running ---------------------------------------------------------------------------------------------

    def runtime(
        self,
        settings: S | None = None,
        *,
        clock: Clock | None = None,
        tracer_provider: TracerProvider | None = None,
    ) -> Runtime[S, D]:
        return Runtime(self, settings or self.settings_type(), clock=clock, tracer_provider=tracer_provider)

    def run(self) -> None:
        """Entry point of `python -m services.<name>`: runs until SIGTERM or Ctrl-C."""
        settings = self.settings_type()
        logs.configure(settings, self.name)
        # What the imports created lives as long as the process: keep the collector from walking it on every full
        # collection (measured on the moderator: +15-30% events/s).
        gc.freeze()
        runtime = self.runtime(settings, tracer_provider=telemetry.provider_from_env(self.name))
        asyncio.run(runtime.serve_forever())


class Runtime(Generic[S, D]):
    """One running instance. `async with service.runtime(settings) as rt:` in tests; `serve_forever` in prod."""

    def __init__(
        self,
        service: QunService[S, D],
        settings: S,
        *,
        clock: Clock | None = None,
        tracer_provider: TracerProvider | None = None,
    ) -> None:
        self.service = service
        self.tracer_provider = tracer_provider
        self.tracer = trace.get_tracer("qunbus", tracer_provider=tracer_provider)
        self.settings = settings
        self.clock = clock or Clock(settings.clock_offset_s)
        self.instance = f"{service.name}-{uuid.uuid4().hex[:8]}"
        self.retry_base_s = 1.0
        self._stack = AsyncExitStack()
        self._tasks: list[asyncio.Task[None]] = []
        self._discovered: tuple[float, list[ServiceInfo]] | None = None
        self.dispatcher: Dispatcher | None = None
        self.retries = 0  # failed attempts to connect at start
        self.broker: NatsBroker
        self.redis: Redis
        self.context: AppContext[S, D]

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.stop()

    async def start(self) -> None:
        settings = self.settings
        # A blocking pool waits for a free connection; the default pool raises at once when handlers run in parallel.
        pool = BlockingConnectionPool.from_url(
            settings.redis_url.get_secret_value(), decode_responses=True, max_connections=64, timeout=10
        )
        self.redis = Redis.from_pool(pool)  # owns the pool: aclose() closes its connections
        self._stack.push_async_callback(self.redis.aclose)
        deps = await self._stack.enter_async_context(self.service.deps_factory(settings, self.redis))
        rooms = RoomStore(self.redis)
        self.context = AppContext(
            service=self.service.name,
            settings=settings,
            deps=deps,
            redis=self.redis,
            rooms=rooms,
            admins=AdminCheck(settings.admins, rooms),
            clock=self.clock,
            _publish=self.publish_command,
            _discover=self.discover,
        )
        await self._connect()
        self._stack.push_async_callback(self._stop_broker)
        for hook in self.service.start_hooks:
            await hook(self)
        self._tasks.append(
            asyncio.create_task(self._supervise(_keep_room_cache_fresh), name=f"{self.instance}:rooms")
        )
        if self.dispatcher is not None:
            self._tasks.append(
                asyncio.create_task(self.dispatcher.keep_alive(), name=f"{self.instance}:keep-alive")
            )
        for task in self.service.background_tasks:
            self._tasks.append(
                asyncio.create_task(self._supervise(task), name=f"{self.instance}:{task.__name__}")
            )
        log.info("%s started (instance %s)", self.service.name, self.instance)

    def _new_broker(self) -> NatsBroker:
        settings = self.settings
        return NatsBroker(
            servers=settings.nats_servers,
            security=nats_security(settings),
            # Replies and pulled messages arrive on this user's own inboxes: NATS permissions allow no other.
            inbox_prefix=permissions.inbox_prefix(settings.nats_user),
            name=self.instance,
            logger=logging.getLogger(f"qunbus.{self.service.name}.broker"),
            log_level=logging.DEBUG,  # one line per message is too much at INFO
            apply_types=False,  # handlers get plain arguments; see _raw_message
            middlewares=[NatsTelemetryMiddleware(tracer_provider=self.tracer_provider)]
            if self.tracer_provider
            else [],
            graceful_timeout=10.0,
        )

    async def _connect(self) -> None:
        """Connect and bind the consumer. JetStream can be slow to answer at start (a cluster electing leaders, a
        server restarting): retry with backoff for QUN_START_TIMEOUT_S rather than exit."""
        give_up_at = time.monotonic() + self.settings.start_timeout_s
        delay = 0.5
        while True:
            self.broker = self._new_broker()
            self._subscribe()
            try:
                await self.broker.start()
            except (NatsError, OSError, TimeoutError) as error:
                await self._stop_broker()
                self.retries += 1
                if time.monotonic() + delay > give_up_at:
                    raise
                log.warning(
                    "%s: NATS not ready (%s); retrying in %.1fs", self.instance, type(error).__name__, delay
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
            else:
                return

    async def _stop_broker(self) -> None:
        try:
            await self.broker.stop()
        except (NatsError, OSError) as error:  # NATS already gone: nothing left to drain
            log.warning("%s: NATS connection lost while stopping (%s)", self.instance, type(error).__name__)

    async def stop(self) -> None:
        await _cancel(self._tasks, self.instance)
        self._tasks.clear()
        await self._stack.aclose()

    def _subscribe(self) -> None:
        consumer = self.service.consumer(self.settings.max_deliver, self.settings.ack_wait_s)
        if consumer is not None:
            dispatcher = Dispatcher(self.service, self.context, self.dead_letter, self.retry_base_s)

            @self.broker.subscriber(
                "",
                stream=JStream(consumer.stream, declare=False),
                durable=consumer.durable,
                config=consumer_config(consumer),
                # FastStream runs a fetched batch concurrently; the dispatcher keeps each room in order. The fetch
                # returns on the first message; a long timeout only means fewer idle polls, and makes rare the
                # path where nats-py raises asyncio.TimeoutError, which FastStream 0.7.8 logs as a task error.
                pull_sub=PullSub(batch_size=64, timeout=5.0),
                inbox_prefix=f"{permissions.inbox_prefix(self.settings.nats_user)}.".encode(),
                decoder=_raw_message,
                ack_policy=AckPolicy.MANUAL,
            )
            async def consume(raw: Msg) -> None:
                await dispatcher.handle(_Delivery(raw))

            self.dispatcher = dispatcher

        @self.broker.subscriber(subjects.DISCOVER)
        async def answer_discover(_request: object) -> bytes:
            return self.service.info(self.instance).model_dump_json().encode()

    async def publish_command(self, bot_id: str, command: Command) -> None:
        await self.publish(
            subjects.command(bot_id, type(command)), command.model_dump_json().encode(), command.id
        )

    async def dead_letter(self, letter: DeadLettered) -> None:
        msg_id = f"{letter.service}:{letter.subject}:{letter.stream_sequence}"
        await self.publish(subjects.dead_letter(letter.service), letter.model_dump_json().encode(), msg_id)

    async def publish(self, subject: str, data: bytes, msg_id: str) -> None:
        """JetStream publish that returns once stored; `msg_id` makes a repeated publish a no-op."""
        await self.broker.publish(
            data,
            subject,
            headers={"Nats-Msg-Id": msg_id, "content-type": "application/json"},
            stream=_stream_of(subject),
            timeout=5.0,
        )

    async def discover(self, max_age_s: float = 0.0) -> list[ServiceInfo]:
        now = time.monotonic()
        if self._discovered and now - self._discovered[0] <= max_age_s:
            return self._discovered[1]
        found = await discover(self.broker, self.settings.discover_window_s)
        self._discovered = (now, found)
        return found

    async def _supervise(self, task: BackgroundTask) -> None:
        delay = 0.5
        while True:
            started = time.monotonic()
            try:
                await task(self.context)
            except Exception:  # a failing loop must not end the service: logged, then restarted
                current = asyncio.current_task()
                if current is not None and current.cancelling():
                    # Being stopped: redis-py can turn the cancellation into a ConnectionError. Stop, don't restart.
                    raise asyncio.CancelledError from None
                log.exception(
                    "%s: background task %s failed; restarting in %.1fs", self.instance, task.__name__, delay
                )
            else:
                return
            delay = 0.5 if time.monotonic() - started > 60 else min(delay * 2, 30.0)
            await asyncio.sleep(delay)

    # -- production ------------------------------------------------------------------------------------------

    def http_app(self) -> HttpApp:
        app = HttpApp()

        def alive() -> bool:
            return all(check(self.context) for check in self.service.health_checks)

        async def healthz(_: Request) -> Response:
            return Response.text("ok") if alive() else Response.text("unhealthy", 503)

        async def readyz(_: Request) -> Response:
            try:
                connected = self.broker.connection.is_connected and bool(await self.redis.ping())
            except Exception:  # noqa: BLE001 - any failure means not ready
                connected = False
            return Response.text("ready") if connected and alive() else Response.text("not ready", 503)

        async def metrics(_: Request) -> Response:
            return Response(200, generate_latest(), CONTENT_TYPE_LATEST)

        app.add("GET", "/healthz", healthz)
        app.add("GET", "/readyz", readyz)
        app.add("GET", "/metrics", metrics)
        for method, path, handler in self.service.routes:
            app.add(method, path, _bind(handler, self))
        return app

    @contextlib.asynccontextmanager
    async def serving_http(self) -> AsyncIterator[None]:
        """Serve the HTTP endpoints on HTTP_HOST:HTTP_PORT while inside the block."""
        config = uvicorn.Config(
            self.http_app(), host=self.settings.http_host, port=self.settings.http_port, log_level="warning"
        )
        server = uvicorn.Server(config)
        task = asyncio.create_task(server.serve())
        while not server.started and not task.done():  # noqa: ASYNC110 - uvicorn exposes only a flag
            await asyncio.sleep(0.01)
        if task.done():
            await task  # raises why it could not start (e.g. the port is taken)
        try:
            yield
        finally:
            server.should_exit = True
            await task

    async def serve_forever(self) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        async with self, self.serving_http():
            await stop.wait()
        log.info("%s stopped", self.service.name)


async def _cancel(tasks: list[asyncio.Task[None]], owner: str, patience_s: float = 5.0) -> None:
    """Cancel and wait, cancelling again what is still running: redis-py can swallow a cancellation (seen in its
    pub/sub reader), and one task that never ends must not hang the whole shutdown."""
    pending = {task for task in tasks if not task.done()}
    deadline = time.monotonic() + patience_s
    while pending and time.monotonic() < deadline:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=0.2)
    if pending:
        log.warning(
            "%s: tasks still running at shutdown: %s", owner, ", ".join(t.get_name() for t in pending)
        )


def nats_security(settings: QunSettings) -> BaseSecurity | None:
    """NATS_CREDS (a credentials file) wins over NATS_USER/NATS_PASSWORD; neither means no auth."""
    if settings.nats_creds is not None:
        return NatsCredentials(str(settings.nats_creds))
    if settings.nats_user and settings.nats_password:
        return NatsUserPassword(settings.nats_user, settings.nats_password.get_secret_value())
    return None


def consumer_config(spec: streams.ConsumerSpec) -> ConsumerConfig:
    return ConsumerConfig(
        durable_name=spec.durable,
        filter_subjects=list(spec.filter_subjects),
        deliver_policy=DeliverPolicy.NEW,
        ack_wait=spec.ack_wait.total_seconds(),
        max_deliver=spec.max_deliver,
        max_ack_pending=spec.max_ack_pending,
    )


async def discover(broker: NatsBroker, window_s: float) -> list[ServiceInfo]:
    """Ask every live replica; gather answers for `window_s` (the registry's documented window); one per name."""
    connection = broker.connection
    inbox = connection.new_inbox()
    found: dict[str, ServiceInfo] = {}
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
                info = ServiceInfo.model_validate_json(message.data)
                found.setdefault(info.name, info)
    finally:
        await subscription.unsubscribe()
    return sorted(found.values(), key=lambda info: info.name)


async def _keep_room_cache_fresh(app: AppContext[Any, Any]) -> None:
    await app.rooms.listen()


async def _raw_message(message: NatsMessage) -> Msg:
    """The handler's argument is the JetStream message itself: the dispatcher validates payloads (dead-lettering bad
    ones) and acks by hand, so FastStream neither decodes nor injects anything (its DI costs thread hops)."""
    return message.raw_message


class _Delivery:
    """Adapts a JetStream message to what the dispatcher needs."""

    def __init__(self, raw: Msg) -> None:
        metadata = raw.metadata
        self._raw = raw
        self.subject: str = raw.subject
        self.data: bytes = raw.data
        self.deliveries: int = metadata.num_delivered or 1
        self.stream_sequence: int | None = metadata.sequence.stream if metadata.sequence else None
        self.published_at: datetime = metadata.timestamp

    async def ack(self) -> None:
        await self._raw.ack()

    async def nak(self, delay: float) -> None:
        await self._raw.nak(delay=delay)

    async def in_progress(self) -> None:
        await self._raw.in_progress()


def _stream_of(subject: str) -> str:
    for spec in streams.ALL:
        if any(subject.startswith(pattern.rstrip(">")) for pattern in spec.subjects):
            return spec.name
    raise ValueError(f"no stream for {subject!r}")


def _bind(handler: RouteHandler, runtime: Runtime[Any, Any]) -> Callable[[Request], Awaitable[Response]]:
    async def bound(request: Request) -> Response:
        return await handler(request, runtime.context)

    return bound
