"""The history service: keeps each room's messages, and from them writes summaries on demand, daily and weekly
reports with a chart, and the list of questions the bot could not answer.

Handlers translate chat into calls on domain code: storage in store.py (packing in codec.py), summaries in
summary.py (offline) and llm.py (the operator's LLM), reports in reports.py and chart.py, their timing in
schedule.py, unanswered questions in unanswered.py. Other services read the history through requests
(`HistoryQuery`, `UnansweredQuery`) answered in `answer_history` and `answer_unanswered`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from redis.asyncio import Redis

from schemas import ChatCommand, HistoryPage, HistoryQuery, MessageReceived
from services.history import replies, responder
from services.history.replies import fill
from services.history.settings import HistorySettings
from services.history.store import HistoryStore, Window
from services.history.switches import parse_switch
from services.shared import AppContext, Context, QunService, Runtime

log = logging.getLogger("qunbus.history")

NAME = "history"


@dataclass(frozen=True)
class Deps:
    store: HistoryStore


@asynccontextmanager
async def open_deps(settings: HistorySettings, _redis: Redis) -> AsyncIterator[Deps]:
    # Entries are packed bytes: a binary client of its own (the shared one decodes every reply as text).
    binary = Redis.from_url(settings.redis_url.get_secret_value(), decode_responses=False)
    try:
        yield Deps(
            store=HistoryStore(
                binary,
                retention=timedelta(days=settings.retention_days),
                max_per_room=settings.max_per_room,
            )
        )
    finally:
        await binary.aclose()


service: QunService[HistorySettings, Deps] = QunService(
    NAME,
    version="0.1.0",
    settings=HistorySettings,
    deps=open_deps,
    summary_zh="群聊记录：总结聊天、日报周报、没答上的问题",
    summary_en="Room history: summaries, daily and weekly reports, unanswered questions",
)
Ctx = Context[HistorySettings, Deps]
App = AppContext[HistorySettings, Deps]


async def _room_of(event: MessageReceived, ctx: Ctx) -> str | None:
    """The room id, or None after telling a direct message that this works in rooms only."""
    # TODO(lead): remove once ChatCommand(rooms_only=True) is honoured by the dispatcher.
    if event.room is None:
        await ctx.reply(replies.ROOMS_ONLY)
        return None
    return event.room.id


# -- keeping messages ----------------------------------------------------------------------------------------


@service.on(MessageReceived)
async def keep(event: MessageReceived, ctx: Ctx) -> None:
    """Every room message no command of this service matched (the bot's own never arrive here)."""
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
    room = await _room_of(event, ctx)
    if room is None:
        return
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
    room = await _room_of(event, ctx)
    if room is None:
        return
    count = await ctx.deps.store.forget_member(room, event.talker.id)
    await ctx.reply(fill(replies.FORGOTTEN, count=count) if count else replies.NOTHING_TO_FORGET)


# -- requests from other services ----------------------------------------------------------------------------


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


def _history_error(raw: dict[str, Any], error: str) -> HistoryPage:
    return HistoryPage(room_id=str(raw.get("room_id", "")), error=error)


# TODO(lead): once `@service.responds` is on main, replace this hook with
#   @service.responds(HistoryQuery) on answer_history (and UnansweredQuery on answer_unanswered).
@service.on_start
async def serve_requests(runtime: Runtime[HistorySettings, Deps]) -> None:
    connection = runtime.broker.connection
    app = runtime.context

    async def history(request: HistoryQuery) -> HistoryPage:
        return await answer_history(request, app)

    await responder.serve(connection, HistoryQuery, history, _history_error, queue=NAME)
