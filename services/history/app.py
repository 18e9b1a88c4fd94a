"""The history service: keeps each room's messages, and from them writes summaries on demand, daily and weekly
reports with a chart, and the list of questions the bot could not answer.

Handlers translate chat into calls on domain code: storage in store.py (packing in codec.py), summaries in
summary.py (offline) and llm.py (the operator's LLM), reports in reports.py and chart.py, their timing in
schedule.py, unanswered questions in unanswered.py. Other services read the history through requests
(`HistoryQuery`, `UnansweredQuery`) answered in `answer_history` and `answer_unanswered`.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
from redis.asyncio import Redis

from schemas import (
    ChatCommand,
    ContactRef,
    HistoryMessage,
    HistoryPage,
    HistoryQuery,
    MessageReceived,
    QuestionUnanswered,
    SayText,
    SendFile,
    UnansweredItem,
    UnansweredQuery,
)
from services.history import chart, llm, replies, reports, text
from services.history.options import LEADERBOARD, LLM, RoomOptions
from services.history.replies import fill
from services.history.request import parse_stretch, summary_confidence
from services.history.schedule import Claim, ReportSchedule, ReportStore
from services.history.settings import HistorySettings
from services.history.store import HistoryStore, Window, epoch_ms
from services.history.summary import SummaryOptions, summarize
from services.history.switches import parse_switch
from services.history.unanswered import ANSWER_WINDOW, UnansweredRecord, UnansweredStore, best_answer
from services.shared import AppContext, Bilingual, Context, Intent, QunService

log = logging.getLogger("qunbus.history")

NAME = "history"


@dataclass(frozen=True)
class Deps:
    store: HistoryStore
    questions: UnansweredStore
    options: RoomOptions
    reports: ReportStore
    font: chart.ChartFont | None
    """The chart's font (Chinese glyphs); None: reports go out as text only."""
    http: httpx.AsyncClient
    llm: llm.LlmConfig | None
    """The operator's LLM, when configured."""


@asynccontextmanager
async def open_deps(settings: HistorySettings, _redis: Redis) -> AsyncIterator[Deps]:
    await asyncio.to_thread(text.warm_up)  # jieba's dictionary at start, not on the first summary
    # Entries are packed bytes: a binary client of its own (the shared one decodes every reply as text).
    binary = Redis.from_url(settings.redis_url.get_secret_value(), decode_responses=False)
    config = None
    if settings.llm_configured:
        assert settings.llm_base_url is not None
        assert settings.llm_model is not None
        config = llm.LlmConfig(
            base_url=settings.llm_base_url,
            model=settings.llm_model,
            api_key=settings.llm_api_key,
            timeout_s=settings.llm_timeout_s,
            stream=settings.llm_stream,
            max_input_chars=settings.llm_max_input_chars,
        )
    retention = timedelta(days=settings.retention_days)
    try:
        font: chart.ChartFont | None = chart.find_font(settings.chart_font)
    except chart.NoCjkFontError as error:
        log.warning("reports will have no chart: %s", error)
        font = None
    try:
        async with httpx.AsyncClient(timeout=httpx.Timeout(settings.llm_timeout_s)) as http:
            yield Deps(
                store=HistoryStore(binary, retention=retention, max_per_room=settings.max_per_room),
                questions=UnansweredStore(binary, retention),
                options=RoomOptions(binary),
                reports=ReportStore(binary),
                font=font,
                http=http,
                llm=config,
            )
    finally:
        await binary.aclose()


service: QunService[HistorySettings, Deps] = QunService(
    NAME,
    version="0.1.0",
    settings=HistorySettings,
    deps=open_deps,
    title_zh="群聊记录",
    title_en="history",
    publishes=(SayText, SendFile),
    summary_zh="群聊记录：总结聊天、日报周报、没答上的问题",
    summary_en="Room history: summaries, daily and weekly reports, unanswered questions",
)
Ctx = Context[HistorySettings, Deps]
App = AppContext[HistorySettings, Deps]


def _room_of(event: MessageReceived) -> str:
    """The room of a `rooms_only` command (the dispatcher answers direct messages itself)."""
    assert event.room is not None
    return event.room.id


# -- keeping messages ----------------------------------------------------------------------------------------


@service.on(MessageReceived)
async def keep(event: MessageReceived, ctx: Ctx) -> None:
    """Every room message members write to each other (the bot's own never arrive here). Messages addressed to
    the bot are requests to it (reminders, tags, help), not the room's conversation: summaries, reports and
    transcripts would only repeat them, so they are not kept."""
    if event.mentions_bot:
        return
    await ctx.deps.store.record(event, ctx.now())


@service.command(
    ChatCommand(
        name="recording",
        keywords_zh=["聊天记录"],
        keywords_en=["history"],
        usage_zh="聊天记录 开|关：保存本群聊天记录（关 = 停止并删除已保存的）",
        usage_en="history on|off: keep this room's messages (off stops and deletes them)",
        admin_only=True,
        rooms_only=True,
    )
)
async def recording(event: MessageReceived, ctx: Ctx, args: str) -> None:
    room = _room_of(event)
    switch = parse_switch(args)
    days = f"{ctx.settings.retention_days:g}"
    store = ctx.deps.store
    if switch is None or switch.at is not None:
        await ctx.reply(fill(replies.SWITCH_USAGE, keyword="聊天记录" if ctx.lang == "zh" else "history"))
    elif switch.on is None:
        if await store.recording(room):
            await ctx.reply(fill(replies.RECORDING_STATUS_ON, days=days, count=await store.count(room)))
        else:
            await ctx.reply(replies.RECORDING_STATUS_OFF)
    else:
        await store.set_recording(room, on=switch.on)
        await ctx.reply(fill(replies.RECORDING_ON, days=days) if switch.on else replies.RECORDING_OFF)


@service.command(
    ChatCommand(
        name="forget",
        keywords_zh=["忘记我"],
        keywords_en=["forget me"],
        usage_zh="忘记我：删除你在本群被保存的消息",
        usage_en="forget me: delete your kept messages in this room",
        rooms_only=True,
    )
)
async def forget(event: MessageReceived, ctx: Ctx, args: str) -> None:
    room = _room_of(event)
    count = await ctx.deps.store.forget_member(room, event.talker.id)
    await ctx.deps.questions.forget_asker(room, event.talker.id)
    await ctx.reply(fill(replies.FORGOTTEN, count=count) if count else replies.NOTHING_TO_FORGET)


# -- summaries -----------------------------------------------------------------------------------------------


@service.command(
    ChatCommand(
        name="summary",
        keywords_zh=["总结", "摘要"],
        keywords_en=["summary", "summarize", "summarise", "tldr"],
        usage_zh="总结 [今天|昨天|最近2小时|刚才|最近50条]：本群聊了什么",
        usage_en="summary [today|yesterday|last 3 hours|just now|last 50 messages]: what this room talked about",
        rooms_only=True,
        examples_zh=["刚才聊了什么", "帮我总结一下今天的群聊", "我错过了什么"],
        examples_en=["what did I miss", "catch me up", "summarize today"],
    )
)
async def summary(event: MessageReceived, ctx: Ctx, args: str) -> None:
    room = _room_of(event)
    store, now = ctx.deps.store, ctx.now()
    if not await store.recording(room):
        await ctx.reply(replies.RECORDING_IS_OFF)
        return
    stretch = parse_stretch(args, now, ctx.zone, store.retention)
    messages = await store.messages(room, stretch.since, stretch.until, now)
    if stretch.last_messages is not None:
        messages = messages[-stretch.last_messages :]
    options = SummaryOptions(
        lang=ctx.lang,
        label=stretch.label.pick(ctx.lang),
        bot_id=event.bot_id,
        max_lines=ctx.settings.summary_max_lines,
    )
    lines = await asyncio.to_thread(summarize, messages, options)  # CPU-bound: off the event loop
    if messages and await _llm_wanted(ctx, room):
        lines = await _llm_summary(ctx, messages, options, header=lines[0]) or lines
    await ctx.reply("\n".join(lines))


async def _llm_wanted(ctx: Ctx, room: str) -> bool:
    return ctx.deps.llm is not None and await ctx.deps.options.enabled(room, LLM)


async def _llm_summary(
    ctx: Ctx, messages: list[HistoryMessage], options: SummaryOptions, header: str
) -> list[str] | None:
    """The LLM's summary of a room's messages, or None (logged) to send the offline one."""
    config = ctx.deps.llm
    assert config is not None
    chat = llm.transcript(messages, ctx.zone, config.max_input_chars)
    request = llm.prompt(header, chat, options.lang, options.max_lines)
    try:
        return await llm.summarize(ctx.deps.http, config, request, options.max_lines)
    except llm.LlmError as error:
        log.warning("LLM summary failed (%s); sending the offline one", error)
        return None


@service.recogniser("summary")
def recognise_summary(event: MessageReceived, _ctx: Ctx) -> Intent | None:
    """A summary asked for in plain words ("刚才聊了什么", "what did I miss"); the handler reads the stretch from
    the body."""
    confidence = summary_confidence(event.body)
    return Intent(confidence, event.body) if confidence > 0 else None


@service.command(
    ChatCommand(
        name="llm",
        keywords_zh=["AI总结"],
        keywords_en=["ai summary"],
        usage_zh="AI总结 开|关：本群的总结由运维配置的大模型撰写",
        usage_en="ai summary on|off: this room's summaries written by the operator's LLM",
        admin_only=True,
        rooms_only=True,
    )
)
async def llm_switch(event: MessageReceived, ctx: Ctx, args: str) -> None:
    room = _room_of(event)
    switch = parse_switch(args)
    if ctx.deps.llm is None:
        await ctx.reply(replies.LLM_NOT_CONFIGURED)
    elif switch is None or switch.at is not None:
        await ctx.reply(fill(replies.SWITCH_USAGE, keyword="AI总结" if ctx.lang == "zh" else "ai summary"))
    elif switch.on is None:
        on = await ctx.deps.options.enabled(room, LLM)
        mode = ("大模型" if on else "离线") if ctx.lang == "zh" else ("LLM" if on else "offline")
        await ctx.reply(fill(replies.LLM_STATUS, mode=mode))
    else:
        await ctx.deps.options.set(room, LLM, on=switch.on)
        await ctx.reply(replies.LLM_ON if switch.on else replies.LLM_OFF)


# -- questions the bot could not answer ------------------------------------------------------------------------


@service.on(QuestionUnanswered)
async def collect_question(event: QuestionUnanswered, ctx: Ctx) -> None:
    """Published by the tagger when it answered "I don't know"; direct messages are not kept."""
    if event.room is not None and await ctx.deps.store.recording(event.room.id):
        await ctx.deps.questions.record(event)


async def _with_answer(app: App, room: str, record: UnansweredRecord) -> HistoryMessage | None:
    after = await app.deps.store.messages(room, record.first, record.last + ANSWER_WINDOW, app.now())
    found = best_answer(record, after)
    return found.message if found else None


@service.command(
    ChatCommand(
        name="unanswered",
        keywords_zh=["没答上的问题", "未回答"],
        keywords_en=["unanswered"],
        usage_zh="没答上的问题：我最近答不上的问题、次数和可能的答案（标记 <编号> 存为知识）",
        usage_en="unanswered: questions I could not answer lately, with counts and likely answers (tag <number>)",
        admin_only=True,
        rooms_only=True,
    )
)
async def unanswered(event: MessageReceived, ctx: Ctx, args: str) -> None:
    room = _room_of(event)
    recent = await ctx.deps.questions.recent(room, ctx.now())
    if not recent:
        await ctx.reply(replies.NO_UNANSWERED)
        return
    await ctx.deps.questions.save_listing(room, [key for key, _ in recent])
    lines = [replies.UNANSWERED_HEAD.pick(ctx.lang)]
    for n, (_, record) in enumerate(recent, 1):
        question = text.shorten(record.question, 40)
        item = fill(
            replies.UNANSWERED_ITEM, n=n, question=question, count=record.count, asker=record.asker_name
        )
        lines.append(item.pick(ctx.lang))
        answer = await _with_answer(ctx, room, record)
        if answer is None:
            lines.append(replies.UNANSWERED_NONE.pick(ctx.lang))
        else:
            shown = fill(
                replies.UNANSWERED_ANSWER, who=answer.talker.name, text=text.shorten(answer.text, 40)
            )
            lines.append(shown.pick(ctx.lang))
    await ctx.reply("\n".join(lines))


@service.responds(UnansweredQuery)
async def answer_unanswered(request: UnansweredQuery, app: App) -> UnansweredItem:
    """Item `number` of the room's latest listing, with its chosen answer (the tagger's `标记 <编号>`)."""
    found = await app.deps.questions.listed(request.room_id, request.number)
    if isinstance(found, str):
        return UnansweredItem(room_id=request.room_id, number=request.number, error=found)
    return UnansweredItem(
        room_id=request.room_id,
        number=request.number,
        question=found.question,
        asker=ContactRef(id=found.asker_id, name=found.asker_name),
        count=found.count,
        answer=await _with_answer(app, request.room_id, found),
    )


# -- reports -------------------------------------------------------------------------------------------------

_REPORT_NAMES = {
    "daily": Bilingual(zh="日报", en="daily report"),
    "weekly": Bilingual(zh="周报", en="weekly report"),
}
_WEEKDAYS = {
    "zh": "一二三四五六日",
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}
_REPORT_COMMAND_IDS = uuid.UUID("0b6f5c3e-9d0a-4b7e-8f61-3c2d9a7e1f45")
REPORT_LEASE = timedelta(minutes=2)


def _when(instant: datetime, ctx: Ctx) -> str:
    return f"{instant.astimezone(ctx.zone):%Y-%m-%d %H:%M}"


async def _report_switch(kind: reports.Kind, event: MessageReceived, ctx: Ctx, args: str) -> None:
    room = _room_of(event)
    name = _REPORT_NAMES[kind].pick(ctx.lang)
    keyword = ("日报" if kind == "daily" else "周报") if ctx.lang == "zh" else f"{kind} report"
    switch = parse_switch(args)
    store = ctx.deps.reports
    if switch is None:
        await ctx.reply(fill(replies.SWITCH_USAGE, keyword=f"{keyword}"))
    elif switch.on is None:
        current = await store.get(room, kind)
        if current is None:
            await ctx.reply(fill(replies.REPORT_STATUS_OFF, name=name, keyword=keyword))
        else:
            due = current.next_due(ctx.now())
            await ctx.reply(
                fill(
                    replies.REPORT_STATUS_ON,
                    name=name,
                    at=current.at,
                    zone=current.zone,
                    next=_when(due, ctx),
                )
            )
    elif not switch.on:
        await store.disable(room, kind)
        await ctx.reply(fill(replies.REPORT_OFF, name=name))
    else:
        at = switch.at or ctx.settings.report_clock
        assert event.room is not None
        schedule = ReportSchedule(
            room_id=room,
            room_name=event.room.topic or room,
            kind=kind,
            bot_id=event.bot_id,
            zone=ctx.zone.key,
            lang=ctx.lang,
            at=f"{at:%H:%M}",
            weekday=ctx.settings.weekly_report_weekday,
        )
        due = await store.enable(schedule, ctx.now())
        day = _WEEKDAYS[ctx.lang][schedule.weekday - 1]
        template = replies.REPORT_ON if kind == "daily" else replies.REPORT_ON_WEEKLY
        await ctx.reply(
            fill(template, name=name, at=schedule.at, zone=schedule.zone, day=day, next=_when(due, ctx))
        )


@service.command(
    ChatCommand(
        name="daily-report",
        keywords_zh=["日报"],
        keywords_en=["daily report"],
        usage_zh="日报 开 [21:00]|关：每天定时发本群的日报（消息、活跃、话题、图表）",
        usage_en="daily report on [21:00]|off: a daily report of this room with a chart",
        admin_only=True,
        rooms_only=True,
    )
)
async def daily_report(event: MessageReceived, ctx: Ctx, args: str) -> None:
    await _report_switch("daily", event, ctx, args)


@service.command(
    ChatCommand(
        name="weekly-report",
        keywords_zh=["周报"],
        keywords_en=["weekly report"],
        usage_zh="周报 开 [21:00]|关：每周定时发本群的周报",
        usage_en="weekly report on [21:00]|off: a weekly report of this room with a chart",
        admin_only=True,
        rooms_only=True,
    )
)
async def weekly_report(event: MessageReceived, ctx: Ctx, args: str) -> None:
    await _report_switch("weekly", event, ctx, args)


@service.command(
    ChatCommand(
        name="leaderboard",
        keywords_zh=["活跃榜"],
        keywords_en=["leaderboard"],
        usage_zh="活跃榜 开|关：日报周报里列出最活跃的成员",
        usage_en="leaderboard on|off: reports list the most active members",
        admin_only=True,
        rooms_only=True,
    )
)
async def leaderboard(event: MessageReceived, ctx: Ctx, args: str) -> None:
    room = _room_of(event)
    switch = parse_switch(args)
    if switch is None or switch.on is None or switch.at is not None:
        await ctx.reply(fill(replies.SWITCH_USAGE, keyword="活跃榜" if ctx.lang == "zh" else "leaderboard"))
        return
    await ctx.deps.options.set(room, LEADERBOARD, on=switch.on)
    await ctx.reply(replies.LEADERBOARD_ON if switch.on else replies.LEADERBOARD_OFF)


def _report_id(claim: Claim, part: str) -> str:
    """The same report of the same period always gets the same command ids (a re-sent report is dropped)."""
    return uuid.uuid5(_REPORT_COMMAND_IDS, f"{claim.schedule.member}/{epoch_ms(claim.due)}/{part}").hex


async def send_report(app: App, claim: Claim) -> None:
    schedule, deps, now = claim.schedule, app.deps, app.now()
    if not await deps.store.recording(schedule.room_id):
        return
    zone = ZoneInfo(schedule.zone)
    since = claim.due - reports.PERIOD[schedule.kind]
    messages = await deps.store.messages(schedule.room_id, since, claim.due, now)
    questions = [record for _, record in await deps.questions.recent(schedule.room_id, now, limit=50)]
    found = await asyncio.to_thread(
        reports.figures,
        schedule.kind,
        messages,
        questions,
        room_name=schedule.room_name,
        until=claim.due,
        zone=zone,
        lang=schedule.lang,
        leaderboard=await deps.options.enabled(schedule.room_id, LEADERBOARD),
    )
    deadline = now + timedelta(hours=2)  # a report hours late is news no more
    say = SayText(
        id=_report_id(claim, "text"),
        room_id=schedule.room_id,
        text=reports.render_text(found, schedule.lang),
        priority="notice",
        deadline=deadline,
    )
    await app.send_to(schedule.bot_id, say)
    if deps.font is None or not messages:
        return
    png = await asyncio.to_thread(chart.render, found, schedule.lang, deps.font)
    day = (claim.due - timedelta(seconds=1)).astimezone(zone)
    label = _REPORT_NAMES[schedule.kind].pick(schedule.lang).replace(" ", "-")
    await app.send_to(
        schedule.bot_id,
        SendFile(
            id=_report_id(claim, "chart"),
            room_id=schedule.room_id,
            name=f"{label}-{day:%Y-%m-%d}.png",
            mime_type="image/png",
            size=len(png),
            sha256=hashlib.sha256(png).hexdigest(),
            data_base64=base64.b64encode(png).decode(),
            priority="notice",
            deadline=deadline,
        ),
    )


@service.background
async def fire_reports(app: App) -> None:
    """Claim the reports due now, send them, schedule the next; sleep until the next due time (at most
    HISTORY_REPORT_POLL_S, so a report enabled through another replica is seen soon)."""
    store = app.deps.reports
    while True:
        for claim in await store.claim_due(app.now(), lease=REPORT_LEASE):
            await send_report(app, claim)
            if not await store.complete(claim, app.now()):
                log.warning("report %s: lease lost before completing", claim.schedule.member)
        wait = app.settings.report_poll_s
        if (next_ms := await store.next_due_ms()) is not None:
            wait = min(wait, max(0.0, (next_ms - epoch_ms(app.now())) / 1000))
        await asyncio.sleep(wait + 0.01)


# -- requests from other services ----------------------------------------------------------------------------


@service.responds(HistoryQuery)
async def answer_history(request: HistoryQuery, app: App) -> HistoryPage:
    """A room's kept messages in a time range (github-sync's transcripts: `last=True`, `until=` the moment)."""
    store = app.deps.store
    window = Window(
        since=request.since,
        until=request.until,
        talker_id=request.talker_id,
        limit=request.limit,
        last=request.last,
    )
    page = await store.page(request.room_id, window, app.now())
    return HistoryPage(
        room_id=request.room_id,
        messages=page.messages,
        more=page.more,
        recording=await store.recording(request.room_id),
    )
