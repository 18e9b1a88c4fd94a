"""Per-room options of the history service (LLM summaries, leaderboard in reports), in one Redis hash per room."""

from __future__ import annotations

from redis.asyncio import Redis

from services.history import keys

LLM = "llm"
LEADERBOARD = "board"


class RoomOptions:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def enabled(self, room_id: str, option: str) -> bool:
        return bool(await self._redis.hexists(keys.prefs(room_id), option))

    async def set(self, room_id: str, option: str, *, on: bool) -> None:
        if on:
            await self._redis.hset(keys.prefs(room_id), option, b"1")
        else:
            await self._redis.hdel(keys.prefs(room_id), option)
