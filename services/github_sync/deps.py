"""github-sync's resources, opened once per running instance and injected into every handler."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta

from redis.asyncio import Redis

from services.github_sync.announced import AnnouncedNotices
from services.github_sync.bindings import Bindings, follows_cache
from services.github_sync.budget import NoticeBudget
from services.github_sync.config import GithubSyncConfig
from services.github_sync.github_client import (
    GitHubKitTracker,
    IssueTracker,
    UnconfiguredTracker,
    build_github,
)
from services.github_sync.legacy import drop_legacy_history
from services.github_sync.outbox import Outbox
from services.github_sync.room_bots import RoomBots
from services.github_sync.settings import GithubSyncSettings
from services.github_sync.triggers import label_aliases
from services.github_sync.webhook import WebhookReceiver

log = logging.getLogger("qunbus.github-sync")


@dataclass(frozen=True)
class Deps:
    config: GithubSyncConfig
    aliases: dict[str, str]
    bindings: Bindings
    outbox: Outbox
    tracker: IssueTracker
    webhooks: WebhookReceiver
    room_bots: RoomBots
    announced: AnnouncedNotices
    budget: NoticeBudget


@asynccontextmanager
async def open_deps(settings: GithubSyncSettings, redis: Redis) -> AsyncIterator[Deps]:
    config = GithubSyncConfig.load(settings.config)
    bindings = Bindings(config, redis, follows_cache(config, redis))
    room_bots = RoomBots(redis)
    await drop_legacy_history(redis)
    if without := config.rooms_without_history():
        log.warning(
            "`rooms: {history: false}` in GITHUB_SYNC_CONFIG is no longer read (the history service keeps the rooms' "
            "messages; its admins switch it with `聊天记录 关`): %s",
            ", ".join(without),
        )
    if not settings.webhook_secret:
        log.warning("GITHUB_WEBHOOK_SECRET is not set: every webhook delivery will be refused")
    async with AsyncExitStack() as stack:
        credentials = settings.credentials()
        tracker: IssueTracker
        if credentials is None:
            log.warning("no GitHub credentials: issues and comments wait in the outbox until they are set")
            tracker = UnconfiguredTracker()
        else:
            github = build_github(
                credentials,
                base_url=settings.github_api_url,
                policy=settings.retry_policy(),
                timeout=settings.request_timeout_s,
            )
            tracker = GitHubKitTracker(await stack.enter_async_context(github))
        yield Deps(
            config=config,
            aliases=label_aliases(config.labels),
            bindings=bindings,
            outbox=Outbox(redis, settings.outbox_policy()),
            tracker=tracker,
            webhooks=WebhookReceiver(
                secret=settings.webhook_secret,
                redis=redis,
                bindings=bindings,
                remember_for=settings.delivery_memory,
                concurrency=settings.webhook_concurrency,
                queue_wait=timedelta(seconds=settings.webhook_queue_wait_s),
            ),
            room_bots=room_bots,
            announced=AnnouncedNotices(redis, remember_for=settings.announced_memory),
            budget=NoticeBudget(redis, settings.budget_policy()),
        )
