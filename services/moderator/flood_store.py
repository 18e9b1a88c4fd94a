"""The flood windows' one write outside the per-message script (``message_store`` counts messages and strikes)."""

from __future__ import annotations

from services.moderator import keys
from services.moderator.redis_types import StrRedis


class FloodStore:
    """Resets a member's message window; the limits and the escalation are in ``flood``."""

    def __init__(self, redis: StrRedis) -> None:
        self._redis = redis

    async def forgive_messages(self, *, bot_id: str, room_id: str, member_id: str) -> None:
        """Empty the member's message window after a warning, so the next strike needs new flooding."""
        await self._redis.delete(keys.flood_window(bot_id, room_id, member_id))
