"""github-sync: chat → GitHub issues, GitHub → chat notices, quoted replies → comments. Handlers only route;
the work is in flows.py and the domain modules."""

from __future__ import annotations

import asyncio

from schemas import ChatCommand, HistoryQuery, MessageReceived, Room, SayText
from services.github_sync import SERVICE_NAME, flows, metrics
from services.github_sync.deps import Deps, open_deps
from services.github_sync.flows import App, Ctx
from services.github_sync.settings import GithubSyncSettings
from services.github_sync.triggers import parse_trigger
from services.shared import Intent, QunService
from services.shared.http import Request, Response

service: QunService[GithubSyncSettings, Deps] = QunService(
    SERVICE_NAME,
    version="0.2.0",
    settings=GithubSyncSettings,
    deps=open_deps,
    title_zh="GitHub",
    title_en="GitHub",
    publishes=(SayText, HistoryQuery),
    summary_zh="GitHub 同步：聊天记录开工单，仓库动态发到群里，引用动态 @我 回复即评论",
    summary_en="GitHub sync: issues from chat, repository news in the room, quote a notice and @me to comment",
)


async def _room(event: MessageReceived, ctx: Ctx) -> Room:
    """For `rooms_only` commands (the dispatcher answers direct messages): the room, and which bot speaks there."""
    assert event.room is not None  # rooms_only
    await ctx.deps.room_bots.seen(event.room.id, ctx.bot_id)
    return event.room


@service.command(
    ChatCommand(
        name="issue",
        keywords_zh=["开工单"],
        keywords_en=["issue"],
        usage_zh="以上5条开工单 [bug|文档|需求] [标题]：把最近 5 条消息开成 GitHub Issue（不用 @我）",
        usage_en="issue last 5 [bug|docs] [title]: open a GitHub issue from the last 5 messages (no @ needed)",
        rooms_only=True,
    )
)
async def issue(event: MessageReceived, ctx: Ctx, args: str) -> None:
    """`@bot issue last 5 ...` / `@bot 开工单 5 ...`; `以上…` reaches `above`, un-mentioned `issue last` `observe`."""
    trigger = parse_trigger(f"issue {args}", mentions_bot=True, aliases=ctx.deps.aliases)
    if trigger is not None:
        await flows.open_issue(event, await _room(event, ctx), ctx, trigger)


@service.command(
    ChatCommand(
        name="above",
        keywords_zh=["以上"],
        usage_zh="以上5条开工单 [标题] / 以上开工单：把最近的消息（默认 10 条）开成 GitHub Issue，不用 @我",
        usage_en="以上5条开工单 [title]: Chinese form of `issue last 5`, the last messages as an issue (no @ needed)",
        needs_mention=False,
        rooms_only=True,
    )
)
async def above(event: MessageReceived, ctx: Ctx, args: str) -> None:
    """`以上5条开工单 …`: declared as a command so other services (the tagger's "is this somebody's command?")
    leave it to us. A body starting with 以上 that is no trigger is ordinary chat: never answered."""
    await flows.observe(event, ctx)


@service.command(
    ChatCommand(
        name="comment",
        usage_zh="引用一条 [GitHub] 动态，@我 回复：回复会成为那个 Issue / PR 的评论",
        usage_en="quote a [GitHub] notice and @me with your reply: it becomes a comment on that issue or PR",
        rooms_only=True,
        examples_zh=["（引用动态）@我 我这边也复现了"],
        examples_en=["(quoting a notice) @me same here on iOS"],
    )
)
async def comment(event: MessageReceived, ctx: Ctx, args: str) -> None:
    """Reached through `answers_notice`: the message quotes a notice this room was sent, and @-mentions the bot."""
    await flows.comment(event, await _room(event, ctx), ctx)


@service.recogniser("comment")
async def answers_notice(event: MessageReceived, ctx: Ctx) -> Intent | None:
    """A reply to one of our notices is ours to answer, so no other service (the tagger's questions) also does.
    Async: it looks up whether the quoted notice was really sent in this room."""
    return Intent(0.95, args=event.body) if await flows.is_reply_to_notice(event, ctx) else None


@service.command(
    ChatCommand(
        name="bind",
        keywords_zh=["绑定"],
        keywords_en=["bind"],
        usage_zh="绑定 owner/repo：本群关注这个 GitHub 仓库（限运维允许的仓库）",
        usage_en="bind owner/repo: this room follows that GitHub repository (among those the operator allows)",
        admin_only=True,
        rooms_only=True,
    )
)
async def bind(event: MessageReceived, ctx: Ctx, args: str) -> None:
    await flows.bind(await _room(event, ctx), ctx, args)


@service.command(
    ChatCommand(
        name="unbind",
        keywords_zh=["解绑"],
        keywords_en=["unbind"],
        usage_zh="解绑 owner/repo：不再关注",
        usage_en="unbind owner/repo: stop following it",
        admin_only=True,
        rooms_only=True,
    )
)
async def unbind(event: MessageReceived, ctx: Ctx, args: str) -> None:
    await flows.unbind(await _room(event, ctx), ctx, args)


@service.command(
    ChatCommand(
        name="github",
        keywords_zh=["仓库设置"],
        keywords_en=["github"],
        usage_zh="仓库设置：查看本群的 GitHub 设置；仓库设置 通知 issues pulls…（管理员）",
        usage_en="github: this room's GitHub settings; github notify issues pulls… (admins)",
        rooms_only=True,
    )
)
async def github_settings(event: MessageReceived, ctx: Ctx, args: str) -> None:
    await flows.room_settings(await _room(event, ctx), ctx, args)


@service.on(MessageReceived)
async def observe(event: MessageReceived, ctx: Ctx) -> None:
    await flows.observe(event, ctx)


@service.route("POST", "/github/webhook")
async def github_webhook(request: Request, app: App) -> Response:
    async with app.deps.webhooks.slot() as admitted:
        if not admitted:
            metrics.WEBHOOKS.labels("busy").inc()
            return Response(503, b"busy, try again later", headers={"retry-after": "30"})
        verdict = await app.deps.webhooks.receive(request.headers, request.body)
        metrics.WEBHOOKS.labels(verdict.outcome).inc()
        try:
            await flows.post_notices(app, verdict)
        except BaseException:
            # Not posted: let GitHub's redelivery through instead of ignoring it as a duplicate.
            await app.deps.webhooks.forget(verdict)
            raise
        return Response.text(verdict.reason, verdict.status)


@service.background
async def drain_outbox(app: App) -> None:
    """Send the writes GitHub could not take earlier; any replica may run it (a lock per write)."""
    while True:
        try:
            await flows.drain_outbox_once(app)
        except Exception:
            # redis-py may turn a cancellation in mid-read into ConnectionError; a stopping service must stop
            # here rather than be restarted by the supervisor.
            if _being_cancelled():
                raise asyncio.CancelledError from None
            raise
        if _being_cancelled():  # ... or swallow it and retry the command: stop all the same
            raise asyncio.CancelledError
        await asyncio.sleep(app.settings.outbox_poll_s)


@service.background
async def send_digests(app: App) -> None:
    """Digests of the notices rooms' hourly budgets held back; any replica may run it (a lock per room)."""
    while True:
        await flows.send_digests_once(app)
        await asyncio.sleep(app.settings.digest_poll_s)


def _being_cancelled() -> bool:
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0
