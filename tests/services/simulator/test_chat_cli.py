"""The terminal chat, driven line by line against a real simulator server."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import httpx
import pytest

from services.simulator.chat_cli import ChatError, ChatSession, follow
from services.simulator.http import serving
from services.simulator.world import AT_SEPARATOR, OSS_ROOM_ID, QUOTE_SEPARATOR, TEST_ROOM_ID, SimulatorWorld


@pytest.fixture
def world() -> SimulatorWorld:
    return SimulatorWorld()


@pytest.fixture
async def session(world: SimulatorWorld) -> AsyncIterator[tuple[ChatSession, list[str]]]:
    output: list[str] = []
    async with serving(world, port=0) as url, httpx.AsyncClient(base_url=url, timeout=5) as http:
        chat = ChatSession(http, write=output.append)
        await chat.load("开源", "Bob")
        yield chat, output


async def test_typed_line_is_said_with_the_mention(
    session: tuple[ChatSession, list[str]], world: SimulatorWorld
) -> None:
    chat, _ = session
    assert await chat.handle("@QunBot help")
    said = world.messages(room_id=OSS_ROOM_ID)[-1]
    assert (said.talker_id, said.text, said.mention_ids) == (
        "wxid_bob",
        f"@QunBot{AT_SEPARATOR}help",
        ("qunbot",),
    )


async def test_quote_by_number_of_a_shown_message(
    session: tuple[ChatSession, list[str]], world: SimulatorWorld
) -> None:
    chat, output = session
    original = world.say(OSS_ROOM_ID, "wxid_zhangwei", "周四开会")
    chat.show({**vars(original), "quote": None, "mention_ids": []})
    assert output[-1].startswith("[  1]")
    await chat.handle("/quote 1 @QunBot 标记")
    said = world.messages(room_id=OSS_ROOM_ID)[-1]
    assert said.text == f"「张伟：周四开会」\n{QUOTE_SEPARATOR}\n@QunBot{AT_SEPARATOR}标记"


async def test_membership_topic_and_friendship_commands(
    session: tuple[ChatSession, list[str]], world: SimulatorWorld
) -> None:
    chat, _ = session
    await chat.handle("/join 小刘")
    assert "小刘" in [member.name for member in world.room(OSS_ROOM_ID).members]
    await chat.handle("/kick 小刘")
    assert "小刘" not in [member.name for member in world.room(OSS_ROOM_ID).members]
    await chat.handle("/topic 新群名")
    assert world.room(OSS_ROOM_ID).topic == "新群名"
    await chat.handle("/leave")
    assert "wxid_bob" not in world.room(OSS_ROOM_ID).member_ids
    assert chat.speaker_id != "wxid_bob"
    await chat.handle("/friend Grace 你好")
    assert [request.hello for request in world.friend_requests()] == ["你好"]


async def test_switch_room_speaker_and_dm(
    session: tuple[ChatSession, list[str]], world: SimulatorWorld
) -> None:
    chat, _ = session
    await chat.handle("/room Test Room")
    assert chat.room_id == TEST_ROOM_ID
    await chat.handle("/as Erin")
    await chat.handle("hello")
    assert world.messages(room_id=TEST_ROOM_ID)[-1].talker_id == "wxid_erin"
    await chat.handle("/dm ding")
    assert world.messages(contact_id="wxid_erin")[-1].text == "ding"
    assert not await chat.handle("/quit")


async def test_mistakes_explain_themselves(session: tuple[ChatSession, list[str]]) -> None:
    chat, _ = session
    for line in ("/nope", "/as Nobody", "/quote 9 x", "/room Atlantis"):
        with pytest.raises(ChatError):
            await chat.handle(line)


async def test_follow_shows_the_bots_reply_live(
    session: tuple[ChatSession, list[str]], world: SimulatorWorld
) -> None:
    chat, output = session
    shown_dong = asyncio.Event()

    def write(line: str) -> None:
        output.append(line)
        if "dong" in line:
            shown_dong.set()

    chat.write = write
    follower = asyncio.create_task(follow(chat, after=0))
    try:
        world.bot_send_text(TEST_ROOM_ID, "not this room")
        world.bot_send_text(OSS_ROOM_ID, "dong")
        async with asyncio.timeout(5):
            await shown_dong.wait()
        assert any("🤖 QunBot: dong" in line for line in output)
        assert not any("not this room" in line for line in output)
    finally:
        follower.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await follower
