"""Anti-flood over real NATS + Redis."""

from __future__ import annotations

from schemas import RemoveFromRoom, SayText
from services.moderator.app import service as moderator
from tests.conftest import Bus, RunService
from tests.factories import ROOM, message
from tests.services.moderator.people import BOT, DAVE, OWNER


async def test_flood_warns_once_then_applies_the_room_policy(bus: Bus, run_service: RunService) -> None:
    async with run_service(moderator):
        await bus.publish_event(message("设置刷屏 踢出 3/60", talker=OWNER))
        await bus.says(lambda s: "刷屏规则" in s.text and "60 秒最多 3 条" in s.text)
        for i in range(4):
            await bus.publish_event(message(f"刷屏 {i}", talker=DAVE, mentions_bot=False))
        [warning] = await bus.says(lambda s: "请不要刷屏" in s.text)
        for i in range(4):
            await bus.publish_event(message(f"again {i}", talker=DAVE, mentions_bot=False))
        [removal] = await bus.wait_for("qun.cmd.bot.room.remove", RemoveFromRoom)
        await bus.consumer_settled("moderator")
    assert warning.mention_ids == ["dave"]
    assert (removal.contact_id, removal.room_id) == ("dave", ROOM.id)
    assert len(bus.commands(RemoveFromRoom)) == 1


async def test_flood_vote_policy_opens_a_vote_and_the_bots_own_messages_never_count(
    bus: Bus, run_service: RunService
) -> None:
    async with run_service(moderator, flood_max_messages=2, flood_policy="vote"):
        for i in range(6):
            # from_self is dropped by the plumbing; the moderator also ignores its own id without the flag
            await bus.publish_event(
                message(f"回声 {i}", talker=BOT, mentions_bot=False, from_self=i % 2 == 0)
            )
        for i in range(6):
            await bus.publish_event(message(f"刷 {i}", talker=DAVE, mentions_bot=False))
        await bus.says(lambda s: "已发起移出投票" in s.text)
        [opened] = await bus.says(lambda s: "1/3" in s.text)
        await bus.consumer_settled("moderator")
    assert opened.mention_ids == ["dave"]
    assert bus.commands(RemoveFromRoom) == []
    assert not [s for s in bus.commands(SayText) if "bot" in s.mention_ids]


async def test_admins_are_never_struck_for_flooding(bus: Bus, run_service: RunService) -> None:
    async with run_service(moderator, flood_max_messages=2, flood_policy="remove"):
        for i in range(5):
            await bus.publish_event(message(f"公告 {i}", talker=OWNER, mentions_bot=False))
        for i in range(3):
            await bus.publish_event(message(f"刷 {i}", talker=DAVE, mentions_bot=False))
        [warning] = await bus.says(lambda s: "请不要刷屏" in s.text)
        await bus.consumer_settled("moderator")
    assert warning.mention_ids == ["dave"]
    assert len(bus.commands(SayText)) == 1  # the owner (an admin) was never warned
    assert bus.commands(RemoveFromRoom) == []
