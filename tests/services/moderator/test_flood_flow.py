"""Anti-flood over real NATS + Redis."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from schemas import MessageReceived, RemoveFromRoom, SayText
from services.moderator import keys
from services.moderator.app import service as moderator
from tests.conftest import Bus, RunService
from tests.factories import ROOM, message
from tests.services.moderator.people import BOT, DAVE, OWNER


async def test_flood_warns_once_then_after_the_grace_applies_the_room_policy(
    bus: Bus, run_service: RunService
) -> None:
    warned_at = datetime.now(UTC)
    async with run_service(moderator):
        await bus.publish_event(message("设置刷屏 踢出 3/60", talker=OWNER))
        await bus.says(
            lambda s: "刷屏规则" in s.text and "60 秒最多 3 条" in s.text and "宽限 30 秒" in s.text
        )
        for i in range(4):
            await bus.publish_event(
                message(f"刷屏 {i}", talker=DAVE, mentions_bot=False, timestamp=warned_at)
            )
        [warning] = await bus.says(lambda s: "请不要刷屏" in s.text)
        for i in range(6):  # sent before Dave could read the warning: not counted
            await bus.publish_event(
                message(f"还在 {i}", talker=DAVE, mentions_bot=False, timestamp=warned_at)
            )
        await bus.consumer_settled("moderator")
        assert bus.commands(RemoveFromRoom) == []
        after_grace = warned_at + timedelta(seconds=31)
        late = [
            message(f"again {i}", talker=DAVE, mentions_bot=False, timestamp=after_grace) for i in range(4)
        ]
        for event in late:
            await bus.publish_event(event)
        [removal] = await bus.wait_for("qun.cmd.bot.room.remove", RemoveFromRoom)
        await bus.consumer_settled("moderator")
    assert warning.mention_ids == ["dave"]
    assert "30 秒后如果继续，将按群规处理" in warning.text
    assert (removal.contact_id, removal.room_id) == ("dave", ROOM.id)
    assert len(bus.commands(RemoveFromRoom)) == 1
    [notice] = [s for s in bus.commands(SayText) if s.text.startswith("Kept flooding")]  # "again" is English
    assert notice.reply_to == late[-1].id  # the fourth message after the grace, not one from the burst


async def test_a_paste_burst_gets_one_warning_and_nothing_more(bus: Bus, run_service: RunService) -> None:
    sent = datetime.now(UTC)
    async with run_service(moderator, flood_policy="remove"):
        for i in range(25):
            second = sent + timedelta(seconds=i // 10)  # 25 lines within two seconds
            await bus.publish_event(message(f"第 {i} 行", talker=DAVE, mentions_bot=False, timestamp=second))
        await bus.says(lambda s: "请不要刷屏" in s.text)
        await bus.consumer_settled("moderator")
    assert len(bus.commands(SayText)) == 1
    assert bus.commands(RemoveFromRoom) == []


async def test_messages_to_the_bot_never_count_as_flood(bus: Bus, run_service: RunService) -> None:
    async with run_service(moderator, flood_max_messages=3, flood_policy="remove"):
        for i in range(8):  # questions to the bot: answered (here by the front desk), never a flood
            await bus.publish_event(message(f"问题 {i} 是什么", talker=DAVE))
        await bus.says(count=8)
        for i in range(4):
            await bus.publish_event(message(f"闲聊 {i}", talker=DAVE, mentions_bot=False))
        [warning] = await bus.says(lambda s: "请不要刷屏" in s.text)
        await bus.consumer_settled("moderator")
    assert (
        warning.reply_to == bus.matching("qun.evt.bot.message", MessageReceived)[-1].id
    )  # the 4th chat line
    assert len([s for s in bus.commands(SayText) if "刷屏" in s.text]) == 1


async def test_a_rooms_grace_is_set_by_its_admins(bus: Bus, run_service: RunService) -> None:
    warned_at = datetime.now(UTC)
    async with run_service(moderator, flood_max_messages=2, flood_policy="remove"):
        await bus.publish_event(message("设置刷屏 宽限60", talker=OWNER))
        [confirmed] = await bus.says(lambda s: "刷屏规则" in s.text)
        for i in range(3):
            await bus.publish_event(message(f"刷 {i}", talker=DAVE, mentions_bot=False, timestamp=warned_at))
        [warning] = await bus.says(lambda s: "请不要刷屏" in s.text)
        for i in range(3):  # after the default 30 s, within the room's 60 s
            at = warned_at + timedelta(seconds=45)
            await bus.publish_event(message(f"再刷 {i}", talker=DAVE, mentions_bot=False, timestamp=at))
        await bus.consumer_settled("moderator")
        assert bus.commands(RemoveFromRoom) == []
        for i in range(3):
            at = warned_at + timedelta(seconds=61)
            await bus.publish_event(message(f"还刷 {i}", talker=DAVE, mentions_bot=False, timestamp=at))
        await bus.wait_for("qun.cmd.bot.room.remove", RemoveFromRoom)
    assert "警告后宽限 60 秒" in confirmed.text
    assert "警告后移出" in confirmed.text  # the policy stays what it was
    assert "60 秒后如果继续" in warning.text


async def test_flood_vote_policy_opens_a_vote_and_the_bots_own_messages_never_count(
    bus: Bus, run_service: RunService
) -> None:
    sent = datetime.now(UTC)
    async with run_service(moderator, flood_max_messages=2, flood_policy="vote", flood_grace_s=5):
        for i in range(6):
            # from_self is dropped by the plumbing; the moderator also ignores its own id without the flag
            await bus.publish_event(
                message(f"回声 {i}", talker=BOT, mentions_bot=False, from_self=i % 2 == 0)
            )
        for i in range(3):
            await bus.publish_event(message(f"刷 {i}", talker=DAVE, mentions_bot=False, timestamp=sent))
        await bus.says(lambda s: "请不要刷屏" in s.text)
        for i in range(3):
            at = sent + timedelta(seconds=6)
            await bus.publish_event(message(f"又刷 {i}", talker=DAVE, mentions_bot=False, timestamp=at))
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


async def test_flood_is_counted_at_the_time_messages_were_sent(bus: Bus, run_service: RunService) -> None:
    sent = datetime.now(UTC)
    async with run_service(moderator, flood_max_messages=2, flood_window_s=60, flood_policy="remove"):
        # Four messages a minute apart in WeChat, arriving together (say, after the gateway reconnected).
        for minutes in (4, 3, 2, 1):
            await bus.publish_event(
                message(
                    f"早 {minutes}",
                    talker=DAVE,
                    mentions_bot=False,
                    timestamp=sent - timedelta(minutes=minutes),
                )
            )
        burst = [message(f"刷 {i}", talker=DAVE, mentions_bot=False, timestamp=sent) for i in range(3)]
        for event in burst:
            await bus.publish_event(event)
        [warning] = await bus.says(lambda s: "请不要刷屏" in s.text)
        await bus.consumer_settled("moderator")
    assert warning.reply_to == burst[-1].id  # the third message within a minute, not the third to arrive
    assert len(bus.commands(SayText)) == 1
    assert bus.commands(RemoveFromRoom) == []


async def _let_events_age(seconds: float) -> None:
    """The one wait that must be real time: staleness is how long an event waited on the bus."""
    loop = asyncio.get_running_loop()
    until = loop.time() + seconds
    while loop.time() < until:
        await asyncio.sleep(0.05)


async def test_a_stale_backlog_is_recorded_but_never_punished(bus: Bus, run_service: RunService) -> None:
    async with run_service(
        moderator, max_event_age_s=0.2, flood_max_messages=2, flood_policy="remove"
    ) as runtime:
        await runtime.stop()  # the moderator is down while Dave floods
        for i in range(6):
            await bus.publish_event(message(f"刷 {i}", talker=DAVE, mentions_bot=False))
        await _let_events_age(0.3)
        await runtime.start()
        await bus.consumer_settled("moderator")
        recorded = await runtime.redis.zcard(keys.flood_window(BOT.id, ROOM.id, DAVE.id))
        strikes = await runtime.redis.exists(keys.flood_strikes(BOT.id, ROOM.id, DAVE.id))
        assert bus.commands(SayText) == []
        assert bus.commands(RemoveFromRoom) == []  # without the stale check: strike 2, removal
        fresh = message("还在刷", talker=DAVE, mentions_bot=False)
        await bus.publish_event(fresh)
        [warning] = await bus.says(lambda s: "请不要刷屏" in s.text)
        await bus.consumer_settled("moderator")
    assert (recorded, strikes) == (6, 0)  # counted, never struck
    assert warning.reply_to == fresh.id  # a fresh message over the limit is the first strike: a warning
    assert bus.commands(RemoveFromRoom) == []
