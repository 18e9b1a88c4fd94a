"""The scheduler over real NATS + Redis: commands in chat, firing on a clock the test moves, restarts."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from schemas import Contact, MessageReceived, SayText, subjects
from services.scheduler.app import firing_say, service
from services.scheduler.firing import FiringPlan
from services.scheduler.reminder import Reminder
from services.scheduler.store import ReminderStore
from services.shared import Runtime
from tests.conftest import Bus, RunService
from tests.factories import ALICE, BOB, ROOM, message
from tests.services.scheduler.conftest import draft

OWNER = Contact(id="owner", name="Owner")
FAST = {"poll_interval_s": 0.05}


def is_firing(say: SayText) -> bool:
    return say.text.startswith("⏰")


async def ask(bus: Bus, rt: Runtime[Any, Any], body: str, **fields: Any) -> SayText:
    """Send a command as a chat message stamped with the service's clock; return the reply to it."""
    event = message(body, timestamp=rt.clock.now(), **fields)
    await bus.publish_event(event)
    [reply] = await bus.says(lambda say: say.reply_to == event.id)
    assert isinstance(reply, SayText)
    return reply


async def stored(rt: Runtime[Any, Any], reminder_id: str) -> Reminder:
    reminder = await ReminderStore(rt.redis).get(reminder_id)
    assert reminder is not None
    return reminder


async def until(check: Callable[[], Awaitable[bool]], timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


async def pending_is(rt: Runtime[Any, Any], count: int) -> bool:
    return await ReminderStore(rt.redis).pending_count() == count


async def moved_on(rt: Runtime[Any, Any], reminder: Reminder) -> Reminder:
    """The recurring reminder once the firing loop has moved it past `reminder.next_due` (after sending)."""

    async def moved() -> bool:
        return (await stored(rt, reminder.id)).next_due > reminder.next_due

    await until(moved)
    return await stored(rt, reminder.id)


async def move_clock_past(rt: Runtime[Any, Any], reminder: Reminder, extra: timedelta) -> None:
    rt.clock.offset += reminder.next_due - rt.clock.now() + extra


async def test_a_room_reminder_is_confirmed_then_fires_when_its_time_comes(
    bus: Bus, run_service: RunService
) -> None:
    async with run_service(service, **FAST) as rt:
        confirmation = await ask(bus, rt, "提醒 明天上午9点 开会")
        reminder = await stored(rt, "1")
        await move_clock_past(rt, reminder, timedelta(seconds=1))
        [firing] = await bus.says(is_firing)
        await until(lambda: pending_is(rt, 0))  # completed after the firing was sent
    assert confirmation.room_id == ROOM.id
    assert confirmation.text == (
        f"已设置提醒 #1：{reminder.next_due:%Y-%m-%d} 09:00（Asia/Shanghai），不重复。内容：开会"
    )
    assert (firing.room_id, firing.text, firing.mention_ids) == (ROOM.id, "⏰ 开会", [])
    # The gateway sends it after members' replies, and never later than the grace (SCHEDULER_MAX_LATE_S, 600 s).
    assert (firing.priority, firing.deadline) == ("reminder", reminder.next_due + timedelta(seconds=600))


async def test_personal_reminders_mention_the_creator_or_go_to_them_directly(
    bus: Bus, run_service: RunService
) -> None:
    async with run_service(service, **FAST) as rt:
        in_room = await ask(bus, rt, "remind me in 10 minutes to stretch")
        direct = await ask(bus, rt, "提醒 10分钟后 喝水", room=None, mentions_bot=False)
        await move_clock_past(rt, await stored(rt, "2"), timedelta(seconds=1))
        firings = await bus.says(is_firing, count=2)
    assert in_room.text.startswith("Reminder #1 set for ")
    assert in_room.text.endswith("Text: stretch")
    assert direct.contact_id == ALICE.id
    by_text = {say.text: say for say in firings}
    assert (by_text["⏰ stretch"].room_id, by_text["⏰ stretch"].mention_ids) == (ROOM.id, [ALICE.id])
    assert (by_text["⏰ 喝水"].contact_id, by_text["⏰ 喝水"].mention_ids) == (ALICE.id, [])


async def test_no_silent_guess_a_past_time_or_no_time_is_explained(bus: Bus, run_service: RunService) -> None:
    async with run_service(service, **FAST) as rt:
        past = await ask(bus, rt, "提醒 2020-01-01 10:00 交报告")
        no_time = await ask(bus, rt, "remind whenever you like")
        pending = await ReminderStore(rt.redis).pending_count()
    assert pending == 0
    assert past.text.startswith("「2020-01-01 10:00」（2020-01-01 10:00）已经过去了")
    assert "remind me tomorrow at 9am to call Bob" in no_time.text


async def test_listing_and_cancel_by_the_creator_or_an_admin_only(bus: Bus, run_service: RunService) -> None:
    async with run_service(service, **FAST) as rt:
        await ask(bus, rt, "提醒 明天上午9点 开会")
        await ask(bus, rt, "remind every friday at 17:00 weekly report")
        listing = await ask(bus, rt, "提醒列表", talker=BOB)
        refused = await ask(bus, rt, "取消提醒 1", talker=BOB)
        by_owner = await ask(bus, rt, "取消提醒 #1", talker=OWNER)
        by_creator = await ask(bus, rt, "cancel 2")
        unknown = await ask(bus, rt, "cancel 2")
        elsewhere = await ask(bus, rt, "提醒列表", room=None, mentions_bot=False)
        empty = await ask(bus, rt, "reminders")
    assert listing.text.splitlines()[0] == "待发的提醒："
    assert sorted(line.split()[0] for line in listing.text.splitlines()[1:]) == ["#1", "#2"]
    assert refused.text == "只有设置提醒 #1 的人或管理员可以取消它。"
    assert by_owner.text == "已取消提醒 #1。"
    assert by_creator.text == "Reminder #2 cancelled."
    assert unknown.text.startswith("No reminder #2 here.")
    assert elsewhere.text == "这里没有待发的提醒。"
    assert empty.text == "No pending reminders here."


async def test_a_restart_loses_nothing(bus: Bus, run_service: RunService) -> None:
    async with run_service(service, **FAST) as rt:
        await ask(bus, rt, "提醒 30分钟后 关火")
        reminder = await stored(rt, "1")
    async with run_service(service, **FAST) as restarted:
        await move_clock_past(restarted, reminder, timedelta(seconds=1))
        [firing] = await bus.says(is_firing)
    assert firing.text == "⏰ 关火"


async def test_firings_missed_while_down(bus: Bus, run_service: RunService) -> None:
    async with run_service(service, **FAST) as rt:
        await ask(bus, rt, "提醒 每天上午9点 打卡")
        daily = await stored(rt, "1")
        await ask(bus, rt, f"提醒 {daily.next_due:%Y-%m-%d} 09:00 开会")  # due at the same time
    async with run_service(service, **FAST, max_late_s=600) as restarted:
        await move_clock_past(restarted, daily, timedelta(hours=2))  # down for two hours
        [firing] = await bus.says(is_firing)
        rescheduled = await moved_on(restarted, daily)
    assert firing.text == f"⏰ 开会 （错过的提醒，原定 {daily.next_due:%Y-%m-%d} 09:00）"
    # Not a reminder any more but a notice that one was missed, with its own deadline from when it was written.
    assert firing.priority == "notice"
    assert firing.deadline is not None
    assert firing.deadline > daily.next_due + timedelta(hours=2)
    assert rescheduled.next_due == daily.next_due + timedelta(days=1)  # the daily one skipped, not fired
    assert len(bus.matching("qun.cmd.*.say", SayText)) == 3  # two confirmations and one firing


async def test_a_short_delay_fires_late_with_a_note(bus: Bus, run_service: RunService) -> None:
    async with run_service(service, **FAST) as rt:
        await ask(bus, rt, "remind every day at 9:00 drink water")
        daily = await stored(rt, "1")
    async with run_service(service, **FAST) as restarted:
        await move_clock_past(restarted, daily, timedelta(minutes=5))
        [firing] = await bus.says(is_firing)
        rescheduled = await moved_on(restarted, daily)
    assert firing.text == f"⏰ drink water (late by 5 min, was due {daily.next_due:%Y-%m-%d} 09:00)"
    assert rescheduled.next_due == daily.next_due + timedelta(days=1)


async def test_the_scheduler_does_not_write_room_preferences() -> None:
    """The moderator owns 设置时区; the scheduler only reads the room's zone (ctx.zone)."""
    keywords = {keyword for command in service.chat_commands for keyword in command.keywords}
    assert not keywords & {"时区", "timezone", "设置时区", "set timezone"}


async def test_a_zone_set_in_the_room_preferences_by_another_service_is_used(
    bus: Bus, run_service: RunService
) -> None:
    async with run_service(service, **FAST) as rt:
        await rt.rooms.set_timezone(ROOM.id, "Europe/Berlin")  # as the moderator's 设置时区 does
        in_room = await ask(bus, rt, "remind me tomorrow at 9am to stretch")
        # A room's zone does not follow its members into direct messages.
        direct = await ask(bus, rt, "remind me tomorrow at 9am to stretch", room=None, mentions_bot=False)
    assert "09:00 (Europe/Berlin)" in in_room.text
    assert "09:00 (Asia/Shanghai)" in direct.text


async def test_a_recurring_reminder_keeps_the_zone_it_was_set_in(bus: Bus, run_service: RunService) -> None:
    async with run_service(service, **FAST) as rt:
        await rt.rooms.set_timezone(ROOM.id, "Asia/Tokyo")
        await ask(bus, rt, "remind every day at 9:00 stand up")
        daily = await stored(rt, "1")
        await rt.rooms.set_timezone(ROOM.id, "America/New_York")
        await move_clock_past(rt, daily, timedelta(seconds=1))
        [firing] = await bus.says(is_firing)
        rescheduled = await moved_on(rt, daily)
    assert firing.text == "⏰ stand up"
    assert rescheduled.zone == "Asia/Tokyo"
    assert rescheduled.next_due == daily.next_due + timedelta(days=1)
    assert rescheduled.next_due.astimezone(ZoneInfo("Asia/Tokyo")).hour == 9


async def test_a_redelivered_command_reissues_one_identical_confirmation(
    bus: Bus, run_service: RunService
) -> None:
    async with run_service(service, **FAST) as rt:
        event = message("提醒 明天上午9点 开会", timestamp=rt.clock.now())
        subject, data = subjects.event(event.bot_id, MessageReceived), event.model_dump_json().encode()
        for _ in range(2):  # the same event handled twice, as after a lost ack
            await bus.publish_raw(subject, data)
        replies = await bus.says(lambda say: say.reply_to == event.id, count=2)
        await bus.consumer_settled("scheduler")
        stored_commands = await bus.js.stream_info("QUN_CMD")
        pending = await ReminderStore(rt.redis).pending_count()
    published = [m.data for m in bus.matching("qun.cmd.*.say")]
    assert pending == 1
    assert len(published) == 2
    assert published[0] == published[1]  # byte-identical, so the bus's dedupe keeps one
    assert replies[0].text.startswith("已设置提醒 #1：")
    assert stored_commands.state.messages == 1


async def test_a_mentioned_member_is_reminded_by_contact_id(bus: Bus, run_service: RunService) -> None:
    async with run_service(service, **FAST) as rt:
        confirmation = await ask(bus, rt, "提醒@Bob 明天上午10点交合同", mention_ids=["bot", BOB.id])
        typed = await ask(bus, rt, "提醒@Carol 后天上午10点交合同")  # no mention id came with it
        reminder = await stored(rt, "1")
        await move_clock_past(rt, reminder, timedelta(seconds=1))
        [firing] = await bus.says(is_firing)
    assert confirmation.text.endswith("内容：交合同")
    assert typed.text.endswith("内容：@Carol 交合同")
    assert (firing.text, firing.mention_ids) == ("⏰ 交合同", [BOB.id])


async def test_active_reminders_are_limited_per_creator_and_per_room(
    bus: Bus, run_service: RunService
) -> None:
    async with run_service(service, **FAST, max_per_creator=2, max_per_room=3) as rt:
        for minutes in (10, 20):
            await ask(bus, rt, f"提醒 {minutes}分钟后 喝水")
        creator_full = await ask(bus, rt, "提醒 30分钟后 喝水")
        await ask(bus, rt, "remind me in 10 minutes to stretch", talker=BOB)
        room_full = await ask(bus, rt, "remind me in 20 minutes to stretch", talker=BOB)
        # The direct-message flood of the issue (one contact, hundreds of reminders) stops at the creator limit.
        direct = [
            await ask(bus, rt, f"提醒 {n}分钟后 喝水", room=None, mentions_bot=False, talker=BOB)
            for n in (1, 2)
        ]
        cancelled = await ask(bus, rt, "取消提醒 1")
        again = await ask(bus, rt, "提醒 40分钟后 喝水")
        pending = await ReminderStore(rt.redis).pending_count()
    assert (
        creator_full.text == "你已有 2 条待发的提醒，达到上限。请先取消一些（提醒列表 / 取消提醒 <编号>）。"
    )
    assert room_full.text.startswith("This room already has 3 pending reminders, the limit.")
    assert direct[0].text.startswith("已设置提醒 #4")
    assert direct[1].text.startswith("你已有 2 条待发的提醒")
    assert cancelled.text == "已取消提醒 #1。"
    assert again.text.startswith("已设置提醒 #5")
    assert pending == 4


async def test_cancel_is_decided_by_contact_id_not_by_name(bus: Bus, run_service: RunService) -> None:
    """A member whose alias equals the creator's name gains nothing; the creator keeps the right under any name."""
    impostor = Contact(id=BOB.id, name=ALICE.name)
    renamed = Contact(id=ALICE.id, name="Alice (new name)")
    async with run_service(service, **FAST) as rt:
        await ask(bus, rt, "提醒 明天上午9点 开会")
        refused = await ask(bus, rt, "取消提醒 1", talker=impostor)
        still_there = await ReminderStore(rt.redis).get("1")
        allowed = await ask(bus, rt, "取消提醒 1", talker=renamed)
    assert refused.text == "只有设置提醒 #1 的人或管理员可以取消它。"
    assert still_there is not None
    assert allowed.text == "已取消提醒 #1。"


def test_a_firing_is_a_reminder_until_its_grace_ends_then_a_notice_that_it_was_missed() -> None:
    due = datetime(2026, 12, 1, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    grace = timedelta(minutes=10)
    reminder = draft(due, id="7", personal=True, mention_ids=("bob",))
    on_time = firing_say(reminder, FiringPlan(True, timedelta(0), False, None), due, grace)
    late = due + timedelta(hours=3)
    missed = firing_say(reminder, FiringPlan(True, timedelta(hours=3), True, None), late, grace)
    direct = firing_say(
        draft(due, id="8", room_id=None, contact_id="alice", personal=True), on_time_plan(), due, grace
    )
    assert (on_time.priority, on_time.deadline, on_time.mention_ids) == (
        "reminder",
        due + grace,
        ["alice", "bob"],
    )
    assert (missed.priority, missed.deadline) == ("notice", late + grace)
    assert on_time.id == missed.id  # one id per occurrence, whatever becomes of it
    assert (direct.contact_id, direct.mention_ids) == ("alice", [])


def on_time_plan() -> FiringPlan:
    return FiringPlan(send=True, late_by=timedelta(0), missed=False, next_due=None)
