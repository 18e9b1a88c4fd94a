"""Another service (or a stolen service credential) cannot make a service publish outside its own rights: request
handlers answer only reply subjects under an inbox. Against a real nats-server with the rendered permissions."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from pydantic import SecretStr

from schemas import UnansweredItem, UnansweredQuery, streams, subjects
from services.history.app import service as history
from services.history.settings import HistorySettings
from tests.deploy.test_nats_permissions import (  # noqa: F401 - fixtures
    BOT,
    NatsServer,
    UserClient,
    connect,
    provisioner,
    secured_nats,
)

FORGED_REPLIES = [
    f"{subjects.EVENTS}.{BOT}.message",
    f"{subjects.COMMANDS}.{BOT}.room.remove",
    f"{subjects.COMMANDS}.{BOT}.say",
]


async def stored(admin: UserClient) -> int:
    js = admin.nc.jetstream()
    total = 0
    for spec in (streams.EVENTS, streams.COMMANDS):
        total += (await js.stream_info(spec.name)).state.messages
    return total


@pytest.mark.parametrize("forged", FORGED_REPLIES)
async def test_a_request_with_an_event_or_command_as_reply_stores_nothing(
    forged: str,
    secured_nats: NatsServer,  # noqa: F811
    redis_url: str,
    provisioner: UserClient,  # noqa: F811
    connect: Callable[[str], Awaitable[UserClient]],  # noqa: F811
) -> None:
    settings = HistorySettings(
        nats_url=secured_nats.url,
        nats_user="history",
        nats_password=SecretStr(secured_nats.passwords["history"]),
        redis_url=SecretStr(redis_url),
    )
    asker = await connect("tagger")
    before = await stored(provisioner)
    async with history.runtime(settings):
        request = UnansweredQuery(room_id="room1@chatroom", number=1).model_dump_json().encode()
        # The honest request is answered (so the responder is live) ...
        reply = await asker.nc.request(subjects.request(BOT, UnansweredQuery), request, timeout=5)
        assert UnansweredItem.model_validate_json(reply.data).room_id == "room1@chatroom"
        # ... the forged ones, to the registry and to the history responder, are not.
        await asker.nc.publish(subjects.request(BOT, UnansweredQuery), request, reply=forged)
        await asker.nc.publish(subjects.DISCOVER, b"", reply=forged)
        await asker.nc.flush()
        reply = await asker.nc.request(
            subjects.request(BOT, UnansweredQuery), request, timeout=5
        )  # after both
        assert reply.data  # answered after both forged requests were handled (one connection, in order)
    assert await stored(provisioner) == before
