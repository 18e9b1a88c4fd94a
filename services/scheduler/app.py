"""The scheduler service: reminders and recurring messages for a room or a person.

Handlers translate chat into domain calls: parsing in timeparse.py, storage in store.py, firing in firing.py,
every user-facing text in replies.py. Any replica may take any command; the firing loop runs on every replica and
the atomic claim in the store makes each firing happen once.

Time zones are the room's, kept in the shared room preferences (`ctx.zone`; QUN_TIMEZONE in direct messages), so
every service reads the same one. A reminder keeps the name of the zone it was set in, and the firing loop plans
its repeats in that zone: changing a room's zone moves only reminders set afterwards (the reply to the change says
so), and the loop needs no room lookup per firing.

Replies leave their command id to the plumbing (derived from the event and the content), so a redelivered command
re-issues a byte-identical confirmation that the bus drops. Firings are not tied to an event: their id is derived
from reminder id + due time.
"""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from redis.asyncio import Redis

from schemas import ChatCommand, MessageReceived
from services.scheduler import replies
from services.scheduler.firing import FiringLoop, FiringPlan
from services.scheduler.reminder import Reminder, place_id
from services.scheduler.settings import SchedulerSettings
from services.scheduler.store import ReminderStore, epoch_ms
from services.scheduler.timeparse import ParseFailure, parse_reminder
from services.shared import AppContext, Context, QunService

log = logging.getLogger("qunbus.scheduler")

_FIRING_IDS = uuid.UUID("0b9f3c1e-5d2a-4e7b-9c61-8f4d2a7e3b50")
_REMINDER_ID = re.compile(r"^#?\s*(\d{1,12})\b")
_DEFAULT_ZONE_WORDS = {"默认", "default", "reset"}


@dataclass(frozen=True)
class Deps:
    store: ReminderStore
    wake: asyncio.Event
    """Set when this replica stores a reminder, so its firing loop looks again before its next planned wake-up."""


@asynccontextmanager
async def open_deps(settings: SchedulerSettings, redis: Redis) -> AsyncIterator[Deps]:
    yield Deps(store=ReminderStore(redis), wake=asyncio.Event())


service: QunService[SchedulerSettings, Deps] = QunService(
    "scheduler",
    version="0.1.0",
    settings=SchedulerSettings,
    deps=open_deps,
    summary_zh="定时提醒：一次性或重复，中文或英文时间",
    summary_en="Reminders, one-off or recurring, with times in Chinese or English",
)

Ctx = Context[SchedulerSettings, Deps]


def _place(event: MessageReceived) -> str:
    return place_id(event.room.id if event.room else None, None if event.room else event.talker.id)


@service.command(
    ChatCommand(
        name="remind",
        keywords_zh=["提醒", "定时"],
        keywords_en=["remind"],
        usage_zh="提醒 <时间> <内容>，如：提醒 明天上午9点 开会；提醒 每周四晚上8点 健身；提醒我 30分钟后 关火",
        usage_en="remind <when> <text>, e.g. remind tomorrow at 9am standup; remind every friday at 17:00 report",
    )
)
async def remind(event: MessageReceived, ctx: Ctx, args: str) -> None:
    zone = ctx.zone
    parsed = parse_reminder(args, now=event.timestamp, zone=zone)
    if isinstance(parsed, ParseFailure):
        await ctx.reply(replies.parse_failure(parsed))
        return
    room_id = event.room.id if event.room else None
    draft = Reminder(
        id="",
        bot_id=ctx.bot_id,
        room_id=room_id,
        contact_id=None if room_id else event.talker.id,
        creator_id=event.talker.id,
        creator_name=event.talker.name,
        personal=room_id is None or parsed.for_me,
        text=parsed.text,
        lang=ctx.lang,
        zone=zone.key,
        created_at=event.timestamp,
        next_due=parsed.first,
        recurrence=parsed.recurrence,
        source_event_id=event.id,
    )
    # A redelivered event finds its reminder instead of storing a new one, so it confirms the same text again.
    reminder, _ = await ctx.deps.store.add(draft)
    ctx.deps.wake.set()
    await ctx.reply(replies.confirmation(reminder))


@service.command(
    ChatCommand(
        name="reminders",
        keywords_zh=["提醒列表"],
        keywords_en=["reminders"],
        usage_zh="提醒列表 — 本群（或私聊）待发的提醒",
        usage_en="reminders — pending reminders here",
    )
)
async def list_reminders(event: MessageReceived, ctx: Ctx, args: str) -> None:
    pending = await ctx.deps.store.list_place(ctx.bot_id, _place(event))
    await ctx.reply(replies.listing(pending, limit=ctx.settings.list_limit))


@service.command(
    ChatCommand(
        name="cancel",
        keywords_zh=["取消提醒"],
        keywords_en=["cancel"],
        usage_zh="取消提醒 <编号> — 设置者或管理员",
        usage_en="cancel <id> — whoever set it, or an admin",
    )
)
async def cancel(event: MessageReceived, ctx: Ctx, args: str) -> None:
    match = _REMINDER_ID.match(args.strip())
    if match is None:
        await ctx.reply(replies.cancel_usage())
        return
    reminder_id = match.group(1)
    reminder = await ctx.deps.store.get(reminder_id)
    if reminder is None or reminder.bot_id != ctx.bot_id or reminder.place_id != _place(event):
        await ctx.reply(replies.not_found(reminder_id))  # other rooms' reminders are not revealed
        return
    if event.talker.id != reminder.creator_id and not await ctx.is_admin():
        await ctx.reply(replies.not_allowed(reminder_id))
        return
    await ctx.deps.store.cancel(reminder)
    await ctx.reply(replies.cancelled(reminder_id))


@service.command(
    ChatCommand(
        name="timezone",
        keywords_zh=["时区"],
        keywords_en=["timezone"],
        usage_zh="时区 [Asia/Tokyo|默认] — 查看或（管理员）设置本群的时区",
        usage_en="timezone [Asia/Tokyo|default] — show or (admins) set this room's time zone",
    )
)
async def set_timezone(event: MessageReceived, ctx: Ctx, args: str) -> None:
    """Shows the zone, or sets the room's zone in the shared room preferences, which every service reads."""
    wanted = args.strip()
    room = event.room
    if not wanted:
        # ctx.zone is what is in force: an override that names no known zone falls back to the default.
        override = (await ctx.rooms.prefs(room.id)).timezone if room else None
        await ctx.reply(replies.zone_shown(ctx.zone.key, overridden=override == ctx.zone.key))
        return
    if room is None:  # direct messages follow QUN_TIMEZONE: room preferences are per room
        await ctx.reply(replies.zone_rooms_only(ctx.zone.key))
        return
    if not await ctx.is_admin():
        await ctx.reply(replies.zone_not_allowed())
        return
    if wanted.lower() in _DEFAULT_ZONE_WORDS:
        await ctx.rooms.set_timezone(room.id, None)
        await ctx.reply(replies.zone_set(ctx.settings.timezone))
        return
    try:
        zone = ZoneInfo(wanted)
    except (ZoneInfoNotFoundError, ValueError):
        await ctx.reply(replies.zone_unknown(wanted))
        return
    await ctx.rooms.set_timezone(room.id, zone.key)
    await ctx.reply(replies.zone_set(zone.key))


@service.background
async def fire_reminders(app: AppContext[SchedulerSettings, Deps]) -> None:
    async def send(reminder: Reminder, plan: FiringPlan) -> None:
        mention = [reminder.creator_id] if reminder.personal and reminder.room_id else []
        await app.say_to(
            reminder.bot_id,
            room_id=reminder.room_id,
            contact_id=reminder.contact_id,
            text=replies.firing_text(reminder, late_by=plan.late_by, missed=plan.missed),
            mention_ids=mention,
            command_id=firing_id(reminder),
        )

    loop = FiringLoop(app.deps.store, send, app.now, app.settings.loop_settings(), wake=app.deps.wake)
    await loop.run()


def firing_id(reminder: Reminder) -> str:
    """One command id per occurrence: a firing retried after a lost lease is dropped by the bus's dedupe."""
    return uuid.uuid5(_FIRING_IDS, f"{reminder.id}/{epoch_ms(reminder.next_due)}").hex
