"""The tagger service: tag quoted messages, answer questions from them, browse and delete them.

Handlers translate chat into domain calls and replies; parsing lives in commands.py, retrieval in index.py,
browsing in browse.py, who may delete in deletion.py, storage in store.py, the per-replica index cache in
knowledge.py. Dates are read and shown in the room's time zone (`ctx.zone`).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from redis.asyncio import Redis

from schemas import ChatCommand, MessageReceived
from services.shared import AppContext, Bilingual, Context, QunService
from services.shared.commands import match_command
from services.tagger import replies
from services.tagger.browse import browse as browse_tags
from services.tagger.commands import ParseError, parse_browse, parse_delete, parse_tag, question_of
from services.tagger.decision import Verdict
from services.tagger.deletion import delete_tag
from services.tagger.engine import shared_analysis
from services.tagger.index import Document, KnowledgeIndex
from services.tagger.knowledge import KnowledgeCache
from services.tagger.reranker import Reranker, load_reranker
from services.tagger.settings import TaggerSettings
from services.tagger.sharing import KnowledgeBases
from services.tagger.store import NewTag, TagStore
from services.tagger.text import normalize
from services.tagger.unprompted import UnpromptedRooms

log = logging.getLogger("qunbus.tagger")

NAME = "tagger"
_SWITCH_ON = frozenset({"开", "开启", "打开", "on"})
_SWITCH_OFF = frozenset({"关", "关闭", "off"})
# What an unprompted message must look like before the tagger even looks it up (auto-answer rooms only).
_QUESTION_SHAPE = re.compile(
    r"[?？]\s*$|吗\s*$|呢\s*$|^(?:请问|有没有|有谁|谁知道|怎么|如何|哪里|什么时候|几点)|"
    r"^(?:how|what|where|when|who|which|why|is there|are there|does|do|can)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Deps:
    store: TagStore
    knowledge: KnowledgeCache
    bases: KnowledgeBases
    reranker: Reranker | None
    unprompted: UnpromptedRooms


@asynccontextmanager
async def open_deps(settings: TaggerSettings, redis: Redis) -> AsyncIterator[Deps]:
    analysis = shared_analysis()
    # jieba loads its dictionary once (~0.4 s with its cache file, ~1 s without), and the first Chinese question its
    # word-frequency table (~0.15 s): both at start, off the event loop, not on the first member's question.
    await asyncio.to_thread(analysis.analyzer.warm_up)
    await asyncio.to_thread(
        KnowledgeIndex([Document(id="warm-up", text="预热 warm up")], analysis).search, "预热 问题"
    )
    store = TagStore(redis)
    knowledge = KnowledgeCache(store, analysis, max_cached=settings.max_cached_rooms)
    warmed = await knowledge.warm()
    log.info("tagger: %d knowledge base index(es) rebuilt from Redis", warmed)
    yield Deps(
        store=store,
        knowledge=knowledge,
        bases=KnowledgeBases.from_config(settings.shared_rooms, settings.shared_rooms_file),
        reranker=load_reranker(settings.reranker),
        unprompted=UnpromptedRooms(store, redis),
    )


service: QunService[TaggerSettings, Deps] = QunService(
    NAME,
    version="0.1.0",
    settings=TaggerSettings,
    deps=open_deps,
    summary_zh="群记忆：引用消息标记保存，回答大家的问题",
    summary_en="The group's memory: keeps quoted messages, answers questions from them",
)
Ctx = Context[TaggerSettings, Deps]


@service.background
async def keep_unprompted_rooms_fresh(app: AppContext[TaggerSettings, Deps]) -> None:
    await app.deps.unprompted.listen()


async def _say(ctx: Ctx, reply: Bilingual, *, mention: str | None = None) -> None:
    await ctx.reply(reply, mention_ids=[mention] if mention else [])


@service.command(
    ChatCommand(
        name="tag",
        keywords_zh=["标记"],
        keywords_en=["tag", "#"],
        usage_zh="引用一条消息，@我 标记 [关键词] [有效期 3天]，或 @我 #关键词",
        usage_en="quote a message, @me tag [keywords] [for 3 days], or @me #keyword",
    )
)
async def tag(event: MessageReceived, ctx: Ctx, args: str) -> None:
    if event.room is None:
        await _say(ctx, replies.ROOMS_ONLY)
        return
    if event.quote is None or not event.quote.text.strip():
        await _say(ctx, replies.NEED_QUOTE)
        return
    request = parse_tag(args, ctx.now(), ctx.zone)
    if isinstance(request, ParseError):
        await ctx.reply(request)
        return
    saved = await ctx.deps.store.save(
        ctx.deps.bases.for_room(event.room.id),
        NewTag(
            text=event.quote.text,
            author_name=event.quote.talker_name,
            room_id=event.room.id,
            tagger_id=event.talker.id,
            tagger_name=event.talker.alias or event.talker.name,
            keywords=request.keywords,
            expires_at=request.expires_at,
            event_id=event.id,
        ),
        ctx.now(),
    )
    await _say(ctx, replies.tagged(saved.record, created=saved.created, zone=ctx.zone))


@service.command(
    ChatCommand(
        name="ask",
        keywords_zh=["问"],
        keywords_en=["ask", "?"],
        usage_zh="@我 问 <问题>（或直接 @我 <问题>）",
        usage_en="@me ask <question> (or just @me <question>)",
    )
)
async def ask(event: MessageReceived, ctx: Ctx, args: str) -> None:
    await _answer(event, ctx, question_of(args, event.body), unprompted=False, explicit=True)


@service.command(
    ChatCommand(
        name="browse",
        keywords_zh=["浏览"],
        keywords_en=["tags"],
        usage_zh="@我 浏览 [页码 | 关键词 | 最近7天 | 2026-11-01 2026-11-30]",
        usage_en="@me tags [page | keyword | last 7 days | 2026-11-01 2026-11-30]",
    )
)
async def browse(event: MessageReceived, ctx: Ctx, args: str) -> None:
    if event.room is None:
        await _say(ctx, replies.ROOMS_ONLY)
        return
    now = ctx.now()
    request = parse_browse(args, now, ctx.zone)
    if isinstance(request, ParseError):
        await ctx.reply(request)
        return
    snapshot = await ctx.deps.knowledge.snapshot(ctx.deps.bases.for_room(event.room.id), now)
    result = browse_tags(snapshot.records.values(), request, now, ctx.settings.page_size)
    await _say(ctx, replies.browsed(result, ctx.zone))


@service.command(
    ChatCommand(
        name="delete",
        keywords_zh=["删除"],
        keywords_en=["delete"],
        usage_zh="@我 删除 <编号>（标记人、原作者或管理员）",
        usage_en="@me delete <id> (whoever tagged it, its author, or an admin)",
    )
)
async def delete(event: MessageReceived, ctx: Ctx, args: str) -> None:
    if event.room is None:
        await _say(ctx, replies.ROOMS_ONLY)
        return
    tag_id = parse_delete(args)
    if isinstance(tag_id, ParseError):
        await ctx.reply(tag_id)
        return
    outcome = await delete_tag(
        ctx.deps.store,
        ctx.deps.bases.for_room(event.room.id),
        tag_id,
        requester=event.talker,
        event_id=event.id,
        now=ctx.now(),
        is_admin=ctx.is_admin,
    )
    await _say(ctx, replies.delete_outcome(outcome))


@service.command(
    ChatCommand(
        name="autoanswer",
        keywords_zh=["自动回答"],
        keywords_en=["autoanswer"],
        usage_zh="@我 自动回答 开|关：没 @我 的问题也回答（仅在很有把握时）",
        usage_en="@me autoanswer on|off: also answer questions not addressed to me (only when confident)",
        admin_only=True,
    )
)
async def autoanswer(event: MessageReceived, ctx: Ctx, args: str) -> None:
    if event.room is None:
        await _say(ctx, replies.ROOMS_ONLY)
        return
    choice = normalize(args)
    if choice not in _SWITCH_ON | _SWITCH_OFF:
        await _say(ctx, replies.UNPROMPTED_USAGE)
        return
    enabled = choice in _SWITCH_ON
    await ctx.deps.unprompted.switch(event.room.id, enabled=enabled)
    await _say(ctx, replies.unprompted_switched(enabled=enabled))


@service.on(MessageReceived)
async def plain_message(event: MessageReceived, ctx: Ctx) -> None:
    """A message none of the tagger's keywords matched: maybe a plain question to the bot, maybe chatter."""
    body = event.body.strip()
    if event.room is None or not body or event.type != "text":
        return
    if event.mentions_bot:
        if event.quote is not None:
            return  # quoting and @-ing without a tag keyword is not ours: other services use that gesture
        if await _another_service_command(ctx, body):
            return
        await _answer(event, ctx, body, unprompted=False, explicit=False)
    elif _QUESTION_SHAPE.search(body) and await ctx.deps.unprompted.enabled(event.room.id):
        await _answer(event, ctx, body, unprompted=True, explicit=False)


async def _another_service_command(ctx: Ctx, body: str) -> bool:
    infos = await ctx.discover(ctx.settings.discover_cache_s)
    others = [command for info in infos if info.name != NAME for command in info.commands]
    return match_command(body, others) is not None


async def _answer(
    event: MessageReceived, ctx: Ctx, question: str, *, unprompted: bool, explicit: bool
) -> None:
    if event.room is None:
        await _say(ctx, replies.ROOMS_ONLY)
        return
    if not ctx.deps.knowledge.has_content(question):
        if explicit:  # "问" alone, or "ask the"
            await _say(ctx, replies.EMPTY_QUESTION)
        return  # "@bot 谢谢" / "@bot hi" is no question: no "I don't know" for it
    result = await ctx.deps.knowledge.ask(
        ctx.deps.bases.for_room(event.room.id),
        question,
        ctx.now(),
        ctx.settings.thresholds,
        unprompted=unprompted,
        reranker=ctx.deps.reranker,
    )
    verdict = result.decision.verdict
    if verdict is Verdict.ANSWER:
        await _say(ctx, replies.answer(result.records[0]), mention=event.talker.id)
    elif unprompted:
        return  # nobody asked the bot: stay quiet unless sure
    elif verdict is Verdict.SUGGEST:
        await _say(ctx, replies.suggestions(result.records), mention=event.talker.id)
    else:
        await _say(ctx, replies.UNKNOWN)
