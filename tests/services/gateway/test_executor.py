"""Commands -> puppet calls, against a small fake puppet."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from schemas import AcceptFriendship, AddToRoom, ChangeRoomTopic, RemoveFromRoom, SayText
from services.gateway.executor import DIRECT_ADD_LIMIT, FRIENDSHIPS, Executor, UnsupportedCommandError
from services.gateway.parsing import MENTION_SEPARATOR
from services.gateway.reader import PuppetReader


class FakePuppet:
    """A room `r1` whose size is set per test; Alice has a room alias, Bob has none."""

    def __init__(self, members: int = 3, refuse_direct_add: bool = False) -> None:
        self.members = [f"m{index}" for index in range(members)]
        self.refuse_direct_add = refuse_direct_add
        self.calls: list[tuple[Any, ...]] = []

    async def room_payload(self, room_id: str) -> Any:
        return SimpleNamespace(topic="群", owner_id="m0", member_ids=self.members)

    async def contact_payload(self, contact_id: str) -> Any:
        return SimpleNamespace(name={"alice": "Alice", "bob": "Bob"}[contact_id])

    async def room_member_payload(self, room_id: str, contact_id: str) -> Any:
        return SimpleNamespace(room_alias="阿丽" if contact_id == "alice" else "")

    async def message_send_text(
        self, conversation_id: str, message: str, mention_ids: list[str] | None
    ) -> str:
        self.calls.append(("send", conversation_id, message, mention_ids))
        return "m1"

    async def room_add(self, room_id: str, contact_id: str, invite_only: bool = False) -> None:
        if self.refuse_direct_add and not invite_only:
            raise RuntimeError("direct add refused")
        self.calls.append(("add", room_id, contact_id, invite_only))

    async def room_delete(self, room_id: str, contact_id: str) -> None:
        self.calls.append(("delete", room_id, contact_id))

    async def room_topic(self, room_id: str, topic: str) -> None:
        self.calls.append(("topic", room_id, topic))

    async def friendship_accept(self, friendship_id: str) -> None:
        self.calls.append(("accept", friendship_id))


class NoInvitePuppet(FakePuppet):
    async def room_add(self, room_id: str, contact_id: str) -> None:  # type: ignore[override]
        raise RuntimeError("direct add refused")


def executor(puppet: FakePuppet, max_chars: int = 1500) -> Executor:
    return Executor(puppet, PuppetReader(puppet), max_chars)


async def run_all(puppet: FakePuppet, command: Any, max_chars: int = 1500) -> None:
    ex = executor(puppet, max_chars)
    for step in await ex.plan(command):
        await ex.run(step)


async def test_mentions_use_the_room_alias_else_the_name() -> None:
    puppet = FakePuppet()

    await run_all(puppet, SayText(room_id="r1", text="开会了", mention_ids=["alice", "bob"]))

    assert puppet.calls == [
        ("send", "r1", f"@阿丽{MENTION_SEPARATOR}@Bob{MENTION_SEPARATOR}开会了", ["alice", "bob"])
    ]


async def test_a_direct_message_goes_to_the_contact() -> None:
    puppet = FakePuppet()

    await run_all(puppet, SayText(contact_id="bob", text="hi"))

    assert puppet.calls == [("send", "bob", "hi", None)]


async def test_steps_of_a_long_text_share_the_conversation_and_know_their_place() -> None:
    steps = await executor(FakePuppet(), max_chars=60).plan(
        SayText(room_id="r1", text="\n".join(["x" * 50] * 3))
    )

    assert [(step.conversation, step.index, step.total, step.is_last) for step in steps] == [
        ("r1", 0, 3, False),
        ("r1", 1, 3, False),
        ("r1", 2, 3, True),
    ]


async def test_room_commands_and_friendships_are_paced_by_where_they_happen() -> None:
    ex = executor(FakePuppet())

    remove = await ex.plan(RemoveFromRoom(room_id="r1", contact_id="bob"))
    accept = await ex.plan(AcceptFriendship(friendship_id="f1"))

    assert remove[0].conversation == "r1"
    assert accept[0].conversation == FRIENDSHIPS


async def test_remove_topic_and_accept_call_the_puppet() -> None:
    puppet = FakePuppet()

    await run_all(puppet, RemoveFromRoom(room_id="r1", contact_id="bob", reason="spam"))
    await run_all(puppet, ChangeRoomTopic(room_id="r1", topic="新群名"))
    await run_all(puppet, AcceptFriendship(friendship_id="f1"))

    assert puppet.calls == [("delete", "r1", "bob"), ("topic", "r1", "新群名"), ("accept", "f1")]


async def test_a_small_room_gets_a_direct_add() -> None:
    puppet = FakePuppet(members=10)

    await run_all(puppet, AddToRoom(room_id="r1", contact_id="bob"))

    assert puppet.calls == [("add", "r1", "bob", False)]


async def test_a_big_room_that_refuses_a_direct_add_gets_an_invitation() -> None:
    puppet = FakePuppet(members=DIRECT_ADD_LIMIT + 1, refuse_direct_add=True)

    await run_all(puppet, AddToRoom(room_id="r1", contact_id="bob"))

    assert puppet.calls == [("add", "r1", "bob", True)]


async def test_a_refused_add_to_a_small_room_is_an_error() -> None:
    puppet = FakePuppet(members=DIRECT_ADD_LIMIT, refuse_direct_add=True)

    with pytest.raises(RuntimeError, match="refused"):
        await run_all(puppet, AddToRoom(room_id="r1", contact_id="bob"))


async def test_a_puppet_that_cannot_invite_is_unsupported() -> None:
    puppet = NoInvitePuppet(members=DIRECT_ADD_LIMIT + 5)

    with pytest.raises(UnsupportedCommandError):
        await run_all(puppet, AddToRoom(room_id="r1", contact_id="bob"))
