"""Scheduler test helpers: a Redis client on the test's own redis-server, and reminders to store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import pytest
from redis.asyncio import Redis

from services.scheduler.reminder import Reminder


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url, decode_responses=True)
    yield client
    await client.aclose()


def draft(due: datetime, **fields: Any) -> Reminder:
    """A reminder as the remind command would store it (id assigned by the store)."""
    values: dict[str, Any] = {
        "id": "",
        "bot_id": "bot",
        "room_id": "room1@chatroom",
        "creator_id": "alice",
        "creator_name": "Alice",
        "text": "开会",
        "zone": "Asia/Shanghai",
        "created_at": due,
        "next_due": due,
    }
    return Reminder(**{**values, **fields})
