"""The tagger service: tag quoted messages, answer questions from them, browse and delete them.

Handlers translate chat into domain calls and replies; parsing lives in commands.py, retrieval in index.py,
browsing in browse.py, who may delete in deletion.py, storage in store.py, the per-replica index cache in
knowledge.py. Dates are read and shown in the room's time zone (`ctx.zone`).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from redis.asyncio import Redis

from schemas import ChatCommand, ContactRef, MessageReceived, QuestionUnanswered, SayText
from schemas.requests import UnansweredItem, UnansweredQuery
from services.shared import Bilingual, Context, Intent, QunService
from services.shared.text import normalize
from services.tagger import quota, replies
from services.tagger.browse import browse as browse_tags
from services.tagger.commands import (
    ParseError,
    keep_phrase_confidence,
    keywords_of,
    parse_browse,
    parse_delete,
    parse_faq_pair,
    parse_tag,
    question_of,
    tag_number,
)
from services.tagger.decision import DecisionModel, Verdict
from services.tagger.deletion import delete_tag
from services.tagger.dense import E5Embedder, Embedder, pack
from services.tagger.engine import shared_analysis
from services.tagger.index import Document, KnowledgeIndex
from services.tagger.knowledge import KnowledgeCache
from services.tagger.retrieval import passage_text
from services.tagger.settings import TaggerSettings
from services.tagger.sharing import KnowledgeBases
from services.tagger.store import NewTag, TagStore
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
    embedder: Embedder | None
    model: DecisionModel
    unprompted: UnpromptedRooms


@asynccontextmanager
async def open_deps(settings: TaggerSettings, redis: Redis) -> AsyncIterator[Deps]:
    # CC-CEDICT and jieba (~0.4 s from the start cache, ~3 s without) and the e5 model (~0.1 s) load at start, off
    # the event loop.
    analysis = await asyncio.to_thread(shared_analysis, override=settings.override_dictionary)
    embedder = (
        await asyncio.to_thread(
            E5Embedder, max_tokens=settings.embed_max_tokens, cache_size=settings.query_cache_size
        )
        if settings.dense
        else None
    )
    # jieba loads its dictionary once (~0.4 s with its cache file, ~1 s without), and the first Chinese question its
    # word-frequency table (~0.15 s): both at start, off the event loop, not on the first member's question.
    await asyncio.to_thread(analysis.analyzer.warm_up)
    await asyncio.to_thread(
        KnowledgeIndex([Document(id="warm-up", text="预热 warm up")], analysis).search, "预热 问题"
    )
    if embedder is not None:  # the engine's first inference allocates its buffers
        await asyncio.to_thread(embedder.passage, "预热 warm up")
    store = TagStore(redis)
    knowledge = KnowledgeCache(store, analysis, max_cached=settings.max_cached_rooms)
    # The rooms' indexes are built in the background: the replica takes questions meanwhile, and a question in a
    # room not built yet builds it (or waits for the build under way), reading the analyses stored with the tags.
    warming = asyncio.create_task(_warm(knowledge))
    try:
        yield Deps(
            store=store,
            knowledge=knowledge,
            bases=KnowledgeBases.from_config(settings.shared_rooms, settings.shared_rooms_file),
            embedder=embedder,
            model=DecisionModel.load(settings.decision_model_file),
            unprompted=UnpromptedRooms(redis),
        )
    finally:
        warming.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await warming


async def _warm(knowledge: KnowledgeCache) -> None:
    try:
        started = time.perf_counter()
        warmed = await knowledge.warm()
        log.info(
            "tagger: %d knowledge base index(es) built from Redis in %.1f s",
            warmed,
            time.perf_counter() - started,
        )
    except Exception:  # a room that fails now is built on its first question (and fails there, visibly)
        log.exception("tagger: warming the knowledge base indexes failed")


service: QunService[TaggerSettings, Deps] = QunService(
    NAME,
    version="0.1.0",
    settings=TaggerSettings,
    deps=open_deps,
    title_zh="群记忆",
    title_en="memory",
    publishes=(SayText, QuestionUnanswered, UnansweredQuery),
    summary_zh="群记忆：引用消息标记保存，回答大家的问题",
    summary_en="The group's memory: keeps quoted messages, answers questions from them",
)
Ctx = Context[TaggerSettings, Deps]


async def _say(ctx: Ctx, reply: Bilingual, *, mention: str | None = None) -> None:
    await ctx.reply(reply, mention_ids=[mention] if mention else [])


@service.command(
    ChatCommand(
        name="tag",
        keywords_zh=["标记"],
        keywords_en=["tag", "#"],
        usage_zh="引用一条消息，@我 标记 [关键词] [有效期 3天]（或「记一下」）；管理员：标记 <没答上的问题编号>",
        usage_en="quote a message, @me tag [keywords] [for 3 days] (or 'save this'); admins: tag <unanswered no.>",
        rooms_only=True,
    )
)
async def tag(event: MessageReceived, ctx: Ctx, args: str) -> None:
    assert event.room is not None  # rooms_only
    if event.quote is None or not event.quote.text.strip():
        number = tag_number(args)
        if number is not None and await ctx.is_admin():
            await _tag_unanswered(event, ctx, number)
        else:
            await _say(ctx, replies.NEED_QUOTE)
        return
    request = parse_tag(args, ctx.now(), ctx.zone)
    if isinstance(request, ParseError):
        await ctx.reply(request)
        return
    quote = event.quote
    verified = quote.verified and quote.talker_id is not None
    tagger_name = event.talker.alias or event.talker.name
    await _store_tag(
        event,
        ctx,
        NewTag(
            text=quote.text,
            # An unverified quote is anyone's typing: it is the tagger's, never the named person's.
            author_name=quote.talker_name if verified else tagger_name,
            author_id=quote.talker_id if verified else None,
            verified=verified,
            room_id=event.room.id,
            tagger_id=event.talker.id,
            tagger_name=tagger_name,
            keywords=request.keywords,
            expires_at=request.expires_at,
            event_id=event.id,
        ),
    )


async def _store_tag(event: MessageReceived, ctx: Ctx, new: NewTag) -> None:
    assert event.room is not None
    kb = ctx.deps.bases.for_room(event.room.id)
    now = ctx.now()
    snapshot = await ctx.deps.knowledge.snapshot(kb, now)
    over = quota.check(
        snapshot.counts,
        text=new.text,
        tagger_id=event.talker.id,
        per_room=ctx.settings.max_tags_per_room,
        per_member=ctx.settings.max_tags_per_member,
    )
    if over is not None:
        await _say(
            ctx, replies.quota_member(over.limit) if over.per_member else replies.quota_room(over.limit)
        )
        return
    embedder = ctx.deps.embedder
    # Once, when tagged, stored with the tag: its analysis (so no replica makes it again) and its e5 vector.
    doc = Document(id="", text=new.text, keywords=new.keywords, questions=new.questions)
    new = dataclasses.replace(new, analysis=await asyncio.to_thread(ctx.deps.knowledge.stored_analysis, doc))
    if embedder is not None:
        vector = await asyncio.to_thread(embedder.passage, passage_text(new.text, new.keywords))
        new = dataclasses.replace(new, vector=pack(vector))
    saved = await ctx.deps.store.save(kb, new, now)
    await _say(ctx, replies.tagged(saved.record, created=saved.created, zone=ctx.zone))


async def _tag_unanswered(event: MessageReceived, ctx: Ctx, number: int) -> None:
    """`标记 2` (admins): the history service's unanswered question 2 and the answer chosen for it become a tag."""
    assert event.room is not None
    try:
        item = await ctx.request(
            ctx.bot_id,
            UnansweredQuery(room_id=event.room.id, number=number),
            timeout=ctx.settings.history_timeout_s,
        )
    except TimeoutError:
        await _say(ctx, replies.HISTORY_DOWN)
        return
    if not isinstance(item, UnansweredItem) or item.error or item.answer is None:
        await _say(ctx, replies.no_unanswered(number))
        return
    answer = item.answer
    await _store_tag(
        event,
        ctx,
        NewTag(
            text=answer.text,
            author_name=answer.talker.name,
            author_id=answer.talker.id,  # history knows who said it by id: verified
            verified=True,
            room_id=event.room.id,
            tagger_id=event.talker.id,
            tagger_name=event.talker.alias or event.talker.name,
            keywords=keywords_of(item.question)[:5],
            questions=(item.question,) if item.question else (),
            event_id=event.id,
        ),
    )


@service.command(
    ChatCommand(
        name="addfaq",
        keywords_zh=["添加问答"],
        keywords_en=["add faq"],
        usage_zh="@我 添加问答 问：<问题> 答：<答案>（管理员）",
        usage_en="@me add faq Q: <question> A: <answer> (admins)",
        admin_only=True,
        rooms_only=True,
    )
)
async def add_faq(event: MessageReceived, ctx: Ctx, args: str) -> None:
    assert event.room is not None  # rooms_only: the dispatcher answered a direct message
    pair = parse_faq_pair(args)
    if pair is None:
        await _say(ctx, replies.FAQ_USAGE)
        return
    question, answer = pair
    name = event.talker.alias or event.talker.name
    await _store_tag(
        event,
        ctx,
        NewTag(
            text=answer,
            author_name=name,
            author_id=event.talker.id,
            verified=True,
            room_id=event.room.id,
            tagger_id=event.talker.id,
            tagger_name=name,
            questions=(question,),
            event_id=event.id,
        ),
    )


@service.command(
    ChatCommand(
        name="ask",
        keywords_zh=["问"],
        keywords_en=["ask", "?"],
        usage_zh="@我 问 <问题>（或直接 @我 <问题>）",
        usage_en="@me ask <question> (or just @me <question>)",
        rooms_only=True,
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
        rooms_only=True,
    )
)
async def browse(event: MessageReceived, ctx: Ctx, args: str) -> None:
    assert event.room is not None  # rooms_only
    now = ctx.now()
    request = parse_browse(args, now, ctx.zone)
    if isinstance(request, ParseError):
        await ctx.reply(request)
        return
    kb = ctx.deps.bases.for_room(event.room.id)
    await ctx.deps.store.sweep(kb, now)
    result = browse_tags(await ctx.deps.store.all(kb), request, now, ctx.settings.page_size)
    await _say(ctx, replies.browsed(result, ctx.zone))


@service.command(
    ChatCommand(
        name="delete",
        keywords_zh=["删除"],
        keywords_en=["delete"],
        usage_zh="@我 删除 <编号>（标记人、原作者或管理员）",
        usage_en="@me delete <id> (whoever tagged it, its author, or an admin)",
        rooms_only=True,
    )
)
async def delete(event: MessageReceived, ctx: Ctx, args: str) -> None:
    assert event.room is not None  # rooms_only: the dispatcher answered a direct message
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
        rooms_only=True,
    )
)
async def autoanswer(event: MessageReceived, ctx: Ctx, args: str) -> None:
    assert event.room is not None  # rooms_only: the dispatcher answered a direct message
    choice = normalize(args)
    if choice not in _SWITCH_ON | _SWITCH_OFF:
        await _say(ctx, replies.UNPROMPTED_USAGE)
        return
    enabled = choice in _SWITCH_ON
    await ctx.deps.unprompted.switch(event.room.id, enabled=enabled)
    await _say(ctx, replies.unprompted_switched(enabled=enabled))


@service.on(MessageReceived)
async def plain_message(event: MessageReceived, ctx: Ctx) -> None:
    """Chatter nobody addressed to the bot: answered only in auto-answer rooms, only when sure."""
    body = event.body.strip()
    if event.room is None or event.mentions_bot or not body or event.type != "text":
        return
    if _QUESTION_SHAPE.search(body) and await ctx.deps.unprompted.enabled(event.room.id):
        await _answer(event, ctx, body, unprompted=True, explicit=False)


@service.recogniser("tag")
def recognise_keep(event: MessageReceived, ctx: Ctx) -> Intent | None:
    """`@bot 记一下` / `帮我记住` / `收藏这条` / `save this` with a quote: a request to tag it."""
    quoted = event.quote is not None and bool(event.quote.text.strip())
    confidence = keep_phrase_confidence(event.body, quoted=quoted)
    return Intent(confidence) if confidence > 0 else None


def _is_question(event: MessageReceived, ctx: Ctx) -> bool:
    return event.type == "text" and ctx.deps.knowledge.has_content(event.body.strip())


@service.fallback(rank=10, rooms_only=True, accepts=_is_question, speculative=True)
async def answer_addressed(event: MessageReceived, ctx: Ctx) -> None:
    """`@bot <question>` without 问: whatever no other service recognised, answered from the room's memory."""
    await _answer(event, ctx, event.body.strip(), unprompted=False, explicit=False)


async def _answer(
    event: MessageReceived, ctx: Ctx, question: str, *, unprompted: bool, explicit: bool
) -> None:
    assert event.room is not None  # rooms_only: the dispatcher answered a direct message
    if not ctx.deps.knowledge.has_content(question):
        if explicit:  # "问" alone, or "ask the"
            await _say(ctx, replies.EMPTY_QUESTION)
        return  # "@bot 谢谢" / "@bot hi" is no question: no "I don't know" for it
    result = await ctx.deps.knowledge.ask(
        ctx.deps.bases.for_room(event.room.id),
        question,
        ctx.now(),
        ctx.deps.model,
        embedder=ctx.deps.embedder,
        unprompted=unprompted,
    )
    verdict = result.decision.verdict
    if verdict is Verdict.ANSWER and result.records:
        await _say(ctx, replies.answer(result.records[0], ctx.zone), mention=event.talker.id)
    elif unprompted:
        return  # nobody asked the bot: stay quiet unless sure
    elif verdict is Verdict.SUGGEST and result.records:
        near = ctx.deps.knowledge.words(question)
        await _say(ctx, replies.suggestions(result.records, near), mention=event.talker.id)
    else:
        await _say(ctx, replies.UNKNOWN)
        await _report_unanswered(event, ctx, question)


async def _report_unanswered(event: MessageReceived, ctx: Ctx, question: str) -> None:
    """An addressed question the bot could not answer: the history service collects these (QuestionUnanswered)."""
    await ctx.emit(
        QuestionUnanswered(
            id=f"unanswered-{event.id}",
            bot_id=event.bot_id,
            timestamp=event.timestamp,
            question_id=event.id,
            room=event.room,
            asker=ContactRef(id=event.talker.id, name=event.talker.alias or event.talker.name),
            question=question,
            lang=ctx.lang,
        )
    )
