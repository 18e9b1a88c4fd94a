"""The gRPC requests the gateway builds itself stay readable by servers that only know the old fields."""

from __future__ import annotations

# The stubs python-wechaty talks to the puppet service with (generated, no type marker).
from wechaty_grpc.wechaty import puppet as old_stubs  # type: ignore[import-untyped]

from services.gateway import puppet_service_calls as calls


def test_room_add_carries_invite_only_and_the_old_fields() -> None:
    wire = bytes(calls.RoomAddRequest(id="r1", contact_id="c1", invite_only=True))

    old = old_stubs.RoomAddRequest().parse(wire)
    new = calls.RoomAddRequest().parse(wire)

    assert (old.id, old.contact_id) == ("r1", "c1")
    assert new.invite_only is True


def test_room_del_sends_the_single_and_the_list_field() -> None:
    wire = bytes(calls.RoomDelRequest(id="r1", contact_id="c1", contact_ids=["c1"]))

    assert old_stubs.RoomDelRequest().parse(wire).contact_id == "c1"
    assert calls.RoomDelRequest().parse(wire).contact_ids == ["c1"]


def test_room_topic_sends_the_wrapped_and_the_plain_topic() -> None:
    wire = bytes(calls.RoomTopicRequest(id="r1", topic_wrapped="新群名", topic="新群名"))

    assert old_stubs.RoomTopicRequest().parse(wire).topic == "新群名"
    assert calls.RoomTopicRequest().parse(wire).topic == "新群名"


def test_only_the_service_puppet_counts_as_one() -> None:
    assert not calls.is_puppet_service(object())
