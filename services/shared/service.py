"""`QunService`: the one declaration of a service. Everything else is derived from it — its consumer and NATS
permissions, its entry in the registry and in help, its Kubernetes manifests — so a new package under `services/`
is the whole registration.

    service = QunService("scheduler", version="0.1.0", settings=SchedulerSettings, deps=open_deps,
                         title_zh="提醒", title_en="reminders", publishes=(SayText,))

    @service.command(ChatCommand(name="remind", keywords_zh=["提醒"], keywords_en=["remind"]))
    async def remind(event: MessageReceived, ctx: Context[SchedulerSettings, Deps], args: str) -> None: ...

    @service.recogniser("remind")
    def natural_reminder(event: MessageReceived, ctx: Context[SchedulerSettings, Deps]) -> Intent | None: ...

    if __name__ == "__main__":
        service.run()

`Runtime` (runtime.py) runs one instance of it.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from redis.asyncio import Redis

from schemas import (
    ChatCommand,
    Event,
    MessageReceived,
    Payload,
    Request,
    SayText,
    ServiceInfo,
    streams,
    subjects,
)
from services.shared import logs, telemetry
from services.shared.commands import CommandMatcher
from services.shared.context import AppContext, Clock, Context
from services.shared.http import Request as HttpRequest
from services.shared.http import Response
from services.shared.intents import Intent
from services.shared.settings import QunSettings

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider

    from services.shared.runtime import Runtime

S = TypeVar("S", bound=QunSettings)
D = TypeVar("D")
E = TypeVar("E", bound=Event)

DepsFactory = Callable[[S, Redis], AbstractAsyncContextManager[D]]
EventHandler = Callable[[Any, Context[Any, Any]], Awaitable[None]]
CommandHandler = Callable[[MessageReceived, Context[Any, Any], str], Awaitable[None]]
Recogniser = Callable[[MessageReceived, Context[Any, Any]], "Intent | Awaitable[Intent | None] | None"]
Fallback = Callable[[MessageReceived, Context[Any, Any]], Awaitable[None]]
Accepts = Callable[[MessageReceived, Context[Any, Any]], bool]
Responder = Callable[[Any, AppContext[Any, Any]], Awaitable[Payload]]
BackgroundTask = Callable[[AppContext[Any, Any]], Awaitable[None]]
RouteHandler = Callable[[HttpRequest, AppContext[Any, Any]], Awaitable[Response]]
StartHook = Callable[["Runtime[Any, Any]"], Awaitable[None]]
HealthCheck = Callable[[AppContext[Any, Any]], bool]


@contextlib.asynccontextmanager
async def _no_deps(_settings: QunSettings, _redis: Redis) -> AsyncIterator[None]:
    yield None


@dataclass(frozen=True)
class _Command:
    spec: ChatCommand
    handler: CommandHandler


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    handler: RouteHandler


class QunService(Generic[S, D]):
    def __init__(
        self,
        name: str,
        *,
        version: str,
        settings: type[S],
        deps: DepsFactory[S, D] | None = None,
        title_zh: str = "",
        title_en: str = "",
        summary_zh: str = "",
        summary_en: str = "",
        internal: bool = False,
        switchable: bool = True,
        publishes: Sequence[type[Payload]] = (SayText,),
        scale_on_lag: bool = True,
        nats_publish: Sequence[str] = (),
        nats_subscribe: Sequence[str] = (),
    ) -> None:
        """
        title_zh/title_en: the display names members and admins use (help, `关闭 提醒`).
        internal: plumbing or example, never listed in help.
        switchable: False for a service an admin must not switch off in a room (the one holding the switch).
        publishes: every command, event and request type it sends; its NATS permissions are derived from it, and
            sending anything else raises.
        scale_on_lag: production scales its replicas on its consumer's lag (KEDA).
        nats_publish / nats_subscribe: raw NATS rights beyond what the declaration implies, for operator tooling
            only (JetStream API reads, dead-letter replay); every other service leaves them empty.
        """
        self.name = name
        self.version = version
        self.settings_type = settings
        self.deps_factory: DepsFactory[S, Any] = deps or _no_deps
        self.title_zh = title_zh or name
        self.title_en = title_en or name
        self.summary_zh = summary_zh
        self.summary_en = summary_en
        self.internal = internal
        self.switchable = switchable
        self.publishes: frozenset[type[Payload]] = frozenset(publishes)
        self.scale_on_lag = scale_on_lag
        self.nats_publish = tuple(nats_publish)
        self.nats_subscribe = tuple(nats_subscribe)
        self._commands: dict[str, _Command] = {}
        self._matcher: CommandMatcher | None = None
        self._handlers: dict[type[Event], list[EventHandler]] = {}
        self.recognisers: list[tuple[str, Recogniser]] = []
        self.fallback_handler: Fallback | None = None
        self.fallback_rank = -1
        self.fallback_accepts: Accepts | None = None
        self.fallback_rooms_only = False
        self.fallback_speculative = False
        self.responders: dict[type[Request], Responder] = {}
        self.background_tasks: list[BackgroundTask] = []
        self.routes: list[Route] = []
        self.start_hooks: list[StartHook] = []
        self.health_checks: list[HealthCheck] = []

    # -- declaring -------------------------------------------------------------------------------------------

    def command(self, spec: ChatCommand) -> Callable[[CommandHandler], CommandHandler]:
        """A chat command: matched on the leading keyword of `body`; its filters (`admin_only`, `rooms_only`,
        `needs_mention`) are applied by the dispatcher before the handler runs."""

        def register(handler: CommandHandler) -> CommandHandler:
            if spec.name in self._commands:
                raise ValueError(f"{self.name}: command {spec.name!r} registered twice")
            self._commands[spec.name] = _Command(spec, handler)
            self._matcher = None
            return handler

        return register

    def recogniser(self, command: str) -> Callable[[Recogniser], Recogniser]:
        """A function `(event, ctx) -> Intent | None` (sync, or async when it must look something up) that
        recognises `command` in plain words. If its intent wins the claims, the command's handler runs with
        `intent.args`, behind the command's filters."""

        def register(recognise: Recogniser) -> Recogniser:
            if command not in self._commands:
                raise ValueError(f"{self.name}: declare command {command!r} before its recogniser")
            self.recognisers.append((command, recognise))
            return recognise

        return register

    def fallback(
        self,
        *,
        rank: int,
        rooms_only: bool = False,
        accepts: Accepts | None = None,
        speculative: bool = False,
    ) -> Callable[[Fallback], Fallback]:
        """Answers an addressed message nobody recognised; of the live services that offer one for the message,
        the highest rank answers. `rooms_only`: not for direct messages; `accepts(event, ctx)`: a quick, pure
        check that this fallback has something to say (e.g. the message is a question with content);
        `speculative`: the handler only reads and replies (no stored effects), so the plumbing runs it while the
        claims are being decided and sends its replies only if it wins — the claims then cost almost nothing."""

        def register(handler: Fallback) -> Fallback:
            if self.fallback_handler is not None:
                raise ValueError(f"{self.name}: one fallback per service")
            if rank < 0:
                raise ValueError("a fallback rank is 0 or more")
            self.fallback_handler, self.fallback_rank = handler, rank
            self.fallback_rooms_only, self.fallback_accepts = rooms_only, accepts
            self.fallback_speculative = speculative
            return handler

        return register

    def fallback_rank_for(self, event: MessageReceived, ctx: Context[Any, Any]) -> int:
        """The rank this service's fallback claims for the message, or -1 when it offers none."""
        if self.fallback_handler is None or (self.fallback_rooms_only and event.room is None):
            return -1
        if self.fallback_accepts is not None and not self.fallback_accepts(event, ctx):
            return -1
        return self.fallback_rank

    def on(self, event_type: type[E]) -> Callable[[EventHandler], EventHandler]:
        """Every event of that type; for `MessageReceived`: every message this service did not answer."""

        def register(handler: EventHandler) -> EventHandler:
            self._handlers.setdefault(event_type, []).append(handler)
            return handler

        return register

    def responds(self, request_type: type[Request]) -> Callable[[Responder], Responder]:
        """Answer `request_type` on `qun.req.*.<suffix>` (one replica answers each request, on the requester's
        inbox only)."""

        def register(handler: Responder) -> Responder:
            self.responders[request_type] = handler
            return handler

        return register

    def background(self, task: BackgroundTask) -> BackgroundTask:
        """Runs for the instance's lifetime; restarted with backoff if it fails."""
        self.background_tasks.append(task)
        return task

    def route(self, method: str, path: str) -> Callable[[RouteHandler], RouteHandler]:
        """An HTTP endpoint on HTTP_PORT (production exposes it through a Kubernetes Service)."""

        def register(handler: RouteHandler) -> RouteHandler:
            self.routes.append(Route(method, path, handler))
            return handler

        return register

    def health_check(self, check: HealthCheck) -> HealthCheck:
        """A service-specific liveness rule: /healthz and /readyz fail (and Kubernetes restarts the pod) when it
        returns False."""
        self.health_checks.append(check)
        return check

    def on_start(self, hook: StartHook) -> StartHook:
        """Runs once the instance is connected, before background tasks."""
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

    def command_spec(self, name: str) -> ChatCommand:
        return self._commands[name].spec

    def command_handler(self, name: str) -> CommandHandler:
        return self._commands[name].handler

    def handlers_for(self, event_type: type[Event]) -> list[EventHandler]:
        return self._handlers.get(event_type, [])

    @property
    def claims(self) -> bool:
        """Whether it answers messages addressed to the bot, and so takes part in claims."""
        return bool(self._commands or self.recognisers or self.fallback_handler)

    @property
    def event_types(self) -> dict[str, type[Event]]:
        """Subject suffix -> event type, for every event this service consumes."""
        types = set(self._handlers)
        if self.claims:
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
            title_zh=self.title_zh,
            title_en=self.title_en,
            summary_zh=self.summary_zh,
            summary_en=self.summary_en,
            internal=self.internal,
            switchable=self.switchable,
            claims=self.claims,
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
        from services.shared.runtime import Runtime  # noqa: PLC0415 - the runtime imports this module

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
