"""What a service publishes on `qun.dlq.<service>` when it gives up on a message."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from schemas.base import Payload


class DeadLettered(Payload):
    """A message a service could not handle, with everything needed to inspect or replay it."""

    service: str = Field(description="The service that gave up.", examples=["tagger"])
    subject: str = Field(description="The original subject.", examples=["qun.evt.wxid_qunbot.message"])
    payload: str = Field(
        description="The original payload (UTF-8, undecodable bytes replaced); cut when too large for NATS, "
        "empty when redacted."
    )
    payload_sha256: str | None = Field(
        default=None, description="SHA-256 of the original payload bytes (always set by current services)."
    )
    payload_bytes: int | None = Field(default=None, ge=0, description="Length of the original payload.")
    truncated: bool = Field(default=False, description="`payload` is only the start of the original.")
    redacted: bool = Field(
        default=False,
        description="The payload was withheld (e.g. a direct message that may carry a password); only its hash "
        "and length are kept.",
    )
    error: str = Field(description="Why it failed.", examples=["invalid payload: body Field required"])
    deliveries: int = Field(ge=1, description="How many times it was delivered.", examples=[5])
    stream_sequence: int | None = Field(default=None, description="Its sequence in the original stream.")
    failed_at: datetime = Field(description="When the service gave up.")
