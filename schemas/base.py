"""Base models of the bus contract.

Every payload is a frozen pydantic model. Unknown fields are ignored (adding a field breaks nobody); an unknown
`schema_version` is refused by consumers (see `services.shared.dispatch`), which dead-letter it.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal
from uuid import uuid4

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

SCHEMA_VERSION = 1
"""The contract's version. Bumped only on a breaking change; adding a field is not one."""

SubjectToken = Annotated[str, StringConstraints(pattern=r"^[^.*>\s]+$", min_length=1, max_length=128)]
"""An id that is used as one token of a NATS subject (no dots, wildcards or spaces)."""


def new_id() -> str:
    return uuid4().hex


class Payload(BaseModel):
    """Something that travels on the bus: frozen, ignores unknown fields, documents itself."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    subject_suffix: ClassVar[str]
    """The subject tokens after `qun.evt.<bot_id>.` / `qun.cmd.<bot_id>.`, e.g. `room.join`."""

    schema_version: int = Field(
        default=SCHEMA_VERSION,
        description="Contract version; consumers dead-letter versions they do not know.",
        examples=[SCHEMA_VERSION],
    )


class Event(Payload):
    """Something that happened in WeChat, published by the gateway on `qun.evt.<bot_id>.<suffix>`."""

    id: str = Field(
        description="Unique id of the event; also the JetStream `Nats-Msg-Id` (dedupe key).",
        examples=["3f2a9c0e8b7d4f61a5e2c9d8b7a6f5e4"],
    )
    bot_id: SubjectToken = Field(
        description="Contact id of the logged-in WeChat account that saw the event.", examples=["wxid_qunbot"]
    )
    timestamp: AwareDatetime = Field(
        description="When it happened in WeChat, RFC 3339 with offset.",
        examples=["2026-11-22T09:30:00+08:00"],
    )


Priority = Literal["reply", "reminder", "notice", "broadcast"]
"""Send order at the gateway, most urgent first: answers to members, reminders, notices (GitHub, reports),
broadcasts."""


class Command(Payload):
    """Something a service asks the bot's gateway to do, published on `qun.cmd.<bot_id>.<suffix>`."""

    id: str = Field(
        default_factory=new_id,
        description="Unique id; the gateway and JetStream dedupe on it, so a retried publish runs once.",
        examples=["b1c2d3e4f5a6478899aabbccddeeff00"],
    )
    priority: Priority = Field(
        default="reply",
        description="Send class at the gateway: reply before reminder before notice before broadcast.",
        examples=["reply"],
    )
    deadline: AwareDatetime | None = Field(
        default=None,
        description="Not carried out after this moment (dropped and counted by the gateway); the gateway also "
        "drops commands older than GATEWAY_MAX_COMMAND_AGE_S.",
        examples=["2026-11-22T09:40:00+08:00"],
    )
