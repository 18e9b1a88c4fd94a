"""What github-sync does with a chat message, a webhook delivery, or a due write. Handlers in app.py only
route here; everything below works on the plumbing's Context / AppContext."""

from __future__ import annotations

import logging
import uuid
from typing import TypeAlias

from schemas import MessageReceived, Room
from services.github_sync import metrics, replies
from services.github_sync.categories import ALL_CATEGORIES, parse_categories
from services.github_sync.comments import ReplyRequest, render_comment, reply_to_notice
from services.github_sync.deps import Deps
from services.github_sync.history import HistoryEntry
from services.github_sync.outbox import Attempt, Status
from services.github_sync.repos import RepoName
from services.github_sync.settings import GithubSyncSettings
from services.github_sync.transcript import TranscriptRequest, make_title, render_body, transcript_entries
from services.github_sync.triggers import IssueTrigger, parse_trigger
from services.github_sync.webhook import Verdict
from services.github_sync.writes import NewComment, NewIssue, PendingWrite
from services.shared import AppContext, Context

Ctx: TypeAlias = Context[GithubSyncSettings, Deps]
App: TypeAlias = AppContext[GithubSyncSettings, Deps]

log = logging.getLogger("qunbus.github-sync")
_SAY_IDS = uuid.UUID("3b0c7f1e-9a4d-4f0e-8f37-6c2d1e5a9b10")


async def _reply(ctx: Ctx, text: replies.Text, *, mention: bool = False) -> None:
    talker = ctx.event.talker.id if isinstance(ctx.event, MessageReceived) else None
    await ctx.reply(zh=text.zh, en=text.en, mention_ids=[talker] if mention and talker else [])


# --- every room message -------------------------------------------------------------------------------------


async def observe(event: MessageReceived, ctx: Ctx) -> None:
    """A message no command matched: maybe a trigger, maybe a reply to a notice; otherwise history."""
    if event.room is None:
        if parse_trigger(event.body, mentions_bot=True, aliases=ctx.deps.aliases) is not None:
            await _reply(ctx, replies.ROOM_ONLY)
        return
    await ctx.deps.room_bots.seen(event.room.id, ctx.bot_id)
    trigger = parse_trigger(event.body, mentions_bot=event.mentions_bot, aliases=ctx.deps.aliases)
    if trigger is not None:
        await open_issue(event, event.room, ctx, trigger)
        return  # the trigger itself never goes into a transcript
    if await _keeps_history(event.room.id, ctx):
        await ctx.deps.history.record(event.room.id, _entry(event), now=ctx.now())
    reply = reply_to_notice(event.quote.text if event.quote else None, event.body)
    if reply is not None:
        await relay_reply(event, event.room, ctx, reply)


async def _keeps_history(room_id: str, ctx: Ctx) -> bool:
    """Only rooms that follow a repository, and have not turned history off, have their messages kept."""
    return await ctx.deps.bindings.follows_anything(room_id) and await ctx.deps.history_switch.is_on(room_id)


def _entry(event: MessageReceived) -> HistoryEntry:
    return HistoryEntry(
        event_id=event.id,
        at=event.timestamp,
        speaker_id=event.talker.id,
        speaker_name=event.talker.name,
        text=event.text,
        message_type=event.type,
        quote_name=event.quote.talker_name if event.quote else None,
        quote_text=event.quote.text if event.quote else None,
        from_bot=event.from_self,
    )


# --- chat → issue -------------------------------------------------------------------------------------------


async def open_issue(event: MessageReceived, room: Room, ctx: Ctx, trigger: IssueTrigger) -> None:
    repo = await _target_repo(room, ctx, trigger)
    if repo is None:
        return
    if not await ctx.deps.history_switch.is_on(room.id):
        await _reply(ctx, replies.NO_HISTORY)
        return
    now = ctx.now()
    entries = transcript_entries(
        await ctx.deps.history.last(room.id, trigger.count, until=event.timestamp, now=now)
    )
    if not entries:
        await _reply(ctx, replies.NOTHING_RECORDED)
        return
    request = TranscriptRequest(
        room_id=room.id,
        room_topic=room.topic,
        requested_by=event.talker.name,
        timezone=ctx.settings.zone,
        lang=ctx.lang,
    )
    job = NewIssue(
        repo=repo.full_name,
        title=make_title(trigger.title, entries),
        body=render_body(entries, request),
        label_words=trigger.label_words,
        aliases=ctx.deps.aliases,
    )
    await _submit_and_try(event, room, ctx, job, capped=trigger.count_capped)


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


async def relay_reply(event: MessageReceived, room: Room, ctx: Ctx, reply: ReplyRequest) -> None:
    if not await ctx.deps.bindings.covers(room.id, reply.ref.repo):
        return  # a notice from a repository this room no longer follows: just chat
    body = render_comment(
        reply.text, author=event.talker.name, room_topic=room.topic, room_id=room.id, lang=ctx.lang
    )
    job = NewComment(repo=reply.ref.repo.full_name, number=reply.ref.number, body=body)
    await _submit_and_try(event, room, ctx, job, capped=False)


# --- the write itself, through the outbox -------------------------------------------------------------------


async def _submit_and_try(
    event: MessageReceived, room: Room, ctx: Ctx, job: NewIssue | NewComment, *, capped: bool
) -> None:
    write = PendingWrite(
        id=event.id,
        bot_id=ctx.bot_id,
        room_id=room.id,
        requester_id=event.talker.id,
        lang=ctx.lang,
        requested_at=ctx.now(),
        job=job,
    )
    outbox = ctx.deps.outbox
    earlier = await outbox.submit(write, now=ctx.now())
    attempt = (
        Attempt(Status.DONE if earlier.ok else Status.REJECTED, write, earlier)
        if earlier is not None  # a redelivered request: answer again, file nothing
        else await outbox.attempt(write.id, ctx.deps.tracker, now=ctx.now())
    )
    text = _first_answer(attempt, capped=capped)
    if text is not None:
        await _reply(ctx, text, mention=True)


def _first_answer(attempt: Attempt | None, *, capped: bool) -> replies.Text | None:
    if attempt is None or attempt.status is Status.BUSY:
        return None  # another replica is on it and will report
    if attempt.status is Status.DELAYED:
        return replies.DELAYED if attempt.first_delay else None
    done = attempt.done
    assert done is not None
    if attempt.status is Status.REJECTED:
        return replies.rejected(done)
    job = attempt.write.job
    if isinstance(job, NewComment):
        return replies.comment_posted(RepoName.parse(job.repo), job.number)
    return replies.issue_created(done, capped=capped)


async def drain_outbox_once(app: App) -> int:
    """Attempt every due write; tell its room how it went. Returns how many were attempted."""
    due = await app.deps.outbox.due(now=app.now())
    metrics.OUTBOX_PENDING.set(await app.deps.outbox.size())
    for write_id in due:
        attempt = await app.deps.outbox.attempt(write_id, app.deps.tracker, now=app.now())
        if attempt is not None:
            await _announce_later(app, attempt)
    return len(due)


async def _announce_later(app: App, attempt: Attempt) -> None:
    write = attempt.write
    text: replies.Text | None = None
    if attempt.status is Status.DELAYED and attempt.first_delay:
        text = replies.DELAYED
    elif attempt.status is Status.REJECTED and attempt.done is not None:
        text = replies.rejected(attempt.done)
    elif attempt.status is Status.DONE and attempt.done is not None:
        text = replies.delayed_done(attempt.done, is_comment=isinstance(write.job, NewComment))
    if text is None:
        return
    await app.say_to(
        write.bot_id,
        room_id=write.room_id,
        zh=text.zh,
        en=text.en,
        lang=write.lang,
        mention_ids=[write.requester_id],
        command_id=uuid.uuid5(_SAY_IDS, f"outbox/{write.id}/{attempt.status}/{write.attempts}").hex,
    )


# --- GitHub → chat ------------------------------------------------------------------------------------------


async def post_notices(app: App, verdict: Verdict) -> None:
    for room_notice in verdict.notices:
        room_id = room_notice.room_id
        prefs = await app.rooms.prefs(room_id)
        if app.service in prefs.disabled_services:
            continue
        bot_id = await app.deps.room_bots.bot_for(room_id)
        if bot_id is None:
            log.warning(
                "no bot seen in room %s yet: notice for %s not posted", room_id, room_notice.notice.repo
            )
            continue
        await app.say_to(
            bot_id,
            room_id=room_id,
            zh=room_notice.notice.zh,
            en=room_notice.notice.en,
            lang=prefs.lang or "zh",
            command_id=uuid.uuid5(_SAY_IDS, f"webhook/{verdict.delivery_id}/{room_id}").hex,
        )


# --- admin commands -----------------------------------------------------------------------------------------


def _first_repo(args: str) -> RepoName | None:
    words = args.split(maxsplit=1)
    return RepoName.try_parse(words[0]) if words else None


async def bind(room: Room, ctx: Ctx, args: str) -> None:
    repo = _first_repo(args)
    if repo is None:
        await _reply(ctx, replies.BIND_USAGE)
        return
    await _reply(ctx, replies.bound(repo, new=await ctx.deps.bindings.bind(room.id, repo)))


async def unbind(room: Room, ctx: Ctx, args: str) -> None:
    repo = _first_repo(args)
    if repo is None:
        await _reply(ctx, replies.UNBIND_USAGE)
        return
    await _reply(ctx, replies.unbound(repo, existed=await ctx.deps.bindings.unbind(room.id, repo)))


_ON = {"on", "开", "开启", "打开"}
_OFF = {"off", "关", "关闭"}
_ALL = {"all", "全部", "所有"}


async def room_settings(room: Room, ctx: Ctx, args: str) -> None:
    """`github` shows the room's settings; `github history on|off` and `github notify ...` change them."""
    words = args.lower().split()
    if words and not await ctx.is_admin():
        await _reply(ctx, replies.ADMIN_ONLY)
        return
    if len(words) == 2 and words[0] in {"history", "记录"} and words[1] in _ON | _OFF:
        on = words[1] in _ON
        await ctx.deps.history_switch.turn(room.id, on=on)
        await _reply(ctx, replies.history_switched(on=on))
        return
    if len(words) >= 2 and words[0] in {"notify", "通知"}:
        chosen, unknown = (ALL_CATEGORIES, []) if words[1] in _ALL else parse_categories(words[1:])
        if chosen:
            await ctx.deps.bindings.choose_categories(room.id, chosen)
            await _reply(ctx, replies.notices_chosen(chosen, unknown))
            return
    bound = await ctx.deps.bindings.for_room(room.id)
    categories = await ctx.deps.bindings.chosen_categories(room.id) or ALL_CATEGORIES
    history = await ctx.deps.history_switch.is_on(room.id)
    await _reply(ctx, replies.status(bound.repos, bound.globs, categories, history))
