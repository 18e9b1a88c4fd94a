"""The outbox loop without a bus: what it tells rooms, and that a failed post is retried, not the write."""

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

import pytest
from redis.asyncio import Redis

from services.github_sync.flows import App, drain_outbox_once
from services.github_sync.outbox import Outbox, OutboxPolicy
from tests.services.github_sync.test_outbox import ScriptedTracker, issue_write

T0 = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)


@dataclass
class Deps:
    outbox: Outbox
    tracker: ScriptedTracker


@dataclass
class StubApp:
    """The part of AppContext the loop uses; `say_to` fails as often as asked (NATS unreachable)."""

    deps: Deps
    failing_posts: int = 0
    said: list[dict[str, Any]] = field(default_factory=list)

    def now(self) -> datetime:
        return T0

    async def say_to(self, bot_id: str, **say: Any) -> None:
        if self.failing_posts:
            self.failing_posts -= 1
            raise ConnectionError("nats is down")
        self.said.append({"bot_id": bot_id, **say})


async def test_the_result_goes_to_the_room_with_an_id_derived_from_the_request(redis: Redis) -> None:
    app = StubApp(Deps(Outbox(redis, OutboxPolicy()), ScriptedTracker()))
    await app.deps.outbox.submit(issue_write(), now=T0)
    assert await drain_outbox_once(cast(App, app)) == 1
    [said] = app.said
    assert said["text"].zh == "已创建 Issue #1：https://github.com/acme/widgets/issues/1"
    assert (said["bot_id"], said["room_id"], said["mention_ids"]) == ("bot", "dev@chatroom", ["alice"])
    other = StubApp(Deps(Outbox(redis, OutboxPolicy()), ScriptedTracker()))
    await redis.flushdb()
    await other.deps.outbox.submit(issue_write(), now=T0)
    await drain_outbox_once(cast(App, other))
    assert other.said[0]["command_id"] == said["command_id"]  # same request, same id: a duplicate is dropped


async def test_a_failed_post_is_retried_without_filing_again(redis: Redis) -> None:
    app = StubApp(Deps(Outbox(redis, OutboxPolicy()), ScriptedTracker()), failing_posts=1)
    await app.deps.outbox.submit(issue_write(), now=T0)
    with pytest.raises(ConnectionError):
        await drain_outbox_once(cast(App, app))  # the supervisor restarts the loop
    await drain_outbox_once(cast(App, app))
    assert [said["text"].zh for said in app.said] == [
        "已创建 Issue #1：https://github.com/acme/widgets/issues/1"
    ]
    assert len(app.deps.tracker.issues) == 1
    await drain_outbox_once(cast(App, app))
    assert len(app.said) == 1
