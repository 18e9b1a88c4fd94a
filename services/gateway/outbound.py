"""What the gateway does with a command from `qun.cmd.<bot_id>.>`, and when it is finished.

The JetStream side (pulling at most `GATEWAY_MAX_IN_FLIGHT`, keep-alive, backoff, dead letters, outages as pauses,
handing unfinished commands back at shutdown) is `services.shared.consumer.PullConsumer`; the gateway only decides:
`handle(delivery)` returns once WeChat accepted every part of the command, raises `Permanent` for a command that can
never be carried out (bad payload, unknown schema version, unsupported command), and lets any other failure through
(retried by the consumer, or a pause when Redis or NATS is unreachable).
"""

from __future__ import annotations

import logging

from pydantic import ValidationError
from redis.asyncio import Redis

from schemas import COMMAND_TYPES, SCHEMA_VERSION, Command, subjects
from services.gateway.executor import Executor, UnsupportedCommandError
from services.gateway.sender import Sender
from services.shared.consumer import Delivery, Permanent

log = logging.getLogger("qunbus.gateway.outbound")

_COMMANDS_BY_SUFFIX: dict[str, type[Command]] = {kind.subject_suffix: kind for kind in COMMAND_TYPES}
_DONE = "done"
PROGRESS_TTL_S = 24 * 3600


def progress_key(bot_id: str, command_id: str) -> str:
    """Redis: how many steps of a command WeChat accepted (`done` when all). The dedupe record of commands."""
    return f"qun:gateway:{bot_id}:command:{command_id}"


class Outbound:
    def __init__(self, bot_id: str, executor: Executor, sender: Sender, redis: Redis) -> None:
        self.bot_id = bot_id
        self.executor = executor
        self.sender = sender
        self.redis = redis

    async def handle(self, delivery: Delivery) -> None:
        """Carry one command out; returns once WeChat accepted all of it (the consumer acks then)."""
        command = parse_command(delivery.subject, delivery.data)
        key = progress_key(self.bot_id, command.id)
        done = await self.redis.get(key)
        if done == _DONE:
            log.info("command %s already carried out; acking the repeat", command.id)
            return
        try:
            steps = await self.executor.plan(command)
        except UnsupportedCommandError as error:
            raise Permanent(str(error)) from error
        already = int(done) if done and done.isdigit() else 0

        async def sent(index: int) -> None:
            await self.redis.set(key, str(index + 1), ex=PROGRESS_TTL_S)

        await self.sender.send(steps[already:], delivery.headers, sent)
        await self.redis.set(key, _DONE, ex=PROGRESS_TTL_S)


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
