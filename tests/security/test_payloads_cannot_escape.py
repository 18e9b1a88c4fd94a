"""A bus payload that fails to decode is dead-lettered, whatever it is; a dead letter too large for NATS carries a
truncated payload and its hash. Against a real nats-server and redis-server."""

from __future__ import annotations

import hashlib

import pytest

from examples.dingdong.app import service as dingdong
from schemas import DeadLettered
from tests.conftest import Bus, RunService
from tests.factories import message

DEEP = b'{"a":' * 100_000 + b"1" + b"}" * 100_000
HUGE_NUMBER = b'{"schema_version": 1, "id": ' + b"9" * 5000 + b"}"
LARGE_INVALID = b'{"body": "' + b"x" * 950_000 + b'"'  # unterminated: not JSON, and near NATS' 1 MiB


@pytest.mark.parametrize(
    ("payload", "why"), [(DEEP, "deep"), (HUGE_NUMBER, "number"), (LARGE_INVALID, "large")]
)
async def test_undecodable_payloads_are_dead_lettered_and_the_service_goes_on(
    payload: bytes, why: str, bus: Bus, run_service: RunService
) -> None:
    async with run_service(dingdong):
        await bus.publish_raw("qun.evt.bot.message", payload, msg_id=f"bad-{why}")
        [letter] = await bus.wait_for("qun.dlq.dingdong", DeadLettered)
        await bus.publish_event(message("ding"))
        await bus.says(lambda say: say.text == "dong")
    assert letter.error.startswith("invalid payload")
    assert letter.payload_sha256 == hashlib.sha256(payload).hexdigest()
    assert letter.payload_bytes == len(payload)
    assert letter.truncated == (len(payload) > 64 * 1024)
