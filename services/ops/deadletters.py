"""Dead letters you can act on: list, show, replay and purge what services gave up on (stream QUN_DLQ).

Replay republishes a letter's payload to its original subject with the original message id (the event's or
command's `id`) in `Nats-Msg-Id`: within JetStream's duplicate window a second replay is dropped by the stream, and
after it a command is still carried out once (the gateway remembers command ids) and an event's replies keep their
ids (derived from the event id). Every consumer of that subject sees a replayed event again; handlers are
idempotent by event id. Payloads that were cut, withheld or no longer match their hash are not replayed.

JetStream API used: STREAM.INFO.QUN_DLQ, STREAM.MSG.GET.QUN_DLQ, STREAM.MSG.DELETE.QUN_DLQ, STREAM.PURGE.QUN_DLQ,
and publishing on `qun.evt.>` / `qun.cmd.>` for replays.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from nats.aio.client import Client as NatsClient
from nats.js.errors import NotFoundError
from pydantic import ValidationError

from schemas import DeadLettered, streams, subjects

STREAM = streams.DEAD_LETTERS.name
REPLAYABLE_ROOTS = (f"{subjects.EVENTS}.", f"{subjects.COMMANDS}.")


def subject_matches(pattern: str, subject: str) -> bool:
    """NATS wildcards: `*` is one token, `>` the rest (one token or more)."""
    wanted, tokens = pattern.split("."), subject.split(".")
    for index, part in enumerate(wanted):
        if part == ">":
            return len(tokens) > index
        if index >= len(tokens) or (part not in ("*", tokens[index])):
            return False
    return len(tokens) == len(wanted)


@dataclass(frozen=True)
class Filter:
    service: str | None = None
    subject: str | None = None
    """Pattern on the original subject, with NATS wildcards (`qun.evt.*.message`)."""
    since: datetime | None = None
    until: datetime | None = None
    sequences: tuple[int, ...] = ()
    """Only these letters (their sequence in QUN_DLQ)."""

    @property
    def dlq_subject(self) -> str:
        return subjects.dead_letter(self.service) if self.service else f"{subjects.DEAD_LETTERS}.>"

    @property
    def only_service(self) -> bool:
        return not (self.subject or self.since or self.until or self.sequences)

    def admits(self, letter: Letter) -> bool:
        if self.sequences and letter.seq not in self.sequences:
            return False
        if self.subject and not subject_matches(self.subject, letter.subject):
            return False
        if self.since and letter.failed_at < self.since:
            return False
        return not (self.until and letter.failed_at > self.until)


@dataclass(frozen=True)
class Letter:
    seq: int
    dlq_subject: str
    stored_at: datetime
    letter: DeadLettered | None
    """None when the dead letter itself is unreadable."""
    raw: bytes

    @property
    def service(self) -> str:
        return self.letter.service if self.letter else self.dlq_subject.rsplit(".", 1)[-1]

    @property
    def subject(self) -> str:
        return self.letter.subject if self.letter else ""

    @property
    def failed_at(self) -> datetime:
        return self.letter.failed_at if self.letter else self.stored_at

    def summary(self) -> dict[str, Any]:
        letter = self.letter
        return {
            "seq": self.seq,
            "service": self.service,
            "subject": self.subject,
            "failed_at": self.failed_at.isoformat(),
            "deliveries": letter.deliveries if letter else None,
            "error": letter.error if letter else "unreadable dead letter",
            "bytes": (letter.payload_bytes or len(letter.payload.encode())) if letter else len(self.raw),
            "truncated": bool(letter and letter.truncated),
            "redacted": bool(letter and letter.redacted),
        }

    def detail(self) -> dict[str, Any]:
        letter = self.letter
        return {
            **self.summary(),
            "payload": letter.payload if letter else self.raw.decode(errors="replace"),
            "payload_sha256": letter.payload_sha256 if letter else None,
            "stream_sequence": letter.stream_sequence if letter else None,
            "message_id": message_id(letter) if letter else None,
        }


def message_id(letter: DeadLettered) -> str | None:
    try:
        data = json.loads(letter.payload)
    except ValueError:
        return None
    value = data.get("id") if isinstance(data, dict) else None
    return value if isinstance(value, str) and value else None


def replay_problem(letter: Letter) -> str | None:
    """Why this letter cannot be replayed, or None."""
    dead = letter.letter
    if dead is None:
        return "unreadable dead letter"
    checks = (
        (dead.redacted, "payload withheld (redacted)"),
        (dead.truncated, "payload cut (truncated)"),
        (not dead.subject.startswith(REPLAYABLE_ROOTS), f"not an event or command subject: {dead.subject}"),
        (
            bool(dead.payload_sha256)
            and hashlib.sha256(dead.payload.encode()).hexdigest() != dead.payload_sha256,
            "payload does not match its hash (it was not valid UTF-8)",
        ),
        (message_id(dead) is None, "payload has no id to dedupe on"),
    )
    return next((problem for failed, problem in checks if failed), None)


async def letters(
    connection: NatsClient, selection: Filter, limit: int | None = None
) -> AsyncIterator[Letter]:
    """Dead letters matching `selection`, oldest first."""
    js = connection.jetstream()
    if selection.sequences:
        for seq in sorted(selection.sequences):
            try:
                raw = await js.get_msg(STREAM, seq=seq)
            except NotFoundError:
                continue
            letter = _letter(raw)
            if selection.admits(letter) and (not selection.service or letter.service == selection.service):
                yield letter
        return
    seq, found = 1, 0
    while limit is None or found < limit:
        try:
            raw = await js.get_msg(STREAM, seq=seq, subject=selection.dlq_subject, next=True)
        except NotFoundError:
            return
        letter = _letter(raw)
        seq = letter.seq + 1
        if selection.admits(letter):
            found += 1
            yield letter


def _letter(raw: Any) -> Letter:
    data: bytes = raw.data or b""
    try:
        dead: DeadLettered | None = DeadLettered.model_validate_json(data)
    except ValidationError:
        dead = None
    stored = raw.time if isinstance(raw.time, datetime) else datetime.now(UTC)
    return Letter(seq=int(raw.seq), dlq_subject=str(raw.subject), stored_at=stored, letter=dead, raw=data)


async def find(connection: NatsClient, seq: int) -> Letter | None:
    async for letter in letters(connection, Filter(sequences=(seq,))):
        return letter
    return None


@dataclass(frozen=True)
class ReplayResult:
    seq: int
    outcome: Literal["replayed", "duplicate", "refused"]
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"seq": self.seq, "outcome": self.outcome, "detail": self.detail}


async def replay(
    connection: NatsClient, selection: Filter, *, remove: bool = False, dry_run: bool = False
) -> list[ReplayResult]:
    """Republish every matching letter to its original subject; `remove` deletes the ones that went out."""
    js = connection.jetstream()
    results: list[ReplayResult] = []
    async for letter in letters(connection, selection):
        problem = replay_problem(letter)
        if problem is not None:
            results.append(ReplayResult(letter.seq, "refused", problem))
            continue
        dead = letter.letter
        assert dead is not None
        msg_id = message_id(dead) or ""
        if dry_run:
            results.append(ReplayResult(letter.seq, "replayed", f"would go to {dead.subject} as {msg_id}"))
            continue
        ack = await js.publish(dead.subject, dead.payload.encode(), headers={"Nats-Msg-Id": msg_id})
        outcome: Literal["replayed", "duplicate"] = "duplicate" if ack.duplicate else "replayed"
        results.append(ReplayResult(letter.seq, outcome, f"{dead.subject} as {msg_id}"))
        if remove:
            await js.delete_msg(STREAM, letter.seq)
    return results


async def purge(connection: NatsClient, selection: Filter, *, dry_run: bool = False) -> int:
    """Delete every matching letter; returns how many."""
    js = connection.jetstream()
    if selection.only_service and not dry_run:
        info = await js.stream_info(STREAM, subjects_filter=selection.dlq_subject)
        count = sum((info.state.subjects or {}).values())
        if count:
            await js.purge_stream(STREAM, subject=selection.dlq_subject)
        return count
    matching: Sequence[int] = [letter.seq async for letter in letters(connection, selection)]
    if not dry_run:
        for seq in matching:
            await js.delete_msg(STREAM, seq)
    return len(matching)
