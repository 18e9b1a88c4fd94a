"""Answering requests of other services (`qun.req.<bot>.<suffix>`, core NATS) until the plumbing declares them.

One queue group per service, so one replica answers each request. A reply goes only to an inbox (`_INBOX.` and
the per-user prefixes under it, see `services.shared.permissions.inbox_prefix`): a request whose reply subject is
anything else is refused and logged, so a request cannot make this service publish on a subject of its choosing.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from nats.aio.client import Client
from nats.aio.msg import Msg
from pydantic import ValidationError

from schemas import Payload, Request, subjects
from services.shared.permissions import INBOX_ROOT

log = logging.getLogger("qunbus.history.requests")

Answer = Callable[[Any], Awaitable[Payload]]
ErrorReply = Callable[[dict[str, Any], str], Payload]


def is_inbox(reply: str) -> bool:
    return reply.startswith(f"{INBOX_ROOT}.") and " " not in reply and not reply.endswith(".")


async def serve(
    connection: Client,
    request_type: type[Request],
    answer: Answer,
    error_reply: ErrorReply,
    *,
    queue: str,
) -> None:
    """Subscribe `answer` to `qun.req.*.<suffix>`; the subscription lives as long as the connection."""

    async def handle(message: Msg) -> None:
        if not is_inbox(message.reply):
            log.warning(
                "refused %s request: reply subject %r is not an inbox", request_type.__name__, message.reply
            )
            return
        try:
            request = request_type.model_validate_json(message.data)
        except ValidationError as error:
            raw = _loose(message.data)
            reply = error_reply(raw, f"invalid {request_type.__name__}: {error.error_count()} error(s)")
        else:
            try:
                reply = await answer(request)
            except Exception as error:  # a failing answer must not end the subscription: the asker hears why
                log.exception("%s request failed", request_type.__name__)
                reply = error_reply(request.model_dump(), f"failed: {type(error).__name__}")
        await connection.publish(message.reply, reply.model_dump_json().encode())

    await connection.subscribe(subjects.request(subjects.ANY_BOT, request_type), queue=queue, cb=handle)


def _loose(data: bytes) -> dict[str, Any]:
    try:
        raw = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return {}
    return raw if isinstance(raw, dict) else {}
