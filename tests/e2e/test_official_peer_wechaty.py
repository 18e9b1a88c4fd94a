"""Raw python-wechaty 0.10.7 against the official peer: proves the test world before the gateway uses it."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from services.gateway._wechaty_compat import wechaty, wechaty_puppet

from .puppet_mock import PuppetMockWorld, free_port, mention

pytestmark = pytest.mark.slow


async def _poll(condition: Callable[[], bool], *, within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not happen within {within}s")
        await asyncio.sleep(0.05)


@pytest.fixture
async def wechaty_bot(
    puppet_mock: PuppetMockWorld, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Any]:
    """A raw python-wechaty bot connected to the peer, started as a task in its own working directory."""
    monkeypatch.chdir(tmp_path)  # python-wechaty writes ./.wechaty/
    options = wechaty.WechatyOptions(
        puppet="wechaty-puppet-service",
        puppet_options=wechaty_puppet.PuppetOptions(end_point=puppet_mock.endpoint, token=puppet_mock.token),
        host="127.0.0.1",
        port=free_port(),  # its plugin server binds 5000 otherwise
    )
    bot = wechaty.Wechaty(options)
    task = asyncio.create_task(bot.start())
    try:
        await puppet_mock.wait_logged_in()
        yield bot
    finally:
        with contextlib.suppress(Exception):
            await bot.stop()
        await _cancel_until_done(task)


async def _cancel_until_done(task: asyncio.Task[None]) -> None:
    """Cancel Wechaty.start(): it can swallow one cancellation (grpclib turns it into a stream error, which
    python-wechaty answers with `sleep(60)` and a restart), so cancel again until the task has really ended."""
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=0.1)
    with contextlib.suppress(asyncio.CancelledError, Exception):
        task.result()


async def test_room_message_reaches_wechaty_and_room_say_reaches_the_world(
    puppet_mock: PuppetMockWorld, wechaty_bot: Any
) -> None:
    started = time.monotonic()
    received: list[tuple[str, str | None, str, list[str]]] = []

    async def on_message(msg: Any) -> None:
        room = msg.room()
        mention_ids = list(msg.payload.mention_ids or [])
        received.append((msg.talker().contact_id, room.room_id if room else None, msg.text(), mention_ids))

    wechaty_bot.on("message", on_message)
    await puppet_mock.create_contacts(("alice", "Alice"), ("bob", "Bob"))
    room_id = await puppet_mock.create_room("e2e-proof", topic="Proof", member_ids=["alice", "bob"])

    text = f"{mention(puppet_mock.bot_name)}hello bot"
    await puppet_mock.say_in_room("alice", room_id, text, mention_ids=[puppet_mock.bot_id])
    await _poll(lambda: any(r[2] == text for r in received), within=10, what="room message reaching wechaty")
    assert ("alice", room_id, text, [puppet_mock.bot_id]) in received

    room = wechaty_bot.Room.load(room_id)
    await room.ready()
    assert await room.topic() == "Proof"
    await room.say("hi Alice", mention_ids=["alice"])
    observed = await puppet_mock.wait_for(lambda o: any("hi Alice" in m.text for m in o.sent))
    sent = next(m for m in observed.sent if "hi Alice" in m.text)
    assert sent.room_id == room_id
    assert sent.mention_ids == ("alice",)
    assert sent.text.startswith("@Alice")
    # WeChat echoes the bot's own message back as a message event.
    await _poll(lambda: any(r[0] == puppet_mock.bot_id for r in received), within=5, what="own echo")
    assert time.monotonic() - started < 20


async def test_join_leave_and_bot_removal_reach_both_sides(
    puppet_mock: PuppetMockWorld, wechaty_bot: Any
) -> None:
    joins: list[tuple[str, list[str], str]] = []
    leaves: list[tuple[str, list[str], str]] = []

    async def on_join(room: Any, invitees: list[Any], inviter: Any, _date: Any) -> None:
        joins.append((room.room_id, [c.contact_id for c in invitees], inviter.contact_id))

    async def on_leave(room: Any, leavers: list[Any], remover: Any, _date: Any) -> None:
        leaves.append((room.room_id, [c.contact_id for c in leavers], remover.contact_id))

    wechaty_bot.on("room-join", on_join)
    wechaty_bot.on("room-leave", on_leave)
    await puppet_mock.create_contacts(("carol", "Carol"), ("dave", "Dave"), ("erin", "Erin"))
    room_id = await puppet_mock.create_room("e2e-membership", topic="Members", member_ids=["carol", "dave"])

    await puppet_mock.join(room_id, ["erin"], inviter_id="carol")
    await _poll(lambda: bool(joins), within=10, what="room-join reaching wechaty")
    assert joins == [(room_id, ["erin"], "carol")]

    await puppet_mock.leave(room_id, ["dave"])  # leaves on his own
    await _poll(lambda: bool(leaves), within=10, what="room-leave reaching wechaty")
    assert leaves == [(room_id, ["dave"], "dave")]

    # The bot removes a member: upstream PuppetMock.roomDel is a no-op; the test world makes it real.
    room = wechaty_bot.Room.load(room_id)
    await room.delete(wechaty_bot.Contact.load("erin"))
    observed = await puppet_mock.wait_for(lambda o: bool(o.removed))
    assert [(m.room_id, m.contact_id) for m in observed.removed] == [(room_id, "erin")]
    assert "erin" not in await puppet_mock.room_member_ids(room_id)
    await _poll(lambda: len(leaves) == 2, within=10, what="room-leave after the bot's removal")
    assert leaves[1] == (room_id, ["erin"], puppet_mock.bot_id)


async def test_direct_message_quote_and_friendship(puppet_mock: PuppetMockWorld, wechaty_bot: Any) -> None:
    received: list[tuple[str, str | None, str]] = []
    friendships: list[tuple[str, str]] = []

    async def on_message(msg: Any) -> None:
        room = msg.room()
        received.append((msg.talker().contact_id, room.room_id if room else None, msg.text()))

    async def on_friendship(friendship: Any) -> None:
        friendships.append((friendship.contact().contact_id, friendship.hello()))
        await friendship.accept()

    wechaty_bot.on("message", on_message)
    wechaty_bot.on("friendship", on_friendship)
    await puppet_mock.create_contacts(("frank", "Frank"))

    quote = "「Frank：first line\nsecond line」\n- - - - - - - - - - - - - - -\nmy reply"
    await puppet_mock.say_to_bot("frank", quote)
    await _poll(lambda: bool(received), within=10, what="direct message reaching wechaty")
    assert received == [("frank", None, quote)]

    await wechaty_bot.Contact.load("frank").say("hello Frank")
    observed = await puppet_mock.wait_for(lambda o: bool(o.sent))
    assert [(m.listener_id, m.room_id, m.text) for m in observed.sent] == [("frank", None, "hello Frank")]

    friendship_id = await puppet_mock.request_friendship("frank", "join qunbus please")
    observed = await puppet_mock.wait_for(lambda o: bool(o.accepted_friendship_ids))
    assert friendships == [("frank", "join qunbus please")]
    assert observed.accepted_friendship_ids == (friendship_id,)
