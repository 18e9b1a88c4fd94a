"""Puppet-service calls python-wechaty's 2022 gRPC stubs get wrong for a wechaty-puppet-service 1.x server.

The stubs (wechaty-grpc 0.20) predate fields the 1.x server reads: `RoomAdd.invite_only`, `RoomDel.contact_ids`
(the single `contact_id` is deprecated) and `RoomTopic.topic` (the wrapped string is deprecated). These requests
carry the old and the new field, so old and new servers both understand them; they go out through the puppet's
own gRPC channel.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, List, Optional  # noqa: UP035 - betterproto 1.x resolves only typing generics

import betterproto

from services.gateway._wechaty_compat import wechaty_puppet_service

_PUPPET = "/wechaty.Puppet"


@dataclass(eq=False, repr=False)
class RoomAddRequest(betterproto.Message):
    id: str = betterproto.string_field(1)
    contact_id: str = betterproto.string_field(2)
    invite_only: bool = betterproto.bool_field(3)


@dataclass(eq=False, repr=False)
class RoomDelRequest(betterproto.Message):
    id: str = betterproto.string_field(1)
    contact_id: str = betterproto.string_field(2)
    contact_ids: List[str] = betterproto.string_field(3)  # noqa: UP006, RUF009 - betterproto field spec


@dataclass(eq=False, repr=False)
class RoomTopicRequest(betterproto.Message):
    id: str = betterproto.string_field(1)
    topic_wrapped: Optional[str] = betterproto.message_field(2, wraps=betterproto.TYPE_STRING)  # noqa: UP045
    topic: str = betterproto.string_field(3)


@dataclass(eq=False, repr=False)
class EmptyResponse(betterproto.Message):
    """RoomAdd/RoomDel/RoomTopic answers; their fields do not matter here."""


def is_puppet_service(puppet: Any) -> bool:
    return isinstance(puppet, wechaty_puppet_service.PuppetService)


async def _call(puppet: Any, method: str, request: betterproto.Message) -> None:
    await puppet.puppet_stub._unary_unary(f"{_PUPPET}/{method}", request, EmptyResponse)


async def room_add(puppet: Any, room_id: str, contact_id: str, *, invite_only: bool) -> None:
    await _call(puppet, "RoomAdd", RoomAddRequest(id=room_id, contact_id=contact_id, invite_only=invite_only))


async def room_del(puppet: Any, room_id: str, contact_id: str) -> None:
    await _call(
        puppet, "RoomDel", RoomDelRequest(id=room_id, contact_id=contact_id, contact_ids=[contact_id])
    )


async def room_topic(puppet: Any, room_id: str, topic: str) -> None:
    await _call(puppet, "RoomTopic", RoomTopicRequest(id=room_id, topic_wrapped=topic, topic=topic))
