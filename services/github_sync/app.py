"""github-sync: chat → GitHub issues, GitHub → chat notices, quoted replies → comments. Handlers only route;
the work is in flows.py and the domain modules."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from schemas import ChatCommand, HistoryQuery, MessageReceived, Room, SayText
from services.github_sync import SERVICE_NAME, flows, metrics, replies
from services.github_sync.deps import Deps, open_deps
from services.github_sync.flows import App, Ctx
from services.github_sync.settings import GithubSyncSettings
from services.github_sync.triggers import parse_trigger
from services.shared import QunService
from services.shared.http import Request, Response

service: QunService[GithubSyncSettings, Deps] = QunService(
    SERVICE_NAME,
    version="0.1.0",
    settings=GithubSyncSettings,
    deps=open_deps,
    publishes=(SayText, HistoryQuery),
    summary_zh="GitHub 同步：聊天记录开工单，仓库动态发到群里，引用动态回复即评论",
    summary_en="GitHub sync: issues from chat, repository news in the room, quoted replies become comments",
)

RoomHandler = Callable[[Room, Ctx, str], Awaitable[None]]


def in_room(handler: RoomHandler) -> Callable[[MessageReceived, Ctx, str], Awaitable[None]]:
    async def run(event: MessageReceived, ctx: Ctx, args: str) -> None:
        if event.room is None:
            await ctx.reply(replies.ROOM_ONLY)
            return
        await ctx.deps.room_bots.seen(event.room.id, ctx.bot_id)
        await handler(event.room, ctx, args)

    return run


@service.command(
    ChatCommand(
        name="issue",
        keywords_zh=["开工单"],
        keywords_en=["issue"],
        usage_zh="以上5条开工单 [bug|文档|需求] [标题]：把最近 5 条消息开成 GitHub Issue（不用 @我）",
        usage_en="issue last 5 [bug|docs] [title]: open a GitHub issue from the last 5 messages (no @ needed)",
    )
)
async def issue(event: MessageReceived, ctx: Ctx, args: str) -> None:
    """`@bot issue last 5 ...` / `@bot 开工单 5 ...`; `以上…` reaches `above`, un-mentioned `issue last` `observe`."""
    trigger = parse_trigger(f"issue {args}", mentions_bot=True, aliases=ctx.deps.aliases)
    if event.room is None or trigger is None:
        await ctx.reply(replies.ROOM_ONLY)
        return
    await ctx.deps.room_bots.seen(event.room.id, ctx.bot_id)
    await flows.open_issue(event, event.room, ctx, trigger)


@service.command(
    ChatCommand(
        name="above",
        keywords_zh=["以上"],
        usage_zh="以上5条开工单 [标题] / 以上开工单：把最近的消息（默认 10 条）开成 GitHub Issue，不用 @我",
        usage_en="以上5条开工单 [title]: Chinese form of `issue last 5`, the last messages as an issue (no @ needed)",
        needs_mention=False,
    )
)
async def above(event: MessageReceived, ctx: Ctx, args: str) -> None:
    """`以上5条开工单 …`: declared as a command so other services (the tagger's "is this somebody's command?")
    leave it to us. A body starting with 以上 that is no trigger is ordinary chat: kept, never answered."""
    await flows.observe(event, ctx)


@service.command(
    ChatCommand(
        name="bind",
        keywords_zh=["绑定"],
        keywords_en=["bind"],
        usage_zh="绑定 owner/repo：本群关注这个 GitHub 仓库（限运维允许的仓库）",
        usage_en="bind owner/repo: this room follows that GitHub repository (among those the operator allows)",
        admin_only=True,
    )
)
async def bind(event: MessageReceived, ctx: Ctx, args: str) -> None:
    await in_room(flows.bind)(event, ctx, args)


@service.command(
    ChatCommand(
        name="unbind",
        keywords_zh=["解绑"],
        keywords_en=["unbind"],
        usage_zh="解绑 owner/repo：不再关注",
        usage_en="unbind owner/repo: stop following it",
        admin_only=True,
    )
)
async def unbind(event: MessageReceived, ctx: Ctx, args: str) -> None:
    await in_room(flows.unbind)(event, ctx, args)


@service.command(
    ChatCommand(
        name="github",
        keywords_zh=["仓库设置"],
        keywords_en=["github"],
        usage_zh="仓库设置：查看本群的 GitHub 设置；仓库设置 通知 issues pulls…（管理员）",
        usage_en="github: this room's GitHub settings; github notify issues pulls… (admins)",
    )
)
async def github_settings(event: MessageReceived, ctx: Ctx, args: str) -> None:
    await in_room(flows.room_settings)(event, ctx, args)


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


@service.background
async def watch_room_changes(app: App) -> None:
    """Keep every replica's cached room status fresh (bindings changed anywhere)."""
    await app.deps.room_changes.listen()


def _being_cancelled() -> bool:
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0
