"""The moderator's store tests talk to the per-test redis-server of ``tests/conftest.py``."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis.asyncio

from services.moderator.redis_types import StrRedis


@pytest.fixture
async def store_redis(redis_url: str) -> AsyncIterator[StrRedis]:
    client = redis.asyncio.Redis.from_url(redis_url, decode_responses=True)
    yield client
    await client.aclose()
