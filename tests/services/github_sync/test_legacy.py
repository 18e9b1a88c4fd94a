"""The keys of github-sync's former own history are dropped once; rooms that had switched it off are named."""

import logging

import pytest
from redis.asyncio import Redis

from services.github_sync.legacy import drop_legacy_history


async def test_the_former_history_is_dropped_once_and_switched_off_rooms_are_logged(
    redis: Redis, caplog: pytest.LogCaptureFixture
) -> None:
    await redis.zadd("github-sync:room:a@chatroom:history", {'{"text": "old"}': 1.0})
    await redis.set("github-sync:room:a@chatroom:history-switch", "off")
    await redis.set("github-sync:room:b@chatroom:history-switch", "on")
    await redis.set("github-sync:room:a@chatroom:repos", "kept")  # not history: untouched
    with caplog.at_level(logging.WARNING, logger="qunbus.github-sync"):
        assert await drop_legacy_history(redis) == 3
    assert await redis.keys("github-sync:room:*:history*") == []
    assert await redis.get("github-sync:room:a@chatroom:repos") == "kept"
    assert "a@chatroom" in caplog.text
    assert "b@chatroom" not in caplog.text
    await redis.set(
        "github-sync:room:c@chatroom:history-switch", "off"
    )  # written by an old replica meanwhile
    assert await drop_legacy_history(redis) == 0  # done once: later starts do not scan Redis
