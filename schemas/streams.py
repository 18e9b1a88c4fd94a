"""JetStream streams and the consumer settings every service uses.

Who creates them: `python -m services.shared.provision` (a Kubernetes Job in production, with its own NATS user;
the demo launcher and the tests run it too). Services only bind to their durable consumer; in production their
NATS users have no right to create streams or consumers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from schemas import subjects


@dataclass(frozen=True)
class StreamSpec:
    name: str
    subjects: tuple[str, ...]
    max_age: timedelta
    duplicate_window: timedelta


EVENTS = StreamSpec("QUN_EVT", (f"{subjects.EVENTS}.>",), timedelta(days=7), timedelta(minutes=10))
COMMANDS = StreamSpec("QUN_CMD", (f"{subjects.COMMANDS}.>",), timedelta(days=7), timedelta(minutes=10))
DEAD_LETTERS = StreamSpec(
    "QUN_DLQ", (f"{subjects.DEAD_LETTERS}.>",), timedelta(days=30), timedelta(minutes=10)
)
ALL = (EVENTS, COMMANDS, DEAD_LETTERS)


@dataclass(frozen=True)
class ConsumerSpec:
    """A durable pull consumer shared by all replicas of one service. New consumers start at new messages."""

    stream: str
    durable: str
    filter_subjects: tuple[str, ...]
    ack_wait: timedelta = timedelta(seconds=30)
    max_deliver: int = 5
    max_ack_pending: int = 1000
