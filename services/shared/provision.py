"""Creates the JetStream streams and every service's durable consumer (services found by `catalog.py`).

Run as `python -m services.shared.provision` by a provisioning job (Kubernetes) with a NATS user allowed to manage
streams; the demo launcher and the tests run it too. Services themselves need no such right. Idempotent: existing
streams are updated to the declared settings, existing consumers are left as they are.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from collections.abc import Sequence
from datetime import timedelta

import nats
from nats.js.api import ConsumerConfig, DeliverPolicy, StorageType, StreamConfig
from nats.js.client import JetStreamContext
from nats.js.errors import NotFoundError

from schemas import streams, subjects
from services.shared import permissions
from services.shared.settings import QunSettings

log = logging.getLogger("qunbus.provision")


async def ensure_streams(js: JetStreamContext, replicas: int = 1) -> None:
    for spec in streams.ALL:
        config = StreamConfig(
            name=spec.name,
            subjects=list(spec.subjects),
            max_age=spec.max_age.total_seconds(),
            duplicate_window=spec.duplicate_window.total_seconds(),
            storage=StorageType.FILE,
            num_replicas=replicas,
        )
        try:
            await js.stream_info(spec.name)
            await js.update_stream(config)
        except NotFoundError:
            await js.add_stream(config)
        log.info("stream %s ready (%s)", spec.name, ", ".join(spec.subjects))


def _consumer_config(spec: streams.ConsumerSpec) -> ConsumerConfig:
    return ConsumerConfig(
        durable_name=spec.durable,
        filter_subjects=list(spec.filter_subjects),
        deliver_policy=DeliverPolicy.NEW,
        ack_wait=spec.ack_wait.total_seconds(),
        max_deliver=spec.max_deliver,
        max_ack_pending=spec.max_ack_pending,
    )


def _differs(current: ConsumerConfig, wanted: ConsumerConfig) -> bool:
    return (
        sorted(current.filter_subjects or [current.filter_subject or ""])
        != sorted(wanted.filter_subjects or [])
        or current.max_deliver != wanted.max_deliver
        or current.ack_wait != wanted.ack_wait
        or current.max_ack_pending != wanted.max_ack_pending
    )


async def ensure_consumer(js: JetStreamContext, spec: streams.ConsumerSpec) -> None:
    """Create the consumer, or update it when the service's declaration changed (a new handler adds a subject).
    Its position in the stream is kept: nothing is redelivered or skipped by an update."""
    wanted = _consumer_config(spec)
    try:
        current = (await js.consumer_info(spec.stream, spec.durable)).config
    except NotFoundError:
        await js.add_consumer(spec.stream, wanted)
        log.info("consumer %s on %s created", spec.durable, spec.stream)
        return
    if _differs(current, wanted):
        await js.add_consumer(spec.stream, wanted)  # JetStream's create-or-update
        log.info("consumer %s on %s updated", spec.durable, spec.stream)


def known_consumers(max_deliver: int, ack_wait_s: float) -> list[streams.ConsumerSpec]:
    from services.shared import catalog  # noqa: PLC0415 - the services import this package

    specs = [service.consumer(max_deliver, ack_wait_s) for service in catalog.event_services()]
    return [spec for spec in specs if spec is not None]


def gateway_consumer(bot_id: str, max_deliver: int, ack_wait_s: float) -> streams.ConsumerSpec:
    """The command consumer of one account's gateway (the gateway's NATS user may not create it)."""
    return streams.ConsumerSpec(
        stream=streams.COMMANDS.name,
        durable=permissions.gateway_user(bot_id),
        filter_subjects=(subjects.all_commands(bot_id),),
        max_deliver=max_deliver,
        ack_wait=timedelta(seconds=ack_wait_s),
    )


async def provision(
    settings: QunSettings, *, replicas: int = 1, consumers: bool = True, bot_ids: Sequence[str] = ()
) -> None:
    connection = await nats.connect(
        settings.nats_servers,
        user=settings.nats_user,
        password=settings.nats_password.get_secret_value() if settings.nats_password else None,
        user_credentials=str(settings.nats_creds) if settings.nats_creds else None,
        inbox_prefix=permissions.inbox_prefix(settings.nats_user),
    )
    try:
        js = connection.jetstream()
        await ensure_streams(js, replicas)
        if consumers:
            gateways = [gateway_consumer(bot, settings.max_deliver, settings.ack_wait_s) for bot in bot_ids]
            for spec in [*known_consumers(settings.max_deliver, settings.ack_wait_s), *gateways]:
                await ensure_consumer(js, spec)
    finally:
        await connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--replicas", type=int, default=1, help="stream replicas (3 on a 3-node cluster)")
    parser.add_argument("--streams-only", action="store_true")
    parser.add_argument(
        "--bot-id", action="append", default=[], help="a WeChat account whose gateway consumer to create"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    asyncio.run(
        provision(QunSettings(), replicas=args.replicas, consumers=not args.streams_only, bot_ids=args.bot_id)
    )


if __name__ == "__main__":
    main()
