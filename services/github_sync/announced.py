"""Which notices the bot really posted in which room, so a reply to a quoted notice can be trusted.

WeChat hands us only the quoted text, and anybody can type `[GitHub] owner/repo#N …` as a fake quote. A quote
counts as a reply to a notice only if the bot announced that issue or pull request in that very room.
"""

from __future__ import annotations

from datetime import timedelta

from redis.asyncio import Redis

from services.github_sync import keys
from services.github_sync.notices import NoticeRef


class AnnouncedNotices:
    def __init__(self, redis: Redis, *, remember_for: timedelta) -> None:
        self._redis = redis
        self._remember_for = remember_for

    async def remember(self, room_id: str, ref: NoticeRef) -> None:
        """Each new notice about the same item restarts its memory: the latest one is what people quote."""
        await self._redis.set(
            keys.announced_notice(room_id, ref.repo, ref.number), "1", ex=self._remember_for
        )

    async def was_announced(self, room_id: str, ref: NoticeRef) -> bool:
        return bool(await self._redis.exists(keys.announced_notice(room_id, ref.repo, ref.number)))
