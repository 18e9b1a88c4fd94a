"""Executing commands from `qun.cmd.<bot_id>.>`: pulled only as fast as they can be sent, paced, deduped,
acked once WeChat accepted them, retried with backoff, then dead-lettered.

A command waits in the outbox while the rate limits hold it back; meanwhile its JetStream message is kept alive
with in-progress acks, so it never passes its ack deadline and is never delivered twice at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from opentelemetry import trace
from opentelemetry.trace import SpanKind, Tracer
from pydantic import ValidationError
from redis.asyncio import Redis

from schemas import COMMAND_TYPES, SCHEMA_VERSION, Command, DeadLettered, subjects
from services.gateway.executor import Executor, Step, UnsupportedCommandError, describe
from services.gateway.pacing import Outbox, PacingLimits, Wait
from services.shared import telemetry

log = logging.getLogger("qunbus.gateway.outbound")

_COMMANDS_BY_SUFFIX: dict[str, type[Command]] = {kind.subject_suffix: kind for kind in COMMAND_TYPES}
_DONE = "done"


def progress_key(bot_id: str, command_id: str) -> str:
    """Redis: how many steps of a command WeChat accepted (`done` when all). The dedupe record of commands."""
    return f"qun:gateway:{bot_id}:command:{command_id}"


class Delivery(Protocol):
    """The parts of a nats-py JetStream message the outbound side uses."""

    @property
    def subject(self) -> str: ...

    @property
    def data(self) -> bytes: ...

    @property
    def metadata(self) -> _Metadata: ...

    @property
    def headers(self) -> dict[str, str] | None: ...

    async def ack(self) -> None: ...

    async def nak(self, delay: float | None = None) -> None: ...

    async def in_progress(self) -> None: ...


class _Sequence(Protocol):
    @property
    def stream(self) -> int: ...


class _Metadata(Protocol):
    @property
    def num_delivered(self) -> int | None: ...

    @property
    def sequence(self) -> _Sequence | None: ...


class PermanentError(ValueError):
    """Retrying cannot help (bad payload, unknown schema version, unsupported command)."""


@dataclass(frozen=True)
class OutboundSettings:
    bot_id: str
    limits: PacingLimits = field(default_factory=PacingLimits)
    max_in_flight: int = 10
    """Commands pulled but not finished. Bounds how long the last of them can wait for the rate limits."""
    max_deliver: int = 5
    retry_base_s: float = 2.0
    keep_alive_s: float = 10.0
    """In-progress ack period; well below the consumer's ack wait (30 s)."""
    progress_ttl_s: int = 24 * 3600
    fetch_timeout_s: float = 1.0


@dataclass
class _Job:
    delivery: Delivery
    command: Command
    steps_left: int
    failed: bool = False


DeadLetter = Callable[[DeadLettered], Awaitable[None]]


class Outbound:
    def __init__(
        self,
        settings: OutboundSettings,
        executor: Executor,
        redis: Redis,
        dead_letter: DeadLetter,
        tracer: Tracer | None = None,
    ) -> None:
        self.settings = settings
        self.tracer = tracer or trace.get_tracer("qunbus.gateway")
        self.executor = executor
        self.redis = redis
        self.dead_letter = dead_letter
        self.outbox: Outbox[tuple[_Job, Step]] = Outbox(settings.limits)
        self.sent = 0
        self._jobs: list[_Job] = []
        self._work = asyncio.Event()
        self._space = asyncio.Event()
        self._closed = False

    # -- status ----------------------------------------------------------------------------------------------

    def queue_sizes(self) -> dict[str, int]:
        return self.outbox.queue_sizes()

    @property
    def rate_limit_waits(self) -> int:
        return self.outbox.stats.rate_limit_waits

    @property
    def in_flight(self) -> int:
        return len(self._jobs)

    # -- running ---------------------------------------------------------------------------------------------

    async def run(self, fetch: Callable[[int, float], Awaitable[list[Delivery]]]) -> None:
        """Pull, pace, send, keep alive — until cancelled. `fetch(batch, timeout)` pulls from the consumer."""
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(self._pull(fetch))
            tasks.create_task(self._send())
            tasks.create_task(self._keep_alive())

    def close(self) -> None:
        """Ask the loops of `run` to end (also when a library swallowed their cancellation)."""
        self._closed = True
        self._work.set()
        self._space.set()

    async def _pull(self, fetch: Callable[[int, float], Awaitable[list[Delivery]]]) -> None:
        while not self._closed:
            room = self.settings.max_in_flight - len(self._jobs)
            if room <= 0:
                self._space.clear()
                await self._space.wait()
                continue
            try:
                deliveries = await fetch(room, self.settings.fetch_timeout_s)
            except TimeoutError:
                continue
            except Exception:  # NATS reconnecting or the consumer briefly gone: try again shortly
                if self._closed:
                    return
                log.warning("pulling commands failed; retrying", exc_info=True)
                await asyncio.sleep(self.settings.fetch_timeout_s)
                continue
            for delivery in deliveries:
                try:
                    await self.accept(delivery)
                except Exception as error:  # e.g. Redis unreachable: let JetStream redeliver it later
                    log.exception("accepting a command on %s failed", delivery.subject)
                    await self._retry_quietly(delivery, error)

    async def accept(self, delivery: Delivery) -> None:
        """Validate, dedupe and plan one command; its steps join the outbox."""
        try:
            command = parse_command(delivery.subject, delivery.data)
        except PermanentError as error:
            await self._give_up(delivery, str(error))
            return
        done = await self.redis.get(progress_key(self.settings.bot_id, command.id))
        if done == _DONE:
            log.info("command %s already carried out; acking the repeat", command.id)
            await delivery.ack()
            return
        try:
            steps = await self.executor.plan(command)
        except UnsupportedCommandError as error:
            await self._give_up(delivery, str(error))
            return
        except Exception as error:  # noqa: BLE001 - e.g. the puppet is unreachable: retry later
            await self._retry_or_give_up(delivery, error)
            return
        already = int(done) if done and done.isdigit() else 0
        remaining = steps[already:]
        if not remaining:
            await self._finish(_Job(delivery, command, 0))
            return
        job = _Job(delivery, command, len(remaining))
        self._jobs.append(job)
        for step in remaining:
            self.outbox.push(step.conversation, (job, step))
        self._work.set()

    async def _send(self) -> None:
        loop = asyncio.get_running_loop()
        while not self._closed:
            self._work.clear()
            decision = self.outbox.next(loop.time())
            if isinstance(decision, Wait):
                # asyncio.timeout, not wait_for: Python 3.11's wait_for can swallow a cancellation.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(decision.seconds):
                        await self._work.wait()
                continue
            job, step = decision.item
            if job.failed:
                continue
            await asyncio.sleep(self.outbox.jitter())
            try:
                await self._run_step(job, step)
            except Exception as error:  # bookkeeping failed (Redis, NATS): the command is redelivered later
                log.exception("finishing step %s failed", describe(step))
                self._drop(job)
                await self._retry_quietly(job.delivery, error)

    async def _run_step(self, job: _Job, step: Step) -> None:
        try:
            with telemetry.continued(self.tracer, "wechat send", job.delivery.headers, SpanKind.PRODUCER):
                await self.executor.run(step)
        except UnsupportedCommandError as error:
            self._drop(job)
            await self._give_up(job.delivery, str(error))
            return
        except Exception as error:  # noqa: BLE001 - WeChat refused or the puppet is gone: retry the command
            log.warning("step %s failed: %s", describe(step), error)
            self._drop(job)
            await self._retry_or_give_up(job.delivery, error)
            return
        self.sent += 1
        job.steps_left -= 1
        key = progress_key(self.settings.bot_id, job.command.id)
        if job.steps_left > 0:
            await self.redis.set(key, str(step.index + 1), ex=self.settings.progress_ttl_s)
            return
        await self._finish(job)

    async def _finish(self, job: _Job) -> None:
        key = progress_key(self.settings.bot_id, job.command.id)
        await self.redis.set(key, _DONE, ex=self.settings.progress_ttl_s)
        await job.delivery.ack()
        self._forget(job)

    def _drop(self, job: _Job) -> None:
        job.failed = True
        self._forget(job)

    def _forget(self, job: _Job) -> None:
        with contextlib.suppress(ValueError):
            self._jobs.remove(job)
        self._space.set()

    async def release(self) -> None:
        """Hand unfinished commands back to JetStream at once, for the next session to redeliver."""
        for job in list(self._jobs):
            job.failed = True
            with contextlib.suppress(Exception):  # unacked messages are redelivered after ack_wait anyway
                await job.delivery.nak()
        self._jobs.clear()

    async def _keep_alive(self) -> None:
        while not self._closed:
            await asyncio.sleep(self.settings.keep_alive_s)
            for job in list(self._jobs):
                with contextlib.suppress(Exception):  # an expired message is redelivered anyway
                    await job.delivery.in_progress()

    # -- failures --------------------------------------------------------------------------------------------

    async def _retry_or_give_up(self, delivery: Delivery, error: BaseException) -> None:
        deliveries = delivery.metadata.num_delivered or 1
        if deliveries >= self.settings.max_deliver:
            await self._give_up(delivery, f"failed {deliveries} times, last: {error}")
            return
        delay = self.settings.retry_base_s * 2 ** (deliveries - 1)
        log.warning(
            "command on %s failed (%s); retry %d in %.1fs", delivery.subject, error, deliveries, delay
        )
        await delivery.nak(delay=delay)

    async def _retry_quietly(self, delivery: Delivery, error: BaseException) -> None:
        try:
            await self._retry_or_give_up(delivery, error)
        except Exception:  # unacked, it comes back after the ack wait anyway
            log.exception("could not hand the command on %s back", delivery.subject)

    async def _give_up(self, delivery: Delivery, error: str) -> None:
        metadata = delivery.metadata
        letter = DeadLettered(
            service="gateway",
            subject=delivery.subject,
            payload=delivery.data.decode("utf-8", errors="replace"),
            error=error,
            deliveries=metadata.num_delivered or 1,
            stream_sequence=metadata.sequence.stream if metadata.sequence else None,
            failed_at=datetime.now(UTC),
        )
        log.error("dead-lettering command on %s: %s", delivery.subject, error)
        await self.dead_letter(letter)
        await delivery.ack()  # the dead letter holds it now


def parse_command(subject: str, data: bytes) -> Command:
    try:
        _, suffix = subjects.split(subject)
    except ValueError as error:
        raise PermanentError(str(error)) from error
    kind = _COMMANDS_BY_SUFFIX.get(suffix)
    if kind is None:
        raise PermanentError(f"unknown command {suffix!r}")
    try:
        command = kind.model_validate_json(data)
    except ValidationError as error:
        raise PermanentError(f"invalid payload: {error}") from error
    if command.schema_version != SCHEMA_VERSION:
        raise PermanentError(f"unknown schema_version {command.schema_version}")
    return command
