"""Password invites over real NATS + Redis."""

from __future__ import annotations

import redis.asyncio

from schemas import AddToRoom, SayText
from services.moderator.app import service as moderator
from tests.conftest import Bus, RunService
from tests.factories import ALICE, BOB, ROOM, message
from tests.services.moderator.people import CAROL, DAVE, OWNER


async def test_password_invite_both_paths(bus: Bus, run_service: RunService, redis_url: str) -> None:
    async with run_service(moderator, password_secret="test-secret"):
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
    assert "didn't understand" in wrong.text  # a wrong password gets the one answer to what nobody understood
    assert len(bus.commands(AddToRoom)) == 1
    assert "芝麻开门请进来吧" not in stored
    assert "sesame42" not in stored  # the one typed in the group was not stored either


async def test_a_password_shorter_than_8_is_refused_and_not_stored(bus: Bus, run_service: RunService) -> None:
    async with run_service(moderator, password_secret="test-secret"):
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
    async with run_service(moderator, password_secret="test-secret", password_max_guesses=3):
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
    assert len(to_dave) == 6  # every DM got one answer: five "didn't understand", the notice once
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
