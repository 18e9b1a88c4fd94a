"""Fixtures for the moderator's store tests: one redis-server for this directory, emptied before each test."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis.asyncio

from services.moderator.redis_types import StrRedis


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _redis_server_binary() -> str:
    beside_python = Path(sys.executable).parent / "redis-server"
    found = str(beside_python) if beside_python.exists() else shutil.which("redis-server")
    if found is None:
        pytest.skip("redis-server not installed (run `make install`)")
    return found


@pytest.fixture(scope="session")
def moderator_redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = _free_port()
    workdir = tmp_path_factory.mktemp("moderator-redis")
    args = [_redis_server_binary(), "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    process = subprocess.Popen(
        [*args, "--appendonly", "no", "--dir", str(workdir)], stdout=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                process.kill()
                raise
            time.sleep(0.02)  # waiting for a child process to listen, not for the code under test
    yield f"redis://127.0.0.1:{port}/0"
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture
async def store_redis(moderator_redis_url: str) -> AsyncIterator[StrRedis]:
    client: StrRedis = redis.asyncio.Redis.from_url(moderator_redis_url, decode_responses=True)
    await client.flushdb()
    yield client
    await client.aclose()
