"""Every NATS subject of the contract, defined once.

qun.evt.<bot_id>.<event>     events from the gateway of one WeChat account   (stream QUN_EVT)
qun.cmd.<bot_id>.<command>   commands for that account's gateway             (stream QUN_CMD)
qun.dlq.<service>            messages a service gave up on                    (stream QUN_DLQ)
qun.svc.discover             registry request; every live replica answers     (core NATS)
qun.svc.changed              a service started or is stopping: ask again      (core NATS)
qun.req.<bot_id>.<request>   a request one service answers for others        (core NATS)
qun.gw.<bot_id>.status       gateway status request/reply                     (core NATS)
"""

from __future__ import annotations

from schemas.base import Command, Event, Payload

ROOT = "qun"
EVENTS = f"{ROOT}.evt"
COMMANDS = f"{ROOT}.cmd"
DEAD_LETTERS = f"{ROOT}.dlq"
DISCOVER = f"{ROOT}.svc.discover"
SERVICES_CHANGED = f"{ROOT}.svc.changed"
REQUESTS = f"{ROOT}.req"
ANY_BOT = "*"


def event(bot_id: str, event_type: type[Event]) -> str:
    return f"{EVENTS}.{bot_id}.{event_type.subject_suffix}"


def command(bot_id: str, command_type: type[Command]) -> str:
    return f"{COMMANDS}.{bot_id}.{command_type.subject_suffix}"


def all_commands(bot_id: str) -> str:
    return f"{COMMANDS}.{bot_id}.>"


def request(bot_id: str, request_type: type[Payload]) -> str:
    return f"{REQUESTS}.{bot_id}.{request_type.subject_suffix}"


def dead_letter(service: str) -> str:
    return f"{DEAD_LETTERS}.{service}"


def gateway_status(bot_id: str) -> str:
    return f"{ROOT}.gw.{bot_id}.status"


def split(subject: str) -> tuple[str, str]:
    """`qun.evt.<bot>.room.join` -> (`<bot>`, `room.join`). Raises ValueError for other subjects."""
    parts = subject.split(".")
    if len(parts) < 4 or parts[0] != ROOT or parts[1] not in {"evt", "cmd"}:
        raise ValueError(f"not an event or command subject: {subject!r}")
    return parts[2], ".".join(parts[3:])
