"""The one JetStream pull-consumer loop, shared by every service's dispatcher and the gateway's command executor.

    consumer = PullConsumer("tagger", bind, handle, dead_letter, ConsumerPolicy(max_deliver=5), healthy=probe)
    await consumer.run()          # until consumer.close()

It pulls at most `max_in_flight` unfinished messages, runs `handle(delivery)` for each in its own task, and decides
the message's fate from how `handle` ends — the only thing a caller decides is what to do with a message:
- returns: acked (the effect is stored; `handle` must not return earlier);
- raises `Permanent`: dead-lettered at once (retrying cannot help: bad payload, unknown command);
- raises an outage error (Redis or NATS unreachable, see `is_outage`): nothing is counted against the message.
  Fetching pauses, the message stays in progress, and `handle` runs again once `healthy()` says the dependency is
  back — an outage is a pause, not a failure that uses up deliveries;
- raises anything else: retried with exponential backoff (`retry_base_s` * 2^(n-1)) up to `max_deliver`
  deliveries, then dead-lettered with the reason.
Every `keep_alive_s` the messages still being handled (or waiting, like the gateway's paced sends) are marked in
progress, so JetStream does not redeliver them to another replica meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from nats.aio.msg import Msg
from nats.errors import ConnectionClosedError, NoServersError, OutboundBufferLimitError, StaleConnectionError
from nats.errors import Error as NatsError
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js.client import JetStreamContext
from nats.js.errors import NoStreamResponseError, ServiceUnavailableError
from redis.exceptions import BusyLoadingError, TryAgainError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from schemas import DeadLettered

log = logging.getLogger("qunbus.consumer")

MAX_DEAD_LETTER_PAYLOAD = 64 * 1024
"""Characters of the original payload a dead letter keeps; the rest is cut (its hash and length stay), so a dead
letter always fits NATS' maximum payload."""

_OUTAGES: tuple[type[BaseException], ...] = (
    RedisConnectionError,
    RedisTimeoutError,
    BusyLoadingError,  # Redis restarted and is still loading its append-only file
    TryAgainError,
    ConnectionClosedError,
    NoServersError,
    StaleConnectionError,
    OutboundBufferLimitError,
    NoStreamResponseError,  # JetStream has no leader for the stream right now
    ServiceUnavailableError,
    NatsTimeoutError,
    ConnectionError,
)


def is_outage(error: BaseException) -> bool:
    """Whether `error` says a dependency (Redis, NATS) is unreachable rather than that the message is at fault."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, _OUTAGES):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


class Permanent(Exception):  # noqa: N818 - reads as "raise Permanent(reason)"
    """Retrying cannot help: the message goes to the dead-letter stream at once."""


class Delivery:
    """One message pulled from JetStream."""

    __slots__ = ("data", "deliveries", "headers", "published_at", "raw", "stream_sequence", "subject")

    def __init__(self, raw: Msg) -> None:
        metadata = raw.metadata
        self.raw = raw
        self.subject: str = raw.subject
        self.data: bytes = raw.data
        self.headers: Mapping[str, str] = raw.headers or {}
        self.deliveries: int = metadata.num_delivered or 1
        self.stream_sequence: int | None = metadata.sequence.stream if metadata.sequence else None
        self.published_at: datetime = metadata.timestamp

    @property
    def msg_id(self) -> str | None:
        return self.headers.get("Nats-Msg-Id")

    def age_s(self, now: datetime | None = None) -> float:
        """Seconds since JetStream stored it (real time)."""
        return ((now or datetime.now(UTC)) - self.published_at).total_seconds()

    async def ack(self) -> None:
        await self.raw.ack()

    async def nak(self, delay: float | None = None) -> None:
        await self.raw.nak(delay=delay)

    async def in_progress(self) -> None:
        await self.raw.in_progress()


def dead_letter_of(
    service: str, delivery: Delivery, error: str, *, redact: bool = False, now: datetime | None = None
) -> DeadLettered:
    """A dead letter that always fits on the bus: the payload cut to `MAX_DEAD_LETTER_PAYLOAD` characters (or
    withheld when `redact`), with the original's hash and length."""
    text = "" if redact else delivery.data.decode("utf-8", errors="replace")
    return DeadLettered(
        service=service,
        subject=delivery.subject,
        payload=text[:MAX_DEAD_LETTER_PAYLOAD],
        payload_sha256=hashlib.sha256(delivery.data).hexdigest(),
        payload_bytes=len(delivery.data),
        truncated=len(text) > MAX_DEAD_LETTER_PAYLOAD,
        redacted=redact,
        error=error[:2000],
        deliveries=delivery.deliveries,
        stream_sequence=delivery.stream_sequence,
        failed_at=now or datetime.now(UTC),
    )


@dataclass(frozen=True)
class ConsumerPolicy:
    max_in_flight: int = 256
    """Messages pulled but not finished (handled, or waiting like the gateway's paced sends)."""
    batch: int = 64
    max_deliver: int = 5
    retry_base_s: float = 1.0
    keep_alive_s: float = 10.0
    """In-progress ack period: well below the consumer's ack wait."""
    fetch_timeout_s: float = 5.0
    """A fetch returns on the first message; a long timeout only means fewer idle polls."""
    outage_probe_s: float = 1.0
    """How often `healthy()` is asked while an outage lasts."""


Bind = Callable[[], Awaitable[JetStreamContext.PullSubscription]]
Handle = Callable[[Delivery], Awaitable[None]]
DeadLetter = Callable[[Delivery, str], Awaitable[None]]
Healthy = Callable[[], Awaitable[bool]]


async def _always_healthy() -> bool:
    return True


class PullConsumer:
    def __init__(
        self,
        name: str,
        bind: Bind,
        handle: Handle,
        dead_letter: DeadLetter,
        policy: ConsumerPolicy,
        *,
        healthy: Healthy = _always_healthy,
    ) -> None:
        """`dead_letter(delivery, reason)` publishes the dead letter (it is acked afterwards); `healthy()` says
        whether the dependencies are back after an outage."""
        self.name = name
        self.policy = policy
        self._bind = bind
        self._handle = handle
        self._dead_letter = dead_letter
        self._healthy = healthy
        self._running: dict[Delivery, tuple[asyncio.Task[None], float]] = {}
        self._space = asyncio.Event()
        self._space.set()
        self._closed = asyncio.Event()
        self._outage = asyncio.Event()  # set while a dependency is down
        self._back = asyncio.Event()  # set when it came back
        self._back.set()
        self.outages = 0
        self._puller: asyncio.Task[None] | None = None
        self._subscription: JetStreamContext.PullSubscription | None = None

    # -- state -----------------------------------------------------------------------------------------------

    @property
    def in_flight(self) -> int:
        return len(self._running)

    @property
    def paused(self) -> bool:
        return not self._back.is_set()

    def oldest_running_s(self) -> float:
        """How long the oldest unfinished message has been held (0 when none)."""
        if not self._running:
            return 0.0
        return time.monotonic() - min(started for _, started in self._running.values())

    # -- running ---------------------------------------------------------------------------------------------

    async def run(self) -> None:
        """Pull and handle until `close()`; unfinished messages are handed back by `stop()`."""
        async with asyncio.TaskGroup() as loops:
            self._puller = loops.create_task(self._pull(), name=f"{self.name}:pull")
            loops.create_task(self._keep_alive(), name=f"{self.name}:keep-alive")
            loops.create_task(self._watch_outages(), name=f"{self.name}:outages")

    def close(self) -> None:
        """Stop pulling (the loops of `run` end; messages being handled carry on until `stop`)."""
        self._closed.set()
        self._space.set()
        self._back.set()
        self._outage.set()
        if self._puller is not None:
            self._puller.cancel()  # a pending fetch would take what `stop` hands back

    async def stop(self, grace_s: float = 10.0) -> None:
        """Stop pulling, let running handlers finish for `grace_s`, then hand the rest back to JetStream at once."""
        self.close()
        if self._subscription is not None:
            # The server drops a pending pull request whose inbox lost interest, so what is handed back below is
            # redelivered at once rather than into this dead subscription (and after the ack wait).
            with contextlib.suppress(NatsError, OSError):
                await self._subscription.unsubscribe()
            self._subscription = None
        tasks = {task for task, _ in self._running.values()}
        if tasks and grace_s > 0:
            await asyncio.wait(tasks, timeout=grace_s)
        for delivery, (task, _) in list(self._running.items()):
            task.cancel()
            with contextlib.suppress(NatsError, OSError):  # unacked, it comes back after the ack wait anyway
                await delivery.nak()
        if self._running:
            await asyncio.wait({task for task, _ in self._running.values()}, timeout=1.0)

    async def _pull(self) -> None:
        delay = 0.2
        while not self._closed.is_set():
            free = self.policy.max_in_flight - len(self._running)
            if free <= 0:
                self._space.clear()
                await self._space.wait()
                continue
            if not self._back.is_set():
                await self._back.wait()
                continue
            try:
                if self._subscription is None:
                    self._subscription = await self._bind()
                messages = await self._subscription.fetch(
                    min(free, self.policy.batch), timeout=self.policy.fetch_timeout_s
                )
            except (TimeoutError, NatsTimeoutError):
                continue  # nothing new
            except (NatsError, OSError) as error:  # NATS reconnecting, the consumer briefly gone: try again
                if self._closed.is_set():
                    return
                log.warning(
                    "%s: pulling failed (%s); retrying in %.1fs", self.name, type(error).__name__, delay
                )
                self._subscription = None
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            delay = 0.2
            for raw in messages:
                delivery = Delivery(raw)
                task = asyncio.create_task(self._process(delivery))
                self._running[delivery] = (task, time.monotonic())

    async def _process(self, delivery: Delivery) -> None:
        try:
            while True:
                try:
                    await self._handle(delivery)
                except Permanent as error:
                    await self._give_up(delivery, str(error))
                except Exception as error:  # noqa: BLE001 - any failure is retried, then dead-lettered
                    if is_outage(error) and not self._closed.is_set():
                        await self._pause(delivery, error)
                        continue
                    await self._retry_or_give_up(delivery, error)
                else:
                    await self._settle(delivery.ack(), delivery)
                return
        finally:
            self._running.pop(delivery, None)
            self._space.set()

    async def _pause(self, delivery: Delivery, error: BaseException) -> None:
        if self._back.is_set():
            self.outages += 1
            log.warning("%s: dependency unreachable (%s); pausing until it is back", self.name, error)
        self._back.clear()
        self._outage.set()
        await self._back.wait()

    async def _watch_outages(self) -> None:
        """While paused, ask `healthy()` until the dependencies answer, then resume everything at once."""
        while not self._closed.is_set():
            await self._outage.wait()
            self._outage.clear()
            while not self._back.is_set() and not self._closed.is_set():
                await asyncio.sleep(self.policy.outage_probe_s)
                try:
                    back = await self._healthy()
                except Exception:  # noqa: BLE001 - a failing probe just means "not yet"
                    back = False
                if back:
                    log.info("%s: dependencies are back; resuming", self.name)
                    self._back.set()

    async def _keep_alive(self) -> None:
        interval = self.policy.keep_alive_s
        while not self._closed.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(interval):
                    await self._closed.wait()
            due = time.monotonic() - interval
            for delivery, (_, started) in list(self._running.items()):
                if started <= due:
                    with contextlib.suppress(NatsError, OSError):  # finished meanwhile, or NATS is away
                        await delivery.in_progress()

    # -- failures --------------------------------------------------------------------------------------------

    async def _retry_or_give_up(self, delivery: Delivery, error: BaseException) -> None:
        reason = f"{type(error).__name__}: {error}"
        if delivery.deliveries >= self.policy.max_deliver:
            log.error(
                "%s: giving up on %s after %d deliveries: %s",
                self.name,
                delivery.subject,
                delivery.deliveries,
                reason,
            )
            await self._give_up(delivery, reason)
            return
        delay = self.policy.retry_base_s * 2 ** (delivery.deliveries - 1)
        log.warning("%s: %s failed (%s); retry in %.2fs", self.name, delivery.subject, reason, delay)
        await self._settle(delivery.nak(delay), delivery)

    async def _give_up(self, delivery: Delivery, reason: str) -> None:
        try:
            await self._dead_letter(delivery, reason)
        except Exception:  # not stored as a dead letter: leave it unacked, it comes back after the ack wait
            log.exception("%s: could not dead-letter %s", self.name, delivery.subject)
            return
        await self._settle(delivery.ack(), delivery)

    async def _settle(self, call: Awaitable[None], delivery: Delivery) -> None:
        try:
            await call
        except (NatsError, OSError) as error:  # redelivered after the ack wait; handlers are idempotent
            log.warning("%s: could not settle %s (%s)", self.name, delivery.subject, type(error).__name__)
