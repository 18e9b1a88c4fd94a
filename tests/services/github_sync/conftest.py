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


import asyncio as _asyncio
import sys as _sys
import threading as _threading


@pytest.fixture(autouse=True)
async def _watchdog() -> AsyncIterator[None]:
    loop = _asyncio.get_running_loop()
    done = _threading.Event()

    def watch() -> None:
        if not done.wait(40):
            for task in _asyncio.all_tasks(loop):
                print("TASK", task.get_name(), file=_sys.stderr)
                task.print_stack(file=_sys.stderr)

    _threading.Thread(target=watch, daemon=True).start()
    yield
    done.set()
