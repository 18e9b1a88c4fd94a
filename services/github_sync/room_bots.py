"""Which bot account speaks in a room. Webhook notices arrive without any chat event, so we remember the bot
that last carried a message from each room that follows a repository, the only rooms notices go to (a room is
served by one logged-in account at a time)."""

from __future__ import annotations

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from services.github_sync import keys


class RoomBots:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def seen(self, room_id: str, bot_id: str) -> None:
        await self._redis.set(keys.room_bot(room_id), bot_id)

    def seen_in(self, pipe: Pipeline, room_id: str, bot_id: str) -> None:
        pipe.set(keys.room_bot(room_id), bot_id)

    async def bot_for(self, room_id: str) -> str | None:
        bot_id = await self._redis.get(keys.room_bot(room_id))
        return None if bot_id is None else str(bot_id)
