"""The simulator puppet: its payloads and events, and a real python-wechaty bot running on it."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from wechaty_puppet import ScanStatus, WechatyPuppetError
from wechaty_puppet.schemas.types import FriendshipType, MessageType

from services.gateway._wechaty_compat import wechaty
from services.simulator.puppet import SimulatorPuppet
from services.simulator.world import AT_SEPARATOR, OSS_ROOM_ID, TEST_ROOM_ID, SimulatorWorld

EVENT_NAMES = (
    "scan",
    "login",
    "ready",
    "logout",
    "message",
    "room-join",
    "room-leave",
    "room-topic",
    "friendship",
)


def record_events(puppet: SimulatorPuppet) -> list[tuple[str, Any]]:
    seen: list[tuple[str, Any]] = []
    for name in EVENT_NAMES:
        puppet.on(name, lambda payload, name=name: seen.append((name, payload)))
    return seen


async def test_logs_in_and_is_ready_on_start() -> None:
    world = SimulatorWorld()
    puppet = SimulatorPuppet(world)
    seen = record_events(puppet)
    with pytest.raises(WechatyPuppetError):
        puppet.self_id()
    await puppet.start()
    assert [name for name, _ in seen] == ["login", "ready"]
    assert seen[0][1].contact_id == world.bot_id
    assert puppet.self_id() == world.bot_id
    await puppet.stop()


async def test_scan_first_when_required() -> None:
    puppet = SimulatorPuppet(SimulatorWorld(), require_scan=True)
    seen = record_events(puppet)
    await puppet.start()
    assert [(name, payload.status) for name, payload in seen] == [("scan", ScanStatus.Waiting)]
    assert seen[0][1].qrcode
    await puppet.confirm_scan()
    assert [name for name, _ in seen] == ["scan", "scan", "scan", "login", "ready"]
    assert seen[2][1].status == ScanStatus.Confirmed


async def test_world_events_become_puppet_events_only_while_logged_in() -> None:
    world = SimulatorWorld()
    puppet = SimulatorPuppet(world, require_scan=True)
    seen = record_events(puppet)
    await puppet.start()
    world.say(OSS_ROOM_ID, "wxid_bob", "before login")
    assert [name for name, _ in seen] == ["scan"]
    await puppet.confirm_scan()
    seen.clear()
    message = world.say(OSS_ROOM_ID, "wxid_bob", "hi")
    member = world.join(OSS_ROOM_ID, name="New")
    world.leave(OSS_ROOM_ID, member.id)
    world.change_topic(OSS_ROOM_ID, "renamed", changer_id="wxid_bob")
    request = world.request_friendship(name="Grace", hello="hello")
    assert [name for name, _ in seen] == ["message", "room-join", "room-leave", "room-topic", "friendship"]
    payloads = [payload for _, payload in seen]
    assert payloads[0].message_id == message.id
    assert (payloads[1].invited_ids, payloads[1].inviter_id) == ([member.id], "wxid_zhangwei")
    assert (payloads[2].removed_ids, payloads[2].remover_id) == ([member.id], member.id)
    assert (payloads[3].old_topic, payloads[3].new_topic, payloads[3].changer_id) == (
        "开源交流群",
        "renamed",
        "wxid_bob",
    )
    assert payloads[4].friendship_id == request.id
    await puppet.stop()
    world.say(OSS_ROOM_ID, "wxid_bob", "after stop")
    assert len(seen) == 5


async def test_payloads_describe_the_world() -> None:
    world = SimulatorWorld()
    puppet = SimulatorPuppet(world)
    room = await puppet.room_payload(OSS_ROOM_ID)
    assert (room.topic, room.owner_id, room.admin_ids) == ("开源交流群", "wxid_zhangwei", [world.bot_id])
    assert room.member_ids == list(world.room(OSS_ROOM_ID).member_ids)
    assert (await puppet.room_member_payload(OSS_ROOM_ID, "wxid_lina")).room_alias == "娜娜@前端"
    contact = await puppet.contact_payload("wxid_bob")
    assert (contact.name, contact.friend) == ("Bob", True)
    sent = world.say(OSS_ROOM_ID, "wxid_bob", "@QunBot ding")
    message = await puppet.message_payload(sent.id)
    assert (message.text, message.from_id, message.room_id, message.to_id) == (
        f"@QunBot{AT_SEPARATOR}ding",
        "wxid_bob",
        OSS_ROOM_ID,
        "",
    )
    assert message.type == MessageType.MESSAGE_TYPE_TEXT
    assert message.mention_ids == [world.bot_id]
    request = world.request_friendship(contact_id="wxid_carol", hello="hi")
    friendship = await puppet.friendship_payload(request.id)
    assert (friendship.contact_id, friendship.type) == ("wxid_carol", FriendshipType.FRIENDSHIP_TYPE_RECEIVE)


# --------------------------------------------------------------------------------------------------------------------
# A real python-wechaty bot on the simulator puppet


class IsolatedWechaty(wechaty.Wechaty):  # type: ignore[misc]
    """python-wechaty caches Contact and Room objects in pools shared by every bot of the process; give this bot its
    own so that another test's world cannot leak into it."""

    async def init_puppet(self) -> None:
        await super().init_puppet()
        for accessory in (self.Contact, self.ContactSelf, self.Room):
            accessory._pool = {}


@dataclass
class RunningBot:
    bot: Any
    world: SimulatorWorld
    received: dict[str, asyncio.Queue[tuple[Any, ...]]] = field(default_factory=dict)

    async def next(self, event: str, accept: Callable[..., bool] = lambda *_: True) -> tuple[Any, ...]:
        """The next `event` Wechaty emitted that `accept` likes; fails after 5 s."""
        async with asyncio.timeout(5):
            while True:
                args = await self.received[event].get()
                if accept(*args):
                    return args


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
async def running(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[RunningBot]:
    monkeypatch.chdir(tmp_path)  # python-wechaty writes ./.wechaty
    world = SimulatorWorld()
    scheduler = AsyncIOScheduler()  # in memory: the default job store is a SQLite file
    options = wechaty.WechatyOptions(puppet=SimulatorPuppet(world), port=free_port(), scheduler=scheduler)
    bot = IsolatedWechaty(options)
    running = RunningBot(bot, world)
    for event in ("ready", "message", "room-join", "room-leave", "room-topic", "friendship"):
        queue: asyncio.Queue[tuple[Any, ...]] = asyncio.Queue()
        running.received[event] = queue
        bot.on(event, lambda *args, queue=queue: queue.put_nowait(args))
    task = asyncio.create_task(bot.start())
    await running.next("ready")
    yield running
    await bot.stop()
    await task
    if scheduler.running:
        scheduler.shutdown(wait=False)


async def test_wechaty_receives_a_member_message_with_the_mention(running: RunningBot) -> None:
    running.world.say(OSS_ROOM_ID, "wxid_bob", "@QunBot ding")
    (message,) = await running.next("message")
    assert message.text() == f"@QunBot{AT_SEPARATOR}ding"
    assert message.talker().name == "Bob"
    assert await message.mention_self()
    assert await message.room().topic() == "开源交流群"
    assert not message.is_self()


async def test_room_say_from_wechaty_lands_in_the_world(running: RunningBot) -> None:
    running.world.say(OSS_ROOM_ID, "wxid_bob", "ding")
    (message,) = await running.next("message")
    await message.room().say("dong", mention_ids=["wxid_bob"])
    (sent,) = running.world.bot_sent()
    assert (sent.room_id, sent.mention_ids) == (OSS_ROOM_ID, ("wxid_bob",))
    assert sent.text.endswith("dong")
    assert sent.text.startswith("@Bob")
    (echo,) = await running.next("message", lambda msg: msg.is_self())
    assert echo.message_id == sent.id


async def test_direct_message_and_reply(running: RunningBot) -> None:
    running.world.direct_message("wxid_carol", "ding")
    (message,) = await running.next("message")
    assert message.room() is None
    await message.talker().say("dong")
    (sent,) = running.world.bot_sent()
    assert (sent.room_id, sent.to_id, sent.text) == (None, "wxid_carol", "dong")


async def test_join_leave_and_topic_reach_wechaty(running: RunningBot) -> None:
    member = running.world.join(TEST_ROOM_ID, name="新人", inviter_id="wxid_dave")
    room, invitees, inviter, _ = await running.next("room-join")
    assert (room.room_id, [c.name for c in invitees], inviter.name) == (TEST_ROOM_ID, ["新人"], "Dave")
    running.world.leave(TEST_ROOM_ID, member.id, remover_id="wxid_carol")
    room, leavers, remover, _ = await running.next("room-leave")
    assert ([c.contact_id for c in leavers], remover.name) == ([member.id], "Carol")
    running.world.change_topic(TEST_ROOM_ID, "Renamed", changer_id="wxid_erin")
    room, new_topic, old_topic, changer, _ = await running.next("room-topic")
    assert (new_topic, old_topic, changer.name) == ("Renamed", "Test Room", "Erin")


async def test_wechaty_adds_removes_and_accepts_friends(running: RunningBot) -> None:
    bot = running.bot
    room = bot.Room.load(OSS_ROOM_ID)
    await room.ready()
    carol = bot.Contact.load("wxid_carol")
    await carol.ready()
    await room.add(carol)
    assert "wxid_carol" in running.world.room(OSS_ROOM_ID).member_ids
    await room.delete(carol)
    assert "wxid_carol" not in running.world.room(OSS_ROOM_ID).member_ids
    request = running.world.request_friendship(name="Grace", hello="你好")
    (friendship,) = await running.next("friendship")
    assert friendship.hello() == "你好"
    await friendship.accept()
    assert running.world.contact(request.contact_id).friend
