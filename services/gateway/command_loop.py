"""The command side of one login: wait for the account's send lease, then read commands and send until the lease is
lost or the login ends.

Only the lease holder pulls from `gateway-<bot_id>`: a second gateway process for the same account reads nothing
and waits, so commands are never stuck with a process that may not send. Losing the lease hands the unfinished
commands back to JetStream, for the holder.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from nats.aio.client import Client as NatsClient
from nats.js.client import JetStreamContext
from nats.js.errors import NotFoundError
from opentelemetry.trace import Tracer
from redis.asyncio import Redis

from schemas import DeadLettered, subjects
from services.gateway.budget import SendBudget
from services.gateway.executor import Executor
from services.gateway.files import object_store_loader
from services.gateway.lease import SendLease
from services.gateway.outbound import Outbound
from services.gateway.reader import PuppetReader
from services.gateway.sender import Sender, SenderStats
from services.gateway.settings import GatewaySettings
from services.shared import permissions, provision
from services.shared.consumer import ConsumerPolicy, Delivery, PullConsumer, dead_letter_of

log = logging.getLogger("qunbus.gateway.commands")

DeadLetter = Callable[[DeadLettered], Awaitable[None]]

consumer_name = permissions.gateway_user
"""`gateway-<bot_id>`: the durable consumer on QUN_CMD (and the NATS user) of one account's gateway."""

_STOP_GRACE_S = 0.5
"""At stop, how long commands being handled may finish: a part being sent completes either way."""


@dataclass
class Totals:
    """Counters over every login and lease of this process, for the status reply and the metrics."""

    sent: int = 0
    rate_limit_waits: int = 0
    dropped_stale: int = 0
    unknown_outcomes: int = 0
    daily_used: dict[str, int] = field(default_factory=dict)


class CommandLoop:
    def __init__(
        self,
        settings: GatewaySettings,
        bot_id: str,
        *,
        instance: str,
        redis: Redis,
        nats: NatsClient,
        dead_letter: DeadLetter,
        tracer: Tracer,
        puppet: Any,
        reader: PuppetReader,
        totals: Totals,
    ) -> None:
        self.settings = settings
        self.bot_id = bot_id
        self.redis = redis
        self.nats = nats
        self.js = nats.jetstream()
        self._dead_letter = dead_letter
        self.tracer = tracer
        self.totals = totals
        self.executor = Executor(
            puppet,
            reader,
            settings.max_message_chars,
            settings.max_parts,
            load_object=object_store_loader(self.js),
            max_file_bytes=settings.max_file_bytes,
        )
        self.budget = SendBudget(redis, bot_id, settings.limits, settings.daily_limits, zone=settings.zone)
        self.lease = SendLease(redis, self.budget.lease_key(), instance, settings.lease_ttl_s)
        self.sender: Sender | None = None
        self.outbound: Outbound | None = None
        self.consumer: PullConsumer | None = None

    # -- status ----------------------------------------------------------------------------------------------

    @property
    def sending(self) -> bool:
        return self.consumer is not None and self.lease.held

    def held(self) -> str:
        """Why sending is held, "" when it is not."""
        if not self.lease.held:
            return "another gateway process holds the send lease; waiting"
        if self.consumer is not None and self.consumer.paused:
            return "Redis or NATS unreachable: sending paused"
        if self.sender is not None and self.sender.stats.held:
            return "; ".join(sorted(self.sender.stats.held.values()))
        return ""

    def stats(self) -> SenderStats | None:
        return self.sender.stats if self.sender is not None else None

    # -- running ---------------------------------------------------------------------------------------------

    async def ensure_consumer(self) -> None:
        """At login, leader or not: a consumer created now starts at new commands, so it must exist by then.
        Provisioning creates it in production (the gateway's NATS user may not); elsewhere the gateway does."""
        spec = provision.gateway_consumer(self.bot_id, self.settings.max_deliver, self.settings.ack_wait_s)
        try:
            await self.js.consumer_info(spec.stream, spec.durable)
        except NotFoundError:
            log.warning("consumer %s is not provisioned; creating it", spec.durable)
            await provision.ensure_consumer(self.js, spec)

    async def run(self) -> None:
        """Until cancelled: hold the lease, carry commands out while holding it, wait again when it is lost."""
        try:
            while True:
                await self.lease.acquire()
                await self._send_while_leader()
        finally:
            with contextlib.suppress(Exception):  # Redis gone: the lease lapses after its TTL anyway
                await asyncio.shield(self.lease.release())

    async def _send_while_leader(self) -> None:
        settings = self.settings
        sender = Sender(
            self.executor,
            self.budget,
            self.tracer,
            lease=lambda: self.lease.value,
            jitter_s=settings.jitter_s,
        )
        outbound = Outbound(self.executor, sender, self.budget, max_command_age_s=settings.max_command_age_s)
        consumer = PullConsumer(
            consumer_name(self.bot_id),
            self._bind,
            outbound.handle,
            self._dead_letter_delivery,
            ConsumerPolicy(
                max_in_flight=settings.max_in_flight,
                batch=settings.max_in_flight,
                max_deliver=settings.max_deliver,
                retry_base_s=settings.retry_base_s,
                keep_alive_s=settings.ack_wait_s / 3,
            ),
            healthy=self._dependencies_answer,
        )
        with contextlib.suppress(Exception):
            sender.stats.daily_used = await self.budget.daily_used()
        self.sender, self.outbound, self.consumer = sender, outbound, consumer
        log.info("executing commands from %s", subjects.all_commands(self.bot_id))
        loops: asyncio.Future[Any] = asyncio.gather(consumer.run(), sender.run())
        keeper: asyncio.Future[Any] = asyncio.ensure_future(self.lease.keep())
        try:
            await asyncio.wait({loops, keeper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            # Shielded: a shutdown cancels again and again, and the commands must still go back to JetStream.
            await asyncio.shield(self._stop(consumer, loops, keeper))
        if loops.done() and not loops.cancelled() and loops.exception() is not None:
            raise loops.exception()  # type: ignore[misc]

    async def _stop(
        self, consumer: PullConsumer, loops: asyncio.Future[Any], keeper: asyncio.Future[Any]
    ) -> None:
        # Parts already handed to WeChat finish; the rest goes back to JetStream (for the next session or holder).
        await consumer.stop(grace_s=_STOP_GRACE_S)
        keeper.cancel()
        loops.cancel()
        await asyncio.gather(loops, keeper, return_exceptions=True)
        self._add_to_totals()
        self.sender, self.outbound, self.consumer = None, None, None

    def _add_to_totals(self) -> None:
        totals = self.totals
        if self.sender is not None:
            stats = self.sender.stats
            totals.sent += stats.sent
            totals.rate_limit_waits += stats.rate_limit_waits
            totals.unknown_outcomes += stats.unknown_outcomes
            totals.daily_used = dict(stats.daily_used)
        if self.outbound is not None:
            totals.dropped_stale += self.outbound.dropped_stale

    async def _bind(self) -> JetStreamContext.PullSubscription:
        # nats-py pulls into the connection's inbox prefix, which the plumbing set to the user's own.
        spec = provision.gateway_consumer(self.bot_id, self.settings.max_deliver, self.settings.ack_wait_s)
        return await self.js.pull_subscribe_bind(durable=spec.durable, stream=spec.stream)

    async def _dead_letter_delivery(self, delivery: Delivery, reason: str) -> None:
        log.error("dead-lettering command on %s: %s", delivery.subject, reason)
        await self._dead_letter(dead_letter_of("gateway", delivery, reason))

    async def _dependencies_answer(self) -> bool:
        """After an outage: commands resume once Redis answers, NATS is connected and the lease is ours."""
        return bool(await self.redis.ping()) and self.nats.is_connected and self.lease.held
