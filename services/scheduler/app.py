"""The scheduler service: reminders and recurring messages for a room or a person.

Handlers translate chat into domain calls: reading a request in intent.py / timeparse.py (one parser for the
keyword form `提醒 明天9点 开会` and for plain sentences like `明天9点提醒我开会`), storage in store.py, firing in
firing.py, every user-facing text in replies.py. Any replica may take any command; the firing loop runs on every
replica and the atomic claim in the store makes each firing happen once.

Time zones are the room's, kept in the shared room preferences (`ctx.zone`; QUN_TIMEZONE in direct messages), which
only the moderator writes (`设置时区`). A reminder keeps the name of the zone it was set in, and the firing loop plans
its repeats in that zone: changing a room's zone moves only reminders set afterwards, and the loop needs no room
lookup per firing.

Replies leave their command id to the plumbing (derived from the event and the content), so a redelivered command
re-issues a byte-identical confirmation that the bus drops. Firings are not tied to an event: their id is derived
from reminder id + due time. A firing is sent with priority "reminder" and a deadline (due time + SCHEDULER_MAX_LATE_S),
so the gateway never delivers it later than that; see firing.py for what happens to firings missed altogether.
"""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from redis.asyncio import Redis

from schemas import ChatCommand, MessageReceived, SayText
from services.scheduler import replies
from services.scheduler.firing import FiringLoop, FiringPlan
from services.scheduler.intent import read_request, recognise_reminder
from services.scheduler.phrasing import Target
from services.scheduler.reminder import Reminder, place_id
from services.scheduler.settings import SchedulerSettings
from services.scheduler.store import LimitReached, ReminderStore, epoch_ms
from services.scheduler.timeparse import ParseFailure
from services.scheduler.workdays import warn_if_calendar_ends
from services.shared import AppContext, Context, Intent, QunService

log = logging.getLogger("qunbus.scheduler")

_FIRING_IDS = uuid.UUID("0b9f3c1e-5d2a-4e7b-9c61-8f4d2a7e3b50")
_REMINDER_ID = re.compile(r"^#?\s*(\d{1,12})\b")


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
    title_zh="提醒",
    title_en="reminders",
    scale_on_lag=False,  # clock-driven: its firing loop runs on every replica, not on consumer lag
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
        usage_zh="提醒 <时间> <内容>，或直接说：明天9点提醒我开会；每周四晚上8点提醒大家开周会",
        usage_en="remind <when> <text>, or just say: remind me at 6pm to deploy; every friday at 5pm remind us to report",
        examples_zh=["下午四点提醒我接孩子", "20分钟后叫我去开会", "每个工作日早上9点提醒大家站会"],
        examples_en=["at 6pm remind us to deploy", "remind me tomorrow at 9 to send the invoice"],
    )
)
async def remind(event: MessageReceived, ctx: Ctx, args: str) -> None:
    """Keyword-first (`提醒 明天9点 开会`) or claimed by the recogniser (`明天9点提醒我开会`): either way the whole
    body is read, by one parser."""
    zone = ctx.zone
    parsed = read_request(event.body, event.timestamp, zone)
    if isinstance(parsed, ParseFailure):
        await ctx.reply(replies.parse_failure(parsed))
        return
    room_id = event.room.id if event.room else None
    text, mention_ids = parsed.text, tuple[str, ...]()
    if parsed.target is Target.MENTIONED and room_id:
        mention_ids = tuple(dict.fromkeys(who for who in event.mention_ids if who != ctx.bot_id))
        # "@name" typed without WeChat turning it into a mention: nobody to notify by id, keep the names in the text
        if not mention_ids:
            text = " ".join([*(f"@{name}" for name in parsed.mentioned), text])
    draft = Reminder(
        id="",
        bot_id=ctx.bot_id,
        room_id=room_id,
        contact_id=None if room_id else event.talker.id,
        creator_id=event.talker.id,
        creator_name=event.talker.name,
        personal=room_id is None or parsed.for_me,
        mention_ids=mention_ids,
        text=text,
        lang=ctx.lang,
        zone=zone.key,
        created_at=event.timestamp,
        next_due=parsed.first,
        recurrence=parsed.recurrence,
        source_event_id=event.id,
    )
    # A redelivered event finds its reminder instead of storing a new one, so it confirms the same text again.
    try:
        reminder, _ = await ctx.deps.store.add(draft, ctx.settings.limits())
    except LimitReached as full:
        await ctx.reply(replies.limit_reached(full.scope, full.limit, in_room=room_id is not None))
        return
    ctx.deps.wake.set()
    await ctx.reply(replies.confirmation(reminder))


@service.recogniser("remind")
def recognise(event: MessageReceived, ctx: Ctx) -> Intent | None:
    """How sure it is that a message addressed to the bot asks for a reminder (intent.py). Pure and fast."""
    return recognise_reminder(event.body, event.timestamp, ctx.zone)


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


@service.background
async def fire_reminders(app: AppContext[SchedulerSettings, Deps]) -> None:
    warn_if_calendar_ends(app.now().date())
    grace = timedelta(seconds=app.settings.max_late_s)

    async def send(reminder: Reminder, plan: FiringPlan) -> None:
        await app.send_to(reminder.bot_id, firing_say(reminder, plan, app.now(), grace))

    loop = FiringLoop(app.deps.store, send, app.now, app.settings.loop_settings(), wake=app.deps.wake)
    await loop.run()


def firing_say(reminder: Reminder, plan: FiringPlan, now: datetime, grace: timedelta) -> SayText:
    """The message of one firing. A reminder goes out with priority "reminder" and must reach WeChat by its due time
    + `grace`; a one-off the scheduler reaches later than that (everything was down) becomes a "missed" notice,
    sent at notice priority and itself dropped if it cannot go out within `grace`."""
    mentions = [*([reminder.creator_id] if reminder.personal else []), *reminder.mention_ids]
    return SayText(
        id=firing_id(reminder),
        room_id=reminder.room_id,
        contact_id=reminder.contact_id,
        text=replies.firing_text(reminder, late_by=plan.late_by, missed=plan.missed),
        mention_ids=list(dict.fromkeys(mentions)) if reminder.room_id else [],
        priority="notice" if plan.missed else "reminder",
        deadline=(now if plan.missed else reminder.next_due) + grace,
    )


def firing_id(reminder: Reminder) -> str:
    """One command id per occurrence: a firing retried after a lost lease is dropped by the bus's dedupe."""
    return uuid.uuid5(_FIRING_IDS, f"{reminder.id}/{epoch_ms(reminder.next_due)}").hex
