"""What github-sync does with a chat message, a webhook delivery, or a due write. Handlers in app.py only
route here; everything below works on the plumbing's Context / AppContext."""

from __future__ import annotations

import logging
import uuid
from typing import TypeAlias

from schemas import HistoryPage, HistoryQuery, MessageReceived, Room
from services.github_sync import metrics, replies
from services.github_sync.categories import ALL_CATEGORIES, parse_categories
from services.github_sync.comments import ReplyRequest, render_comment, reply_to_notice
from services.github_sync.deps import Deps
from services.github_sync.digest import digest_id, digest_text, held_notice
from services.github_sync.notices import NoticeRef
from services.github_sync.outbox import Attempt, Status
from services.github_sync.repos import RepoName
from services.github_sync.settings import GithubSyncSettings
from services.github_sync.transcript import TranscriptRequest, make_title, render_body, transcript_messages
from services.github_sync.triggers import IssueTrigger, parse_trigger
from services.github_sync.webhook import Verdict
from services.github_sync.writes import NewComment, NewIssue, PendingWrite
from services.shared import AppContext, Bilingual, Context
from services.shared.commands import Lang
from services.shared.text import normalize

Ctx: TypeAlias = Context[GithubSyncSettings, Deps]
App: TypeAlias = AppContext[GithubSyncSettings, Deps]

log = logging.getLogger("qunbus.github-sync")
_SAY_IDS = uuid.UUID("3b0c7f1e-9a4d-4f0e-8f37-6c2d1e5a9b10")


async def _reply(ctx: Ctx, text: Bilingual) -> None:
    await ctx.reply(text)


# --- every room message -------------------------------------------------------------------------------------


async def observe(event: MessageReceived, ctx: Ctx) -> None:
    """A room message no command matched: maybe a trigger (`以上5条开工单`, `issue last 5`)."""
    if event.room is None:
        return  # direct messages: the commands' `rooms_only` answers them
    trigger = parse_trigger(event.body, mentions_bot=event.mentions_bot, aliases=ctx.deps.aliases)
    if trigger is not None:
        await ctx.deps.room_bots.seen(event.room.id, ctx.bot_id)
        await open_issue(event, event.room, ctx, trigger)
        return
    # From memory after the room's first message; a room that follows nothing gets no notice: no Redis at all.
    if await ctx.deps.bindings.follows_anything(event.room.id):
        await ctx.deps.room_bots.seen(event.room.id, ctx.bot_id)  # written once a minute at most


# --- chat → issue -------------------------------------------------------------------------------------------


async def open_issue(event: MessageReceived, room: Room, ctx: Ctx, trigger: IssueTrigger) -> None:
    repo = await _target_repo(room, ctx, trigger)
    if repo is None:
        return
    page = await _history(event, room, ctx, trigger.count)
    if page is None:
        return
    messages = transcript_messages(page.messages, count=trigger.count, bot_id=ctx.bot_id, trigger_id=event.id)
    if not messages:
        await _reply(ctx, replies.NOTHING_RECORDED)
        return
    request = TranscriptRequest(
        room_id=room.id,
        room_topic=room.topic,
        requested_by=event.talker.name,
        timezone=ctx.zone,  # the room's own zone: its members read these times
        lang=ctx.lang,
    )
    job = NewIssue(
        repo=repo.full_name,
        title=make_title(trigger.title, messages),
        body=render_body(messages, request),
        label_words=trigger.label_words,
        aliases=ctx.deps.aliases,
    )
    # Told first, stored second: the loop's result can then never arrive before this.
    await _reply(ctx, replies.filing(repo, len(messages), capped=trigger.count_capped))
    await _submit(event, room, ctx, job)


async def _history(event: MessageReceived, room: Room, ctx: Ctx, count: int) -> HistoryPage | None:
    """The room's latest messages up to the trigger, from the history service; None after telling the member why
    there are none. One more than asked: the trigger itself may be among them."""
    query = HistoryQuery(room_id=room.id, until=event.timestamp, last=True, limit=min(count + 1, 2000))
    try:
        page = await ctx.request(ctx.bot_id, query, timeout=ctx.settings.history_timeout_s)
    except TimeoutError:
        log.warning("no answer from the history service for room %s", room.id)
        await _reply(ctx, replies.HISTORY_UNAVAILABLE)
        return None
    assert isinstance(page, HistoryPage)
    if page.error:
        log.warning("the history service could not answer for room %s: %s", room.id, page.error)
        await _reply(ctx, replies.HISTORY_UNAVAILABLE)
        return None
    if not page.recording:
        await _reply(ctx, replies.NO_HISTORY)
        return None
    return page


async def _target_repo(room: Room, ctx: Ctx, trigger: IssueTrigger) -> RepoName | None:
    """The repository to file in, or None after telling the member why there is none."""
    bound = await ctx.deps.bindings.for_room(room.id)
    if trigger.repo is not None:
        if bound.find(trigger.repo) or await ctx.deps.bindings.covers(room.id, trigger.repo):
            return bound.find(trigger.repo) or trigger.repo
        await _reply(ctx, replies.repo_not_bound(trigger.repo))
        return None
    if len(bound.repos) == 1 and not bound.globs:
        return bound.repos[0]
    await _reply(ctx, replies.NOT_BOUND if bound.is_empty else replies.which_repo(bound.repos, bound.globs))
    return None


# --- chat → comment -----------------------------------------------------------------------------------------


def _reply_request(event: MessageReceived) -> ReplyRequest | None:
    return reply_to_notice(event.quote.text if event.quote else None, event.body)


async def is_reply_to_notice(event: MessageReceived, ctx: Ctx) -> bool:
    """The recogniser's question: a room message quoting a notice this room was sent, with something to say."""
    reply = _reply_request(event)
    return event.room is not None and reply is not None and await is_answerable(event, event.room, ctx, reply)


async def comment(event: MessageReceived, room: Room, ctx: Ctx) -> None:
    """Quote a notice + @bot: the reply becomes a comment on the issue or pull request."""
    reply = _reply_request(event)
    if reply is None or not await is_answerable(event, room, ctx, reply):
        return  # the recogniser said yes a moment ago; the notice's memory just ran out
    if ctx.settings.commenters == "admins" and not await ctx.is_admin():
        # Decided by contact id: a borrowed name or alias gains nothing.
        await _reply(ctx, replies.COMMENT_ADMINS_ONLY)
        return
    body = render_comment(
        reply.text,
        author=event.talker.name,
        author_id=event.talker.id,
        room_topic=room.topic,
        room_id=room.id,
        lang=ctx.lang,
    )
    job = NewComment(repo=reply.ref.repo.full_name, number=reply.ref.number, body=body)
    await _submit(event, room, ctx, job)  # the loop answers once it is posted


async def is_answerable(event: MessageReceived, room: Room, ctx: Ctx, reply: ReplyRequest) -> bool:
    """The quote is a notice the bot posted in this room, about an item of a repository the room still follows.
    A quote the gateway verified must be the bot's own message (by contact id); any quote must name an item the
    bot announced here (typed quotes can be forged, but only to answer what could be answered anyway)."""
    quote = event.quote
    if quote is not None and quote.verified and quote.talker_id is not None and quote.talker_id != ctx.bot_id:
        return False  # somebody else's message that merely looks like a notice
    if not await ctx.deps.announced.was_announced(room.id, reply.ref):
        return False
    return await ctx.deps.bindings.covers(room.id, reply.ref.repo)


# --- the write itself, through the outbox -------------------------------------------------------------------


async def _submit(event: MessageReceived, room: Room, ctx: Ctx, job: NewIssue | NewComment) -> None:
    """Store the write for the background loop. GitHub is never called here: its calls may take a minute
    (timeouts times retries), and this room's messages, and the replica's batch, would wait behind them."""
    write = PendingWrite(
        id=event.id,
        bot_id=ctx.bot_id,
        room_id=room.id,
        requester_id=event.talker.id,
        lang=ctx.lang,
        requested_at=event.timestamp,
        job=job,
    )
    await ctx.deps.outbox.submit(write, now=ctx.now())


async def drain_outbox_once(app: App) -> int:
    """Attempt every due write; tell its room how it went. Returns how many were attempted."""
    outbox = app.deps.outbox
    due = await outbox.due(now=app.now())
    metrics.OUTBOX_PENDING.set(await outbox.size())
    for write_id in due:
        attempt = await outbox.attempt(write_id, app.deps.tracker, now=app.now())
        if attempt is not None and attempt.status is Status.DELAYED:
            await _announce(app, attempt)
    # Outcomes, including any a failed post left behind; the command id makes a repeated post a duplicate.
    for finished in await outbox.unannounced():
        await _announce(app, finished)
        await outbox.announced(finished.write.id)
    return len(due)


def _result_text(attempt: Attempt) -> tuple[str, Bilingual] | None:
    """(what the message stands for, its text) for the room, or None when there is nothing new to say."""
    write, done = attempt.write, attempt.done
    if attempt.status is Status.DELAYED:
        return ("delayed", replies.DELAYED) if attempt.first_delay else None
    if done is None:  # BUSY: the replica holding the lock will report
        return None
    if attempt.status is Status.REJECTED:
        return "result", replies.rejected(done)
    job = write.job
    if write.attempts > 0:  # the room was told it is delayed: say which request this answers
        return "result", replies.delayed_done(done, is_comment=isinstance(job, NewComment))
    if isinstance(job, NewComment):
        return "result", replies.comment_posted(RepoName.parse(job.repo), job.number)
    return "result", replies.issue_created(done)


async def _announce(app: App, attempt: Attempt) -> None:
    said = _result_text(attempt)
    if said is None:
        return
    what, text = said
    write = attempt.write
    await app.say_to(
        write.bot_id,
        room_id=write.room_id,
        text=text,
        lang=write.lang,
        mention_ids=[write.requester_id],
        # One message per request and purpose: a retry after a crash, or another replica, repeats the id.
        command_id=uuid.uuid5(_SAY_IDS, f"outbox/{write.id}/{what}").hex,
    )


# --- GitHub → chat ------------------------------------------------------------------------------------------


async def post_notices(app: App, verdict: Verdict) -> None:
    """Each room's notice goes out now if its hourly budget allows, else it waits for the room's digest."""
    for room_notice in verdict.notices:
        room_id, notice = room_notice.room_id, room_notice.notice
        speaker = await _speaker(app, room_id)
        if speaker is None:
            continue
        bot_id, lang = speaker
        held = held_notice(verdict.delivery_id or "", notice)
        if not await app.deps.budget.admit(room_id, held, now=app.now()):
            continue  # the digest will tell
        await app.say_to(
            bot_id,
            room_id=room_id,
            text=Bilingual(zh=notice.zh, en=notice.en),
            lang=lang,
            command_id=uuid.uuid5(_SAY_IDS, f"webhook/{verdict.delivery_id}/{room_id}").hex,
            priority="notice",
            deadline=app.now() + app.settings.notice_max_late,
        )
        if notice.number is not None:  # only these can be quoted and answered (releases cannot)
            await app.deps.announced.remember(room_id, NoticeRef(repo=notice.repo, number=notice.number))


async def _speaker(app: App, room_id: str) -> tuple[str, Lang] | None:
    """The bot that speaks in the room and the room's language, or None when nobody should be told there."""
    prefs = await app.room(room_id)
    if app.service in prefs.disabled_services:
        return None
    bot_id = await app.deps.room_bots.bot_for(room_id)
    if bot_id is None:
        log.warning("no bot seen in room %s yet: GitHub notice not posted", room_id)
        return None
    return bot_id, prefs.lang or "zh"


async def send_digests_once(app: App) -> int:
    """Send the digests that are due (end of a burst, or the hour's budget renewed). Returns how many."""
    budget, sent = app.deps.budget, 0
    for room_id in await budget.due(now=app.now()):
        token = await budget.lock(room_id)
        if token is None:
            continue  # another replica is sending it
        try:
            sent += await _send_digest(app, room_id)
        finally:
            await budget.unlock(room_id, token)
    return sent


async def _send_digest(app: App, room_id: str) -> int:
    budget = app.deps.budget
    held = await budget.held(room_id)
    speaker = await _speaker(app, room_id) if held.total else None
    if speaker is None:
        await budget.drop(room_id)
        return 0
    bot_id, lang = speaker
    digest = digest_id(room_id, held)
    await app.say_to(
        bot_id,
        room_id=room_id,
        text=digest_text(held),
        lang=lang,
        command_id=digest,
        priority="notice",
        deadline=app.now() + app.settings.notice_max_late,
    )
    await budget.digest_sent(room_id, held, digest, now=app.now())
    return 1


# --- admin commands -----------------------------------------------------------------------------------------


def _first_repo(args: str) -> RepoName | None:
    words = args.split(maxsplit=1)
    return RepoName.try_parse(words[0]) if words else None


async def bind(room: Room, ctx: Ctx, args: str) -> None:
    repo = _first_repo(args)
    if repo is None:
        await _reply(ctx, replies.BIND_USAGE)
        return
    if not ctx.deps.bindings.may_bind_in_chat(repo):
        await _reply(ctx, replies.bind_not_allowed(repo, any_allowed=bool(ctx.deps.config.allow)))
        return
    await _reply(ctx, replies.bound(repo, new=await ctx.deps.bindings.bind(room.id, repo)))


async def unbind(room: Room, ctx: Ctx, args: str) -> None:
    repo = _first_repo(args)
    if repo is None:
        await _reply(ctx, replies.UNBIND_USAGE)
        return
    await _reply(ctx, replies.unbound(repo, existed=await ctx.deps.bindings.unbind(room.id, repo)))


_ALL = {"all", "全部", "所有"}


async def room_settings(room: Room, ctx: Ctx, args: str) -> None:
    """`github` shows the room's settings; `github notify ...` changes them."""
    words = normalize(args).split()
    if words and words[0] in {"history", "记录"}:
        await _reply(ctx, replies.HISTORY_MOVED)  # the one history is the history service's: its switch too
        return
    if words and not await ctx.is_admin():
        await _reply(ctx, replies.ADMIN_ONLY)
        return
    if len(words) >= 2 and words[0] in {"notify", "通知"}:
        chosen, unknown = (ALL_CATEGORIES, []) if words[1] in _ALL else parse_categories(words[1:])
        if chosen:
            await ctx.deps.bindings.choose_categories(room.id, chosen)
            await _reply(ctx, replies.notices_chosen(chosen, unknown))
            return
    bound = await ctx.deps.bindings.for_room(room.id)
    categories = await ctx.deps.bindings.chosen_categories(room.id) or ALL_CATEGORIES
    await _reply(ctx, replies.status(bound.repos, bound.globs, categories, await _recording(room, ctx)))


async def _recording(room: Room, ctx: Ctx) -> bool | None:
    """Whether the history service keeps this room's messages; None when it does not answer."""
    query = HistoryQuery(room_id=room.id, limit=1, last=True)
    try:
        page = await ctx.request(ctx.bot_id, query, timeout=ctx.settings.history_timeout_s)
    except TimeoutError:
        return None
    return page.recording if isinstance(page, HistoryPage) and not page.error else None
