"""Feeds the page's admin panel from the bus: live services, recent events and commands, dead letters, and the
gateway's outbound queue.

Whoever runs the simulator next to a NATS connection (the gateway in simulator mode, or the demo launcher) does:

    monitor = BusMonitor(connection, bot_id)
    await monitor.start()
    world.admin_source = monitor.snapshot

The snapshot's shape is documented in README.md (GET /api/admin).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import deque
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeoutError
from pydantic import ValidationError

from schemas import subjects
from schemas.deadletter import DeadLettered
from schemas.registry import GatewayStatus
from services.shared.bus import every_replica

#: How many recent events, commands and dead letters the panel keeps.
RECENT = 30
#: How long to gather discovery answers (the registry's default window).
DISCOVER_WINDOW_S = 0.25
STATUS_TIMEOUT_S = 1.0
SUMMARY_LENGTH = 80


class BusMonitor:
    """Watches `qun.evt.>`, `qun.cmd.>` and `qun.dlq.>` and asks the registry and the gateway on demand."""

    def __init__(self, connection: NatsClient, bot_id: str) -> None:
        self.connection = connection
        self.bot_id = bot_id
        self.events: deque[dict[str, Any]] = deque(maxlen=RECENT)
        self.commands: deque[dict[str, Any]] = deque(maxlen=RECENT)
        self.dead_letters: deque[dict[str, Any]] = deque(maxlen=RECENT)
        self._subscriptions: list[Subscription] = []

    async def start(self) -> None:
        # Core subscriptions see JetStream publishes too: the panel needs no consumer and no stream rights.
        for pattern, handler in (
            (f"{subjects.EVENTS}.>", self._on_event),
            (f"{subjects.COMMANDS}.>", self._on_command),
            (f"{subjects.DEAD_LETTERS}.>", self._on_dead_letter),
        ):
            self._subscriptions.append(await self.connection.subscribe(pattern, cb=handler))

    async def stop(self) -> None:
        for subscription in self._subscriptions:
            with contextlib.suppress(Exception):  # the connection may already be closed at shutdown
                await subscription.unsubscribe()
        self._subscriptions.clear()

    async def snapshot(self) -> Mapping[str, object]:
        services, outbound = await asyncio.gather(self.services(), self.outbound())
        return {
            "services": services,
            "events": list(reversed(self.events)),
            "commands": list(reversed(self.commands)),
            "dead_letters": list(reversed(self.dead_letters)),
            "outbound": outbound,
        }

    async def services(self) -> list[dict[str, Any]]:
        """Every live service once, with how many replicas answered."""
        answers = await every_replica(self.connection, DISCOVER_WINDOW_S)
        by_name: dict[str, dict[str, Any]] = {}
        for info in answers:
            entry = by_name.setdefault(
                info.name, {"name": info.name, "version": info.version, "instances": 0}
            )
            entry["instances"] += 1
        return sorted(by_name.values(), key=lambda entry: entry["name"])

    async def outbound(self) -> dict[str, Any]:
        """The gateway's own status: login, outbound queue per room, rate-limit waits."""
        try:
            reply = await self.connection.request(
                subjects.gateway_status(self.bot_id), b"", timeout=STATUS_TIMEOUT_S
            )
        except (NatsTimeoutError, NoRespondersError):
            return {"gateway": "no answer"}
        try:
            status = GatewayStatus.model_validate_json(reply.data)
        except ValidationError:
            return {"gateway": "unreadable answer"}
        return {
            "logged_in": status.logged_in,
            "rooms": status.rooms,
            "queued": sum(status.outbound_queue.values()),
            **{f"queue {room}": count for room, count in status.outbound_queue.items()},
            "rate_limit_waits": status.rate_limit_waits,
            "sent": status.sent,
        }

    async def _on_event(self, message: Msg) -> None:
        self.events.append(_entry(message))

    async def _on_command(self, message: Msg) -> None:
        self.commands.append(_entry(message))

    async def _on_dead_letter(self, message: Msg) -> None:
        try:
            letter = DeadLettered.model_validate_json(message.data)
        except ValidationError:
            self.dead_letters.append(
                {"subject": message.subject, "error": "unreadable dead letter", "at": _now()}
            )
            return
        self.dead_letters.append(
            {
                "service": letter.service,
                "subject": letter.subject,
                "error": letter.error[:SUMMARY_LENGTH],
                "deliveries": letter.deliveries,
                "at": letter.failed_at.astimezone().strftime("%H:%M:%S"),
            }
        )


def _entry(message: Msg) -> dict[str, Any]:
    return {"at": _now(), "subject": message.subject, "summary": summarize(message.data)}


def _now() -> str:
    return datetime.now(UTC).astimezone().strftime("%H:%M:%S")


def summarize(data: bytes) -> str:
    """One short line for a payload: who said what for messages, the text for SayText, else compact JSON."""
    try:
        payload = json.loads(data)
    except ValueError:
        return data[:SUMMARY_LENGTH].decode(errors="replace")
    if not isinstance(payload, dict):
        return str(payload)[:SUMMARY_LENGTH]
    talker = payload.get("talker")
    if isinstance(talker, dict) and "text" in payload:
        line = f"{talker.get('name', '?')}: {payload['text']}"
    elif "text" in payload:
        line = str(payload["text"])
    else:
        line = json.dumps(
            {key: value for key, value in payload.items() if key not in ("id", "bot_id", "schema_version")},
            ensure_ascii=False,
        )
    line = line.replace("\u2005", " ").replace("\n", " ⏎ ")
    return line if len(line) <= SUMMARY_LENGTH else line[: SUMMARY_LENGTH - 1] + "…"
