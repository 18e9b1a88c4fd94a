"""Asking the bus: gateways' status, the registry (every replica), JetStream consumers and the dead-letter stream.

The only module of the ops service (with `deadletters.py`) that speaks NATS; it returns plain values.
JetStream API used: STREAM.INFO on QUN_EVT/QUN_CMD/QUN_DLQ, CONSUMER.LIST on QUN_EVT/QUN_CMD, CONSUMER.INFO on
QUN_CMD.gateway-*; publishing on `qun.cmd.*.say` and `qun.cmd.*.file`.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from nats.aio.client import Client as NatsClient
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js.errors import NotFoundError
from pydantic import ValidationError

from schemas import Command, GatewayStatus, ServiceInfo, streams, subjects
from services.ops.alerts import ConsumerLag
from services.shared import permissions
from services.shared.bus import every_replica

WATCHED_STREAMS = (streams.EVENTS.name, streams.COMMANDS.name)


async def gateway_status(connection: NatsClient, bot_id: str, timeout: float = 1.0) -> GatewayStatus | None:
    """The gateway's answer on `qun.gw.<bot_id>.status`, or None when nobody answers in time."""
    try:
        reply = await connection.request(subjects.gateway_status(bot_id), b"", timeout=timeout)
    except (NatsTimeoutError, NoRespondersError, TimeoutError):
        return None
    try:
        return GatewayStatus.model_validate_json(reply.data)
    except ValidationError:
        return None


@dataclass(frozen=True)
class LiveService:
    name: str
    version: str
    instances: tuple[str, ...]
    internal: bool = False
    title_en: str = ""


async def live_services(connection: NatsClient, window_s: float) -> list[LiveService]:
    """Every replica that answers the registry within `window_s`, grouped by service name."""
    answers = await every_replica(connection, window_s)
    grouped: dict[str, list[ServiceInfo]] = {}
    for info in answers:
        grouped.setdefault(info.name, []).append(info)
    return [
        LiveService(
            name=name,
            version=infos[0].version,
            instances=tuple(sorted({info.instance for info in infos})),
            internal=infos[0].internal,
            title_en=infos[0].title_en,
        )
        for name, infos in sorted(grouped.items())
    ]


async def consumers(connection: NatsClient) -> list[ConsumerLag]:
    js = connection.jetstream()
    found: list[ConsumerLag] = []
    for stream in WATCHED_STREAMS:
        try:
            infos = await js.consumers_info(stream)
        except NotFoundError:
            continue
        for info in infos:
            found.append(
                ConsumerLag(
                    stream=stream,
                    name=info.name,
                    pending=info.num_pending or 0,
                    ack_pending=info.num_ack_pending or 0,
                    redelivered=info.num_redelivered or 0,
                )
            )
    return sorted(found, key=lambda lag: (lag.stream, lag.name))


async def dead_letter_counts(connection: NatsClient) -> dict[str, int]:
    """Messages per subject in QUN_DLQ (`qun.dlq.<service>`)."""
    js = connection.jetstream()
    try:
        info = await js.stream_info(streams.DEAD_LETTERS.name, subjects_filter=f"{subjects.DEAD_LETTERS}.>")
    except NotFoundError:
        return {}
    return dict(info.state.subjects or {})


async def stream_sizes(connection: NatsClient) -> dict[str, int]:
    js = connection.jetstream()
    sizes: dict[str, int] = {}
    for spec in streams.ALL:
        with contextlib.suppress(NotFoundError):
            sizes[spec.name] = (await js.stream_info(spec.name)).state.messages
    return sizes


async def publish_command(connection: NatsClient, bot_id: str, command: Command) -> int:
    """Store a command for that account's gateway; returns its QUN_CMD sequence (the original one when JetStream
    dropped it as a duplicate)."""
    ack = await connection.jetstream().publish(
        subjects.command(bot_id, type(command)),
        command.model_dump_json().encode(),
        headers={"Nats-Msg-Id": command.id},
        timeout=5.0,
    )
    return int(ack.seq)


async def ack_floor(connection: NatsClient, bot_id: str) -> int | None:
    """The QUN_CMD sequence up to which the account's gateway acknowledged everything (None: no such consumer)."""
    try:
        info = await connection.jetstream().consumer_info(
            streams.COMMANDS.name, permissions.gateway_user(bot_id)
        )
    except NotFoundError:
        return None
    return info.ack_floor.stream_seq if info.ack_floor else 0
