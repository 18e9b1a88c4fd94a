"""Password invites over real NATS + Redis."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from pathlib import Path

import pytest
import redis.asyncio
from nats.js.errors import NotFoundError
from pydantic import ValidationError

from schemas import AddToRoom, SayText, streams
from services.moderator.app import service as moderator
from services.moderator.password import COMMAND_WORD, normalize_password, password_digest
from tests.conftest import Bus, RunService
from tests.factories import ALICE, BOB, ROOM, message
from tests.services.moderator.people import CAROL, DAVE, OWNER

SECRET = "test-secret-kept-outside-redis"
INVITES = {"password_invites": True, "password_secret": SECRET}


async def test_password_invite_both_paths(bus: Bus, run_service: RunService, redis_url: str) -> None:
    async with run_service(moderator, **INVITES):
        await bus.publish_event(
            message("大家好", talker=BOB, mentions_bot=False)
        )  # the room and Bob are seen
        await bus.publish_event(message("设置进群密码 开源交流群 sesame42", talker=ALICE, mentions_bot=False))
        [refused] = await bus.says(lambda s: s.room_id == ROOM.id)
        await bus.publish_event(message("设置进群密码 开源交流群 芝麻开门请进来吧", room=None, talker=BOB))
        await bus.says(lambda s: s.contact_id == "bob" and "管理员" in s.text)
        await bus.publish_event(message("设置进群密码 开源交流群 芝麻开门请进来吧", room=None, talker=OWNER))
        await bus.says(lambda s: s.contact_id == "owner" and "已设置" in s.text)

        await bus.publish_event(message("芝麻开门请进来吧", room=None, talker=CAROL))
        [added] = await bus.wait_for("qun.cmd.bot.room.add", AddToRoom)
        await bus.says(lambda s: s.contact_id == "carol")
        await bus.publish_event(message("  芝麻开门请进来吧 ", room=None, talker=BOB))
        [nudge] = await bus.says(lambda s: s.room_id == ROOM.id and s.mention_ids == ["bob"])
        await bus.says(lambda s: s.contact_id == "bob" and "已经在" in s.text)
        await bus.publish_event(message("wrongguess", room=None, talker=DAVE))
        [wrong] = await bus.says(lambda s: s.contact_id == "dave")
        await bus.consumer_settled("moderator")
        stored = await _everything_in(redis_url)
    assert "私聊" in refused.text
    assert (added.room_id, added.contact_id) == (ROOM.id, "carol")
    assert nudge.text.startswith("👋")
    assert wrong.text.startswith("That's no command I know, nor a room's password.")  # one answer, not a hint
    assert len(bus.commands(AddToRoom)) == 1
    assert "芝麻开门请进来吧" not in stored
    assert "sesame42" not in stored  # the one typed in the group was not stored either


async def test_a_password_shorter_than_8_is_refused_and_not_stored(bus: Bus, run_service: RunService) -> None:
    async with run_service(moderator, **INVITES):
        await bus.publish_event(message("大家好", talker=BOB, mentions_bot=False))
        await bus.consumer_settled("moderator")  # the room is known before anyone names it
        await bus.publish_event(message("设置进群密码 开源交流群 芝麻开门", room=None, talker=OWNER))
        [refused] = await bus.says(lambda s: s.contact_id == "owner")
        await bus.publish_event(message("芝麻开门", room=None, talker=CAROL))
        await bus.consumer_settled("moderator")
    assert "至少要 8 个字符" in refused.text
    assert bus.commands(AddToRoom) == []


async def test_password_guesses_run_out_and_the_guesser_is_told_once(
    bus: Bus, run_service: RunService, redis_url: str
) -> None:
    async with run_service(moderator, **INVITES, password_max_guesses=3):
        await bus.publish_event(message("大家好", talker=BOB, mentions_bot=False))
        await bus.consumer_settled("moderator")  # the room is known before anyone names it
        await bus.publish_event(message("设置进群密码 开源交流群 open-sesame-42", room=None, talker=OWNER))
        await bus.says(lambda s: s.contact_id == "owner" and "已设置" in s.text)
        await bus.publish_event(message("hello, how do I join?", room=None, talker=DAVE))  # chat, not a guess
        last_guess = message("wrongpass3", room=None, talker=DAVE)
        for guess in (
            message("wrongpass1", room=None, talker=DAVE),
            message("wrongpass2", room=None, talker=DAVE),
        ):
            await bus.publish_event(guess)
        await bus.publish_event(last_guess)
        [notice] = await bus.says(lambda s: s.contact_id == "dave" and "passwords" in s.text)
        await bus.publish_event(message("wrongpass4", room=None, talker=DAVE))
        await bus.publish_event(
            message("open-sesame-42", room=None, talker=DAVE)
        )  # right, but not checked now
        await bus.publish_event(
            message("open-sesame-42", room=None, talker=CAROL)
        )  # others are not locked out
        [added] = await bus.wait_for("qun.cmd.bot.room.add", AddToRoom)
        await bus.consumer_settled("moderator")
        stored = await _everything_in(redis_url)
    assert notice.reply_to == last_guess.id  # told on the last guess, not on the chat before
    assert notice.text.startswith("That's quite a few wrong passwords")  # in the language they wrote
    assert "1 hour" in notice.text
    to_dave = [s.text for s in bus.commands(SayText) if s.contact_id == "dave"]
    assert (
        len(to_dave) == 6
    )  # every DM got one answer: "didn't understand" (or "no password"), the notice once
    assert [text for text in to_dave if "passwords" in text] == [notice.text]
    assert [a.contact_id for a in bus.commands(AddToRoom)] == [added.contact_id] == ["carol"]
    assert "wrongpass" not in stored
    assert "open-sesame-42" not in stored


async def _everything_in(redis_url: str) -> str:
    """Every key, and every hash, string, set and sorted set value in Redis, as one string (to show what is not stored)."""
    client = redis.asyncio.Redis.from_url(redis_url, decode_responses=True)
    try:
        dumped = []
        for key in await client.keys("*"):
            kind = await client.type(key)
            if kind == "hash":
                dumped.append(repr(await client.hgetall(key)))
            elif kind == "string":
                dumped.append(repr(await client.get(key)))
            elif kind == "zset":
                dumped.append(repr(await client.zrange(key, 0, -1, withscores=True)))
            elif kind == "set":
                dumped.append(repr(await client.smembers(key)))
            dumped.append(repr(key))
        return "\n".join(dumped)
    finally:
        await client.aclose()


async def test_a_password_rests_nowhere_in_clear(
    bus: Bus, run_service: RunService, redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Not in Redis (a dump holds only keyed digests), not in the event stream (erased once handled), not in logs."""
    caplog.set_level(logging.DEBUG)
    password, wrong = "open-sesame-42", "wrongpass1"
    async with run_service(moderator, **INVITES):
        await bus.publish_event(message("大家好", talker=BOB, mentions_bot=False))
        await bus.consumer_settled("moderator")
        await bus.publish_event(message(f"设置进群密码 开源交流群 {password}", room=None, talker=OWNER))
        await bus.says(lambda s: s.contact_id == "owner" and "已设置" in s.text)
        await bus.publish_event(message(password, room=None, talker=CAROL))
        await bus.wait_for("qun.cmd.bot.room.add", AddToRoom)
        await bus.publish_event(message(wrong, room=None, talker=DAVE))
        await bus.says(lambda s: s.contact_id == "dave")
        await bus.publish_event(message("hello, how do I join?", room=None, talker=DAVE))  # chat: kept
        await bus.says(lambda s: s.contact_id == "dave", count=2)
        await bus.consumer_settled("moderator")
        dump = await _dump(redis_url)
        events = await _stored_events(bus)
    digest = password_digest(password, secret=SECRET, bot_id="bot")
    assert digest.encode() in dump  # what is stored is in the dump: the test can see it
    for secret in (password, wrong):
        assert secret.encode() not in dump
        for unkeyed in _unkeyed_hashes(secret):
            assert unkeyed.encode() not in dump, unkeyed
        assert not [event for event in events if secret in event]
        assert secret not in caplog.text
    assert any("大家好" in event for event in events)  # only what carried a password was erased
    assert any("how do I join" in event for event in events)


async def test_without_password_invites_nothing_is_stored_and_the_admin_is_told(
    bus: Bus, run_service: RunService, redis_url: str
) -> None:
    async with run_service(moderator):  # off by default
        await bus.publish_event(message("大家好", talker=BOB, mentions_bot=False))
        await bus.publish_event(message("设置进群密码 开源交流群 open-sesame-42", room=None, talker=OWNER))
        [told] = await bus.says(lambda s: s.contact_id == "owner")
        await bus.consumer_settled("moderator")
        stored = await _everything_in(redis_url)
        events = await _stored_events(bus)
    assert told.text == "这个机器人没有开启进群密码（由运维开启）。"
    assert "open-sesame-42" not in stored
    assert not [event for event in events if "open-sesame-42" in event]  # erased all the same


async def test_password_invites_do_not_start_without_the_secret(run_service: RunService) -> None:
    with pytest.raises(ValidationError, match="MODERATOR_PASSWORD_SECRET must be set"):
        async with run_service(moderator, password_invites=True):
            pass


def _unkeyed_hashes(secret: str) -> list[str]:
    """What a Redis copy would give away if passwords were hashed without a key outside Redis."""
    found = []
    for text in {secret, normalize_password(secret), f"bot\x00{normalize_password(secret)}"}:
        for name in ("md5", "sha1", "sha256", "sha512"):
            found.append(hashlib.new(name, text.encode()).hexdigest())
    return found


async def _dump(redis_url: str) -> bytes:
    """The RDB file Redis writes for a backup, uncompressed (compression could hide a match)."""
    client = redis.asyncio.Redis.from_url(redis_url, decode_responses=True)
    try:
        await client.config_set("rdbcompression", "no")
        await client.save()
        folder = str((await client.config_get("dir"))["dir"])
        name = str((await client.config_get("dbfilename"))["dbfilename"])
    finally:
        await client.aclose()
    return await asyncio.to_thread((Path(folder) / name).read_bytes)


async def _stored_events(bus: Bus) -> list[str]:
    """Every message still in QUN_EVT."""
    info = await bus.js.stream_info(streams.EVENTS.name)
    found = []
    for sequence in range(info.state.first_seq, info.state.last_seq + 1):
        try:
            stored = await bus.js.get_msg(streams.EVENTS.name, sequence)
        except NotFoundError:
            continue  # erased
        found.append((stored.data or b"").decode())
    return found


async def test_a_password_that_starts_with_a_command_word_is_refused(
    bus: Bus, run_service: RunService
) -> None:
    """`help-me-2024` sent by DM is the `help` command, never tried as a password: the guest would not get in, and
    the DM (which is not erased then) would keep the password in the event stream for days."""
    async with run_service(moderator, **INVITES):
        await bus.publish_event(message("大家好", talker=BOB, mentions_bot=False))
        await bus.consumer_settled("moderator")
        await bus.publish_event(message("设置进群密码 开源交流群 help-me-2024", room=None, talker=OWNER))
        [refused] = await bus.says(lambda s: s.contact_id == "owner")
        await bus.publish_event(message("设置进群密码 开源交流群 帮助我进群吧拜托", room=None, talker=OWNER))
        [refused_zh] = await bus.says(lambda s: s.contact_id == "owner" and s.id != refused.id)
        await bus.consumer_settled("moderator")
        events = await _stored_events(bus)
    assert refused.text == refused_zh.text == COMMAND_WORD.zh
    assert not [event for event in events if "help-me-2024" in event or "帮助我进群吧拜托" in event]
