"""Fixtures for github-sync tests: a Redis client on the test's own redis-server, and the fake GitHub."""

from collections.abc import AsyncIterator, Iterator

import pytest
from redis.asyncio import Redis

from tests.services.github_sync.fake_github import FakeGitHub

TOKEN = "ghp_fake_token_for_tests"


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url, decode_responses=True)
    yield client
    await client.aclose()


@pytest.fixture
def fake_github() -> Iterator[FakeGitHub]:
    with FakeGitHub(token=TOKEN) as fake:
        fake.add_repo("acme/widgets", labels=["bug", "documentation", "enhancement"])
        yield fake
