"""The gateway (GATEWAY_PUPPET=service) against the official TypeScript peer: PuppetServer over PuppetMock.

Members of the mock world speak, quote, join and leave; the events must come out on NATS as the contract says.
Commands published on NATS must change the mock world.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from schemas import (
    AcceptFriendship,
    AddToRoom,
    ChangeRoomTopic,
    Command,
    FriendshipRequested,
    GatewayErrored,
    LoggedIn,
    MessageReceived,
    RemoveFromRoom,
    RoomJoined,
    RoomLeft,
    RoomTopicChanged,
    SayText,
    subjects,
)
from tests.conftest import Bus, RunService

from .gateway_on_peer import BOT_ALIAS, Group, eventually, gateway_on
from .puppet_mock import MENTION_SEPARATOR, PuppetMockWorld, mention, quoted_reply

pytestmark = pytest.mark.slow


def messages(bus: Bus, bot_id: str) -> list[MessageReceived]:
    found: list[MessageReceived] = bus.matching(f"qun.evt.{bot_id}.message", MessageReceived)
    return found


async def test_room_messages_mentions_quotes_and_direct_messages_reach_the_bus(
    puppet_mock: PuppetMockWorld, run_service: RunService, bus: Bus, tmp_path: Path
) -> None:
    world = puppet_mock
    group = await Group.create(world, "e2e-inbound")
    bot = world.bot_id
    async with gateway_on(world, run_service, bus, tmp_path):
        await world.say_in_room("bob", group.room_id, "大家好")
        await world.say_in_room(
            "alice", group.room_id, f"{mention(BOT_ALIAS)}help", mention_ids=[bot]
        )  # by the bot's room alias
        await world.say_in_room("carol", group.room_id, f"{mention(world.bot_name)}ding", mention_ids=[bot])
        await world.say_in_room(
            "alice",
            group.room_id,
            quoted_reply("Bob", "周四晚8点\n开会", f"{mention(BOT_ALIAS)}标记 会议"),
            mention_ids=[bot],
        )
        await world.say_in_room("carol", group.room_id, '"Bob: 旧格式"\n------\n收到')  # the older quote form
        await world.say_to_bot("dave", "ding")
        await bus.wait_for(f"qun.evt.{bot}.message", MessageReceived, count=6, timeout=10)

    plain, by_alias, by_name, quoted, old_quote, direct = messages(bus, bot)

    assert (plain.talker.id, plain.talker.name, plain.body, plain.mentions_bot) == (
        "bob",
        "Bob",
        "大家好",
        False,
    )
    assert plain.room is not None
    assert (plain.room.id, plain.room.topic, plain.room.owner_id, plain.room.member_count) == (
        group.room_id,
        "开源群",
        "alice",
        4,
    )
    assert not plain.from_self

    assert (by_alias.text, by_alias.body, by_alias.mentions_bot) == (
        f"@{BOT_ALIAS}{MENTION_SEPARATOR}help",
        "help",
        True,
    )
    assert by_alias.mention_ids == [bot]
    assert (by_name.body, by_name.mentions_bot) == ("ding", True)

    assert quoted.quote is not None
    assert (quoted.quote.talker_name, quoted.quote.text) == ("Bob", "周四晚8点\n开会")
    assert (quoted.body, quoted.mentions_bot) == ("标记 会议", True)

    assert old_quote.quote is not None
    assert (old_quote.quote.talker_name, old_quote.quote.text, old_quote.body) == ("Bob", "旧格式", "收到")

    assert (direct.room, direct.talker.id, direct.body) == (None, "dave", "ding")


async def test_joins_and_leaves_reach_the_bus(
    puppet_mock: PuppetMockWorld, run_service: RunService, bus: Bus, tmp_path: Path
) -> None:
    world = puppet_mock
    group = await Group.create(world, "e2e-membership")
    bot = world.bot_id
    async with gateway_on(world, run_service, bus, tmp_path):
        await world.join(group.room_id, ["dave"], inviter_id="alice")
        joined = (await bus.wait_for(f"qun.evt.{bot}.room.join", RoomJoined, timeout=10))[0]
        await world.leave(group.room_id, ["bob"])  # leaves on his own
        await world.leave(group.room_id, ["carol"], remover_id="alice")  # removed by the owner
        left = await bus.wait_for(f"qun.evt.{bot}.room.leave", RoomLeft, count=2, timeout=10)

    assert [(c.id, c.name) for c in joined.invitees] == [("dave", "Dave")]
    assert joined.inviter is not None
    assert joined.inviter.id == "alice"
    assert (joined.room.id, joined.room.member_count) == (group.room_id, 5)

    on_his_own, removed = left
    assert [c.id for c in on_his_own.leavers] == ["bob"]
    assert on_his_own.remover is None  # the contract: null when they left on their own
    assert [c.id for c in removed.leavers] == ["carol"]
    assert removed.remover is not None
    assert removed.remover.id == "alice"
    assert removed.room.member_count == 3  # alice, dave, the bot


async def test_say_with_a_mention_and_remove_from_room_reach_the_mock_world(
    puppet_mock: PuppetMockWorld, run_service: RunService, bus: Bus, tmp_path: Path
) -> None:
    world = puppet_mock
    group = await Group.create(world, "e2e-commands")
    bot = world.bot_id
    async with gateway_on(world, run_service, bus, tmp_path):
        say = SayText(room_id=group.room_id, text="dong", mention_ids=["alice"])
        await bus.js.publish(subjects.command(bot, SayText), say.model_dump_json().encode())
        remove = RemoveFromRoom(room_id=group.room_id, contact_id="carol", reason="vote-kick 3/3")
        await bus.js.publish(subjects.command(bot, RemoveFromRoom), remove.model_dump_json().encode())

        observed = await world.wait_for(lambda o: bool(o.sent) and bool(o.removed))
        # The removal is visible to everyone: the peer emits room-leave with the bot as remover.
        left = (await bus.wait_for(f"qun.evt.{bot}.room.leave", RoomLeft, timeout=10))[0]

    sent = observed.sent[0]
    assert (sent.room_id, sent.text, sent.mention_ids) == (
        group.room_id,
        f"@Alice{MENTION_SEPARATOR}dong",
        ("alice",),
    )
    assert [(m.room_id, m.contact_id) for m in observed.removed] == [(group.room_id, "carol")]
    assert "carol" not in await world.room_member_ids(group.room_id)
    assert [c.id for c in left.leavers] == ["carol"]
    assert left.remover is not None
    assert left.remover.id == bot
    # The bot's own echo of "dong" is not published to services (from_self, off by default).
    assert not [m for m in messages(bus, bot) if m.from_self]


async def test_add_invite_and_topic_commands_reach_the_mock_world(
    puppet_mock: PuppetMockWorld, run_service: RunService, bus: Bus, tmp_path: Path
) -> None:
    """The commands whose 1.x request fields the 2022 python stubs lack (invite_only, topic) really arrive."""
    world = puppet_mock
    bot = world.bot_id
    group = await Group.create(world, "e2e-admin")
    crowd = [(f"member{i}", f"Member {i}") for i in range(41)]
    await world.create_contacts(*crowd)
    big_room = await world.create_room("e2e-big", topic="大群", member_ids=[cid for cid, _ in crowd])

    async with gateway_on(world, run_service, bus, tmp_path):
        await publish(bus, bot, AddToRoom(room_id=group.room_id, contact_id="dave"))
        await publish(bus, bot, AddToRoom(room_id=big_room, contact_id="erin"))  # 42 members: invite instead
        await publish(bus, bot, ChangeRoomTopic(room_id=group.room_id, topic="开源群 2026"))

        observed = await world.wait_for(lambda o: bool(o.added and o.invited and o.topics))
        [joined] = await bus.wait_for(f"qun.evt.{bot}.room.join", RoomJoined, timeout=10)
        [renamed] = await bus.wait_for(f"qun.evt.{bot}.room.topic", RoomTopicChanged, timeout=10)

    assert [(m.room_id, m.contact_id) for m in observed.added] == [(group.room_id, "dave")]
    assert [(m.room_id, m.contact_id) for m in observed.invited] == [(big_room, "erin")]
    assert "erin" not in await world.room_member_ids(big_room)  # invited, not (yet) a member
    assert [c.id for c in joined.invitees] == ["dave"]
    assert [(t.room_id, t.topic) for t in observed.topics] == [(group.room_id, "开源群 2026")]
    assert (renamed.room.id, renamed.room.topic, renamed.old_topic) == (
        group.room_id,
        "开源群 2026",
        "开源群",
    )


async def test_a_friend_request_is_published_and_accepting_it_reaches_the_mock_world(
    puppet_mock: PuppetMockWorld, run_service: RunService, bus: Bus, tmp_path: Path
) -> None:
    world = puppet_mock
    bot = world.bot_id
    await world.create_contacts(("erin", "Erin"))
    async with gateway_on(world, run_service, bus, tmp_path):
        friendship_id = await world.request_friendship("erin", "加群 qunbus")
        [request] = await bus.wait_for(f"qun.evt.{bot}.friendship", FriendshipRequested, timeout=3)
        await publish(bus, bot, AcceptFriendship(friendship_id=request.friendship_id))
        observed = await world.wait_for(lambda o: bool(o.accepted_friendship_ids))

    assert (request.friendship_id, request.contact.id, request.hello) == (
        friendship_id,
        "erin",
        "加群 qunbus",
    )
    assert observed.accepted_friendship_ids == (friendship_id,)


async def test_the_gateway_reconnects_when_the_puppet_service_comes_back(
    puppet_mock: PuppetMockWorld, run_service: RunService, bus: Bus, tmp_path: Path
) -> None:
    world = puppet_mock
    bot = world.bot_id
    await Group.create(world, "e2e-reconnect")
    async with gateway_on(world, run_service, bus, tmp_path) as runtime:
        await world.stop_server()
        [gone] = await bus.wait_for(f"qun.evt.{bot}.error", GatewayErrored, timeout=10)
        # Sent while the puppet service is away: carried out once the gateway is back.
        await publish(bus, bot, SayText(room_id="e2e-reconnect@chatroom", text="back again"))

        await world.start_server()  # a new, empty world on the same endpoint and token
        group = await Group.create(world, "e2e-reconnect")
        await bus.wait_for(f"qun.evt.{bot}.login", LoggedIn, count=2, timeout=15)
        await eventually(lambda: runtime.context.deps.outbound is not None)
        observed = await world.wait_for(lambda o: bool(o.sent), within=10)

    assert "reconnecting" in gone.message
    assert [(m.room_id, m.text) for m in observed.sent] == [(group.room_id, "back again")]


async def publish(bus: Bus, bot_id: str, command: Command) -> None:
    await bus.js.publish(subjects.command(bot_id, type(command)), command.model_dump_json().encode())
