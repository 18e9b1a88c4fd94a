"""`Runtime`: one running instance of a `QunService`, composed of its parts and their lifecycle.

    Redis + Notifications   one pool, one pub/sub connection (caches, claim decisions)      notify.py
    BusConnection           NATS: connect, publish, requests, the registry's answers        bus.py
    LiveRegistry            the live services, refreshed in the background                  registry.py
    Dispatcher + consumer   the durable pull consumer and every cross-cutting rule          dispatch.py, consumer.py
    ops HTTP                /healthz, /readyz, /metrics and the service's routes            http.py

`async with service.runtime(settings) as rt:` in tests; `serve_forever()` in production (SIGTERM stops it).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Any, Generic, Self, TypeVar

from nats.aio.msg import Msg
from nats.errors import Error as NatsError
from nats.js.client import JetStreamContext
from nats.js.errors import NotFoundError
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from redis.asyncio import BlockingConnectionPool, Redis

from schemas import Command, DeadLettered, Request, ServiceInfo, streams, subjects
from services.shared import provision
from services.shared.bus import BusConnection
from services.shared.consumer import ConsumerPolicy, Delivery, PullConsumer, dead_letter_of
from services.shared.context import AppContext, Clock
from services.shared.dispatch import Dispatcher
from services.shared.http import HttpApp, ops_app, serving
from services.shared.intents import ClaimBoard
from services.shared.notify import Notifications
from services.shared.quotas import QuotaLimits, ReplyQuota
from services.shared.registry import LiveRegistry
from services.shared.rooms import AdminCheck, RoomStore
from services.shared.service import BackgroundTask, QunService
from services.shared.settings import QunSettings

S = TypeVar("S", bound=QunSettings)
D = TypeVar("D")

log = logging.getLogger("qunbus")


class Runtime(Generic[S, D]):
    def __init__(
        self,
        service: QunService[S, D],
        settings: S,
        *,
        clock: Clock | None = None,
        tracer_provider: TracerProvider | None = None,
    ) -> None:
        self.service = service
        self.settings = settings
        self.tracer_provider = tracer_provider
        self.tracer = trace.get_tracer("qunbus", tracer_provider=tracer_provider)
        self.clock = clock or Clock(settings.clock_offset_s)
        self.instance = f"{service.name}-{uuid.uuid4().hex[:8]}"
        self.retry_base_s = 1.0
        self.bus = BusConnection(settings, self.instance, tracer_provider)
        self.registry = LiveRegistry(
            self._ask_registry, settings.registry_refresh_s, service.info(self.instance)
        )
        self.consumer: PullConsumer | None = None
        self.dispatcher: Dispatcher | None = None
        self._stack = AsyncExitStack()
        self._tasks: list[asyncio.Task[None]] = []
        self.redis: Redis
        self.rooms: RoomStore
        self.context: AppContext[S, D]

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.stop()

    @property
    def broker(self) -> Any:
        """The FastStream broker holding the NATS connection (`broker.connection`)."""
        return self.bus.broker

    @property
    def retries(self) -> int:
        """Failed attempts to connect (or to find the consumer's stream) at start."""
        return self.bus.retries

    # -- start and stop --------------------------------------------------------------------------------------

    async def start(self) -> None:
        try:
            await self._start()
        except BaseException:  # a half-started instance must not leak connections or tasks
            await _cancel(self._tasks, self.instance)
            self._tasks.clear()
            await self._stack.aclose()
            raise

    async def _start(self) -> None:
        settings, service = self.settings, self.service
        # A blocking pool waits for a free connection; the default pool raises at once when handlers run in parallel.
        pool = BlockingConnectionPool.from_url(
            settings.redis_url.get_secret_value(), decode_responses=True, max_connections=64, timeout=10
        )
        self.redis = Redis.from_pool(pool)  # owns the pool: aclose() closes its connections
        self._stack.push_async_callback(self.redis.aclose)
        notifications = Notifications.of(self.redis)
        self.rooms = RoomStore(self.redis)
        board = ClaimBoard(
            self.redis,
            notifications,
            service.name,
            threshold=settings.claim_threshold,
            deadline_s=settings.claim_deadline_s,
        )
        deps = await self._stack.enter_async_context(service.deps_factory(settings, self.redis))
        self.context = AppContext(
            service=service.name,
            settings=settings,
            deps=deps,
            _bus=self.bus,
            _registry=self.registry,
            _rooms=self.rooms,
            _admins=AdminCheck(settings.admins, self.rooms),
            _clock=self.clock,
            _publishes=service.publishes,
        )
        self._answer_requests()
        await self.bus.connect()
        self._stack.push_async_callback(self.bus.close)
        await self._listen_for_changes()
        self._spawn(self._supervise(_listen, notifications), "notifications")
        self._spawn(self.registry.keep_fresh(), "registry")
        await self.bus.announce(service.info(self.instance))
        spec = service.consumer(settings.max_deliver, settings.ack_wait_s)
        if spec is not None:
            bind = await self._bind_consumer(spec)
            self.dispatcher = Dispatcher(
                service,
                app=self.context,
                registry=self.registry,
                board=board,
                quota=ReplyQuota(self.redis, service.name, settings.quota_limits),
                tracer=self.tracer if self.tracer_provider else None,
                erase=self._erase_event,
            )
            self.consumer = PullConsumer(
                service.name,
                bind,
                self.dispatcher.handle,
                self._dead_letter_delivery,
                ConsumerPolicy(
                    max_deliver=settings.max_deliver,
                    retry_base_s=self.retry_base_s,
                    keep_alive_s=settings.ack_wait_s / 3,
                ),
                healthy=self._dependencies_answer,
            )
            self._spawn(self.consumer.run(), "consumer")
        for hook in service.start_hooks:
            await hook(self)
        for task in service.background_tasks:
            self._spawn(self._supervise(task, self.context), task.__name__)
        log.info("%s started (instance %s)", service.name, self.instance)

    async def stop(self) -> None:
        if self.bus.broker is not None:
            await self.bus.close_responders()
            await self.bus.announce(None)
        if self.consumer is not None:
            await self.consumer.stop(grace_s=self.settings.stop_grace_s)
        await _cancel(self._tasks, self.instance)
        self._tasks.clear()
        await self._stack.aclose()

    def _spawn(self, work: Awaitable[None], name: str) -> None:
        self._tasks.append(asyncio.ensure_future(work))
        self._tasks[-1].set_name(f"{self.instance}:{name}")

    # -- the bus ---------------------------------------------------------------------------------------------

    def _answer_requests(self) -> None:
        service = self.service

        async def answer_discover(_subject: str, _data: bytes) -> bytes:
            return service.info(self.instance).model_dump_json().encode()

        self.bus.respond(subjects.DISCOVER, answer_discover)
        for request_type, handler in service.responders.items():
            self.bus.respond(
                subjects.request(subjects.ANY_BOT, request_type),
                self._answering(request_type, handler),
                queue=service.name,
            )

    def _answering(
        self, request_type: type[Request], handler: Callable[[Any, AppContext[Any, Any]], Awaitable[Any]]
    ) -> Callable[[str, bytes], Awaitable[bytes | None]]:
        async def answer(_subject: str, data: bytes) -> bytes | None:
            try:
                request = request_type.model_validate_json(data)
            except ValueError as error:
                return _failure(request_type, data, f"invalid {request_type.__name__}: {_first_error(error)}")
            try:
                reply = await handler(request, self.context)
            except Exception as error:  # the asker hears why instead of waiting for its timeout
                log.exception("%s: answering %s failed", self.instance, request_type.__name__)
                return _failure(request_type, data, f"failed: {type(error).__name__}")
            return bytes(reply.model_dump_json().encode())

        return answer

    async def _listen_for_changes(self) -> None:
        """A starting service announces its `ServiceInfo` (counted at once); a stopping one an empty message (the
        registry looks again: other replicas of it may still be live)."""

        async def changed(message: Msg) -> None:
            if message.data:
                with contextlib.suppress(ValueError):
                    self.registry.arrived(ServiceInfo.model_validate_json(message.data))
                return
            with contextlib.suppress(NatsError, OSError, TimeoutError):
                await self.registry.refresh()

        await self.bus.connection.subscribe(subjects.SERVICES_CHANGED, cb=changed)

    async def _ask_registry(self) -> list[ServiceInfo]:
        return await self.bus.discover(self.settings.discover_window_s)

    async def discover(self, max_age_s: float = 0.0) -> list[ServiceInfo]:
        """A fresh look at the live services (tests, tools); handlers use the registry's view via ctx."""
        del max_age_s
        await self.registry.refresh()
        return self.registry.services

    async def _bind_consumer(self, spec: Any) -> Callable[[], Awaitable[JetStreamContext.PullSubscription]]:
        """Find the service's durable consumer, waiting for its stream when JetStream is not ready yet; outside
        production (where provisioning made it) the service creates it itself."""
        js = self.bus.connection.jetstream()
        give_up_at = time.monotonic() + self.settings.start_timeout_s
        delay = 0.5
        while True:
            try:
                try:
                    await js.consumer_info(spec.stream, spec.durable)
                except NotFoundError:
                    log.warning("consumer %s is not provisioned; creating it", spec.durable)
                    await provision.ensure_consumer(js, spec)
                break
            except (NatsError, OSError, TimeoutError) as error:
                self.bus.retries += 1
                if time.monotonic() + delay > give_up_at:
                    raise
                log.warning("%s: consumer not ready (%s); retrying in %.1fs", self.instance, error, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

        async def bind() -> JetStreamContext.PullSubscription:
            return await js.pull_subscribe_bind(durable=spec.durable, stream=spec.stream)

        return bind

    async def publish_command(self, bot_id: str, command: Command) -> None:
        await self.bus.send(bot_id, command)

    async def publish(self, subject: str, data: bytes, msg_id: str) -> None:
        await self.bus.publish(subject, data, msg_id)

    async def dead_letter(self, letter: DeadLettered) -> None:
        msg_id = f"{letter.service}:{letter.subject}:{letter.stream_sequence}"
        await self.bus.publish(
            subjects.dead_letter(letter.service), letter.model_dump_json().encode(), msg_id
        )

    async def _dead_letter_delivery(self, delivery: Delivery, reason: str) -> None:
        redact = self.dispatcher is not None and self.dispatcher.is_private(delivery)
        await self.dead_letter(dead_letter_of(self.service.name, delivery, reason, redact=redact))

    async def _erase_event(self, sequence: int) -> None:
        """Overwrite one message of QUN_EVT (a direct message carrying a password), whoever else still had it."""
        with contextlib.suppress(NotFoundError):  # already gone (redelivered and erased before)
            await self.bus.connection.jetstream().delete_msg(streams.EVENTS.name, sequence)

    async def _dependencies_answer(self) -> bool:
        try:
            async with asyncio.timeout(2.0):
                return self.bus.connected and bool(await self.redis.ping())
        except Exception:  # noqa: BLE001 - any failure means "not back yet"
            return False

    # -- background work -------------------------------------------------------------------------------------

    async def _supervise(self, task: Callable[[Any], Awaitable[None]], argument: Any) -> None:
        """Run `task(argument)` for the instance's lifetime: a failing loop is logged and restarted with backoff."""
        delay = 0.5
        while True:
            started = time.monotonic()
            try:
                await task(argument)
            except Exception:  # a failing loop must not end the service: logged, then restarted
                current = asyncio.current_task()
                if current is not None and current.cancelling():
                    # Being stopped: redis-py can turn the cancellation into a ConnectionError. Stop, don't restart.
                    raise asyncio.CancelledError from None
                log.exception("%s: %s failed; restarting in %.1fs", self.instance, _name(task), delay)
            else:
                return
            delay = 0.5 if time.monotonic() - started > 60 else min(delay * 2, 30.0)
            await asyncio.sleep(delay)

    # -- production ------------------------------------------------------------------------------------------

    def http_app(self) -> HttpApp:
        return ops_app(self)

    @contextlib.asynccontextmanager
    async def serving_http(self) -> AsyncIterator[None]:
        """Serve the HTTP endpoints on HTTP_HOST:HTTP_PORT while inside the block."""
        async with serving(self.http_app(), self.settings.http_host, self.settings.http_port):
            yield

    async def serve_forever(self) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        async with self, self.serving_http():
            await stop.wait()
        log.info("%s stopped", self.service.name)


def _failure(request_type: type[Request], data: bytes, error: str) -> bytes | None:
    """The reply type filled from what the request said, with `error` set; no reply if even that is impossible."""
    try:
        raw = json.loads(data)
    except ValueError:
        raw = {}
    fields = raw if isinstance(raw, dict) else {}
    try:
        return bytes(
            request_type.reply_type.model_validate({**fields, "error": error}).model_dump_json().encode()
        )
    except ValueError:
        log.warning("an invalid %s got no answer: %s", request_type.__name__, error)
        return None


def _first_error(error: ValueError) -> str:
    return str(error).splitlines()[0][:200]


async def _listen(notifications: Notifications) -> None:
    await notifications.listen()


def _name(task: object) -> str:
    return str(getattr(task, "__name__", task))


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


__all__ = ["BackgroundTask", "QuotaLimits", "Runtime"]
