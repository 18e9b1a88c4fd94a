"""Sliding windows of messages and of flood strikes in Redis, one sorted set per room and member.

Members of the sets are event ids, so a redelivered message counts once and gets the same strike number.
"""

from __future__ import annotations

from services.moderator import keys
from services.moderator.redis_types import StrRedis

# Adds the event (if new), drops what left the window, returns the rank of the event (1-based) and the count.
_RECORD = """
local now, window = tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
redis.call('ZADD', KEYS[1], 'NX', now, ARGV[1])
redis.call('PEXPIRE', KEYS[1], window)
local rank = redis.call('ZRANK', KEYS[1], ARGV[1])
return {rank and rank + 1 or 0, redis.call('ZCARD', KEYS[1])}
"""


class FloodStore:
    """Counts messages and strikes per member; the limits and the escalation are in ``flood``."""

    def __init__(self, redis: StrRedis) -> None:
        self._redis = redis
        self._record = redis.register_script(_RECORD)

    async def record_message(
        self, *, bot_id: str, room_id: str, member_id: str, event_id: str, now_ms: int, window_ms: int
    ) -> int:
        """Count the message; returns the member's messages within the window, this one included."""
        _, count = await self._record(
            keys=[keys.flood_window(bot_id, room_id, member_id)], args=[event_id, now_ms, window_ms]
        )
        return int(count)

    async def record_strike(
        self, *, bot_id: str, room_id: str, member_id: str, event_id: str, now_ms: int, memory_ms: int
    ) -> int:
        """Count a violation; returns its number (1 for the first within ``memory_ms``), stable on redelivery."""
        rank, _ = await self._record(
            keys=[keys.flood_strikes(bot_id, room_id, member_id)], args=[event_id, now_ms, memory_ms]
        )
        return int(rank)

    async def forgive_messages(self, *, bot_id: str, room_id: str, member_id: str) -> None:
        """Empty the member's message window after a warning, so the next strike needs new flooding."""
        await self._redis.delete(keys.flood_window(bot_id, room_id, member_id))
