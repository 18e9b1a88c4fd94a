"""What the gateway does with a command from `qun.cmd.<bot_id>.>`, and when it is finished.

The JetStream side (pulling at most `GATEWAY_MAX_IN_FLIGHT` ahead, keep-alive, backoff, dead letters, outages as
pauses, handing unfinished commands back at shutdown) is `services.shared.consumer.PullConsumer`; the gateway only
decides: `handle(delivery)` returns once WeChat accepted every part of the command, or once the command is dropped as
stale (older than `GATEWAY_MAX_COMMAND_AGE_S` since JetStream stored it, or past its `deadline`: never sent late);
it raises `Permanent` for a command that can never be carried out (bad payload, unknown schema version, unsupported
command) and lets any other failure through (retried by the consumer, or a pause when Redis or NATS is away).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from datetime import datetime

from pydantic import ValidationError

from schemas import COMMAND_TYPES, SCHEMA_VERSION, Command, subjects
from services.gateway.budget import SendBudget
from services.gateway.executor import Executor, UnsupportedCommandError, budget_kind, conversation_of
from services.gateway.sender import Clock, Job, Outcome, Sender
from services.shared.consumer import Delivery, Permanent

log = logging.getLogger("qunbus.gateway.outbound")

_COMMANDS_BY_SUFFIX: dict[str, type[Command]] = {kind.subject_suffix: kind for kind in COMMAND_TYPES}


def expires_at(command: Command, published_at: float, max_age_s: float) -> float:
    """Epoch seconds after which nothing of the command may be sent."""
    limit = published_at + max_age_s
    if command.deadline is not None:
        limit = min(limit, command.deadline.timestamp())
    return limit


class Outbound:
    def __init__(
        self,
        executor: Executor,
        sender: Sender,
        budget: SendBudget,
        *,
        max_command_age_s: float,
        clock: Clock = time.time,
    ) -> None:
        self.executor = executor
        self.sender = sender
        self.budget = budget
        self.max_command_age_s = max_command_age_s
        self.clock = clock
        self.dropped_stale = 0
        self._turns = _Turns()

    async def handle(self, delivery: Delivery) -> None:
        """Carry one command out; returns once it is finished (the consumer acks then)."""
        command = parse_command(delivery.subject, delivery.data)
        # Handlers run concurrently; a conversation's commands still queue in the order JetStream delivered them.
        # The consumer starts handlers in delivery order, and this line runs before the handler's first await.
        turn = self._turns.take(conversation_of(command))
        try:
            job = await self.prepare(command, delivery.published_at, delivery.headers)
            await turn.previous_queued()
            if job is None:
                return
            done = self.sender.submit(job)
        finally:
            turn.queued()
        await self.finish(job, await self.sender.wait(job, done))

    async def prepare(
        self, command: Command, published_at: datetime, headers: Mapping[str, str]
    ) -> Job | None:
        """The parts still to send, or None when there is nothing to do (stale, or carried out before)."""
        expiry = expires_at(command, published_at.timestamp(), self.max_command_age_s)
        if expiry <= self.clock():
            self._dropped(command, published_at, "before any part was sent")
            return None
        progress = await self.budget.progress(command.id)
        if progress.done:
            log.info("command %s already carried out; acking the repeat", command.id)
            return None
        try:
            steps = await self.executor.plan(command)
        except UnsupportedCommandError as error:
            raise Permanent(str(error)) from error
        for index, state in sorted(progress.parts.items()):
            if state != "sent":
                log.warning(
                    "part %d of %s: outcome unknown; it will not be sent again", index + 1, command.id
                )
        todo = [step for step in steps if step.index not in progress.parts]
        return Job(command.id, command.priority, budget_kind(command), todo, expiry, headers)

    async def finish(self, job: Job, outcome: Outcome) -> None:
        if outcome is Outcome.STALE:
            self._dropped(job, None, f"{len(job.steps) - job.left} of {len(job.steps)} parts sent")
        await self.budget.finish(job.command_id)

    def _dropped(self, what: Command | Job, published_at: datetime | None, detail: str) -> None:
        self.dropped_stale += 1
        command_id = what.id if isinstance(what, Command) else what.command_id
        age = f", {self.clock() - published_at.timestamp():.0f} s old" if published_at is not None else ""
        log.warning("command %s dropped: too old or past its deadline%s (%s)", command_id, age, detail)


class _Turn:
    def __init__(self, turns: _Turns, conversation: str, previous: asyncio.Future[None] | None) -> None:
        self._turns, self._conversation, self._previous = turns, conversation, previous
        self.mine: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def previous_queued(self) -> None:
        if self._previous is not None:
            await asyncio.shield(self._previous)

    def queued(self) -> None:
        if not self.mine.done():
            self.mine.set_result(None)
        self._turns.done(self._conversation, self.mine)


class _Turns:
    """Per conversation, the last command taken: the next one queues only after it."""

    def __init__(self) -> None:
        self._last: dict[str, asyncio.Future[None]] = {}

    def take(self, conversation: str) -> _Turn:
        turn = _Turn(self, conversation, self._last.get(conversation))
        self._last[conversation] = turn.mine
        return turn

    def done(self, conversation: str, mine: asyncio.Future[None]) -> None:
        if self._last.get(conversation) is mine:
            del self._last[conversation]


def parse_command(subject: str, data: bytes) -> Command:
    try:
        _, suffix = subjects.split(subject)
    except ValueError as error:
        raise Permanent(str(error)) from error
    kind = _COMMANDS_BY_SUFFIX.get(suffix)
    if kind is None:
        raise Permanent(f"unknown command {suffix!r}")
    try:
        command = kind.model_validate_json(data)
    except ValidationError as error:
        raise Permanent(f"invalid payload: {error}") from error
    if command.schema_version != SCHEMA_VERSION:
        raise Permanent(f"unknown schema_version {command.schema_version}")
    return command
