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
        await bus.publish_event(message("设置进群密码 开源交流群 芝麻开门", room=None, talker=BOB))
        await bus.says(lambda s: s.contact_id == "bob" and "管理员" in s.text)
        await bus.publish_event(message("设置进群密码 开源交流群 芝麻开门", room=None, talker=OWNER))
        await bus.says(lambda s: s.contact_id == "owner" and "已设置" in s.text)

        await bus.publish_event(message("芝麻开门", room=None, talker=CAROL))
        [added] = await bus.wait_for("qun.cmd.bot.room.add", AddToRoom)
        await bus.says(lambda s: s.contact_id == "carol")
        await bus.publish_event(message("  芝麻开门 ", room=None, talker=BOB))
        [nudge] = await bus.says(lambda s: s.room_id == ROOM.id and s.mention_ids == ["bob"])
        await bus.says(lambda s: s.contact_id == "bob" and "已经在" in s.text)
        await bus.publish_event(message("wrong guess", room=None, talker=DAVE))
        await bus.consumer_settled("moderator")
        stored = await _everything_in(redis_url)
    assert "私聊" in refused.text
    assert (added.room_id, added.contact_id) == (ROOM.id, "carol")
    assert nudge.text.startswith("👋")
    assert not [s for s in bus.commands(SayText) if s.contact_id == "dave"]
    assert len(bus.commands(AddToRoom)) == 1
    assert "芝麻开门" not in stored
    assert "sesame42" not in stored  # the one typed in the group was not stored either


async def _everything_in(redis_url: str) -> str:
    """Every key, hash and string value in Redis, as one string (to show what is not stored)."""
    client = redis.asyncio.Redis.from_url(redis_url, decode_responses=True)
    try:
        dumped = []
        for key in await client.keys("*"):
            kind = await client.type(key)
            if kind == "hash":
                dumped.append(repr(await client.hgetall(key)))
            elif kind == "string":
                dumped.append(repr(await client.get(key)))
            dumped.append(repr(key))
        return "\n".join(dumped)
    finally:
        await client.aclose()
