"""Reading from the puppet: optional information degrades to absent, never to an error."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from services.gateway._wechaty_compat import wechaty_puppet
from services.gateway.reader import PuppetReader, enum_name


class SparsePuppet:
    """Knows rooms and Alice; no member payloads at all (like several real puppets)."""

    async def room_payload(self, room_id: str) -> Any:
        return SimpleNamespace(topic="", owner_id="", member_ids=[])

    async def contact_payload(self, contact_id: str) -> Any:
        if contact_id != "alice":
            raise KeyError(contact_id)
        return SimpleNamespace(name="Alice")

    async def room_member_payload(self, room_id: str, contact_id: str) -> Any:
        raise NotImplementedError


async def test_missing_member_payloads_mean_no_alias() -> None:
    contact = await PuppetReader(SparsePuppet()).contact("alice", "r1")

    assert (contact.name, contact.alias) == ("Alice", None)


async def test_an_unknown_contact_is_named_by_its_id() -> None:
    assert await PuppetReader(SparsePuppet()).contact_name("wxid_ghost") == "wxid_ghost"


async def test_empty_room_fields_become_unknown() -> None:
    room = await PuppetReader(SparsePuppet()).room("r1")

    assert (room.topic, room.owner_id, room.member_count) == ("", None, None)


async def test_bot_names_without_a_room_alias_are_just_the_name() -> None:
    assert await PuppetReader(SparsePuppet()).bot_names("bot", "QunBot", "r1") == ["QunBot"]


def test_enum_names_from_members_and_from_plain_wire_ints() -> None:
    friendship_type = wechaty_puppet.FriendshipType

    assert enum_name(friendship_type, friendship_type.FRIENDSHIP_TYPE_RECEIVE) == "FRIENDSHIP_TYPE_RECEIVE"
    assert (
        enum_name(friendship_type, 2) == "FRIENDSHIP_TYPE_RECEIVE"
    )  # betterproto 1.x over the puppet service
    assert enum_name(friendship_type, 99) == ""
    assert enum_name(friendship_type, None) == ""


class RoomlessPuppet(SparsePuppet):
    async def room_payload(self, room_id: str) -> Any:
        raise KeyError(room_id)


async def test_a_room_without_payload_is_still_named_by_its_id_for_events() -> None:
    room = await PuppetReader(RoomlessPuppet()).room_or_id("r1")

    assert (room.id, room.topic, room.member_count) == ("r1", "", None)
