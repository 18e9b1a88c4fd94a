from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from redis.asyncio import Redis

from services.github_sync.github_client import Created, GitHubRejectedError, GitHubUnavailableError
from services.github_sync.outbox import Outbox, OutboxPolicy, Status
from services.github_sync.repos import RepoName
from services.github_sync.writes import NewComment, NewIssue, PendingWrite

T0 = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)
POLICY = OutboxPolicy(first_retry=timedelta(seconds=30), max_retry=timedelta(minutes=10))


@dataclass
class ScriptedTracker:
    """An IssueTracker double: raises the scripted failures first, then succeeds."""

    failures: list[Exception] = field(default_factory=list)
    labels: list[str] = field(default_factory=lambda: ["bug"])
    issues: list[tuple[str, str, list[str]]] = field(default_factory=list)
    comments: list[tuple[int, str]] = field(default_factory=list)

    def _maybe_fail(self) -> None:
        if self.failures:
            raise self.failures.pop(0)

    async def create_issue(self, repo: RepoName, *, title: str, body: str, labels: list[str]) -> Created:
        self._maybe_fail()
        self.issues.append((title, body, labels))
        return Created(
            number=len(self.issues), html_url=f"https://github.com/{repo}/issues/{len(self.issues)}"
        )

    async def create_comment(self, repo: RepoName, number: int, *, body: str) -> Created:
        self._maybe_fail()
        self.comments.append((number, body))
        return Created(number=number, html_url=f"https://github.com/{repo}/issues/{number}#issuecomment-1")

    async def list_labels(self, repo: RepoName) -> list[str]:
        return self.labels


def issue_write(write_id: str = "evt-1", labels: tuple[str, ...] = ()) -> PendingWrite:
    return PendingWrite(
        id=write_id,
        bot_id="bot",
        room_id="dev@chatroom",
        requester_id="alice",
        lang="zh",
        requested_at=T0,
        job=NewIssue(repo="acme/widgets", title="t", body="b", label_words=labels, aliases={"缺陷": "bug"}),
    )


async def test_done_at_once(redis: Redis) -> None:
    outbox, tracker = Outbox(redis, POLICY), ScriptedTracker()
    assert await outbox.submit(issue_write(labels=("缺陷", "nope")), now=T0) is True
    attempt = await outbox.attempt("evt-1", tracker, now=T0)
    assert attempt is not None
    assert attempt.status is Status.DONE
    assert attempt.done is not None
    assert (attempt.done.number, attempt.done.unknown_labels) == (1, ("nope",))
    assert tracker.issues == [("t", "b", ["bug"])]
    assert await outbox.size() == 0


async def test_a_redelivered_request_is_not_stored_or_filed_again(redis: Redis) -> None:
    outbox, tracker = Outbox(redis, POLICY), ScriptedTracker()
    await outbox.submit(issue_write(), now=T0)
    assert await outbox.submit(issue_write(), now=T0) is False  # still pending: stored once
    await outbox.attempt("evt-1", tracker, now=T0)
    assert await outbox.submit(issue_write(), now=T0) is False  # finished: not stored again
    earlier = await outbox.result("evt-1")
    assert earlier is not None
    assert earlier.number == 1
    assert await outbox.due(now=T0 + timedelta(days=1)) == []
    assert await outbox.attempt("evt-1", tracker, now=T0) is None
    assert len(tracker.issues) == 1


async def test_unavailable_waits_with_backoff_and_is_never_dropped(redis: Redis) -> None:
    outbox = Outbox(redis, POLICY)
    tracker = ScriptedTracker(failures=[GitHubUnavailableError("502"), GitHubUnavailableError("502")])
    await outbox.submit(issue_write(), now=T0)
    first = await outbox.attempt("evt-1", tracker, now=T0)
    assert first is not None
    assert (first.status, first.first_delay) == (Status.DELAYED, True)
    assert await outbox.due(now=T0 + timedelta(seconds=29)) == []
    assert await outbox.due(now=T0 + timedelta(seconds=30)) == ["evt-1"]
    second = await outbox.attempt("evt-1", tracker, now=T0 + timedelta(seconds=30))
    assert second is not None
    assert (second.status, second.first_delay, second.write.attempts) == (Status.DELAYED, False, 2)
    assert await outbox.due(now=T0 + timedelta(seconds=89)) == []  # 30 s, then 60 s
    third = await outbox.attempt("evt-1", tracker, now=T0 + timedelta(seconds=90))
    assert third is not None
    assert third.status is Status.DONE
    assert await outbox.size() == 0


async def test_retry_after_from_github_is_respected(redis: Redis) -> None:
    outbox = Outbox(redis, POLICY)
    tracker = ScriptedTracker(
        failures=[GitHubUnavailableError("rate limited", retry_after=timedelta(hours=1))]
    )
    await outbox.submit(issue_write(), now=T0)
    await outbox.attempt("evt-1", tracker, now=T0)
    assert await outbox.due(now=T0 + timedelta(minutes=59)) == []
    assert await outbox.due(now=T0 + timedelta(hours=1)) == ["evt-1"]


async def test_rejection_is_final(redis: Redis) -> None:
    outbox = Outbox(redis, POLICY)
    tracker = ScriptedTracker(failures=[GitHubRejectedError(404, "Not Found")])
    await outbox.submit(issue_write(), now=T0)
    attempt = await outbox.attempt("evt-1", tracker, now=T0)
    assert attempt is not None
    assert attempt.status is Status.REJECTED
    assert attempt.done is not None
    assert attempt.done.error == "Not Found"
    assert await outbox.size() == 0


async def test_a_fresh_write_is_due_at_once_for_the_loop(redis: Redis) -> None:
    """The chat handler only stores it; the background loop makes the GitHub call."""
    outbox = Outbox(redis, POLICY)
    await outbox.submit(issue_write(), now=T0)
    assert await outbox.due(now=T0) == ["evt-1"]


async def test_one_replica_at_a_time(redis: Redis) -> None:
    outbox, tracker = Outbox(redis, POLICY), ScriptedTracker()
    await outbox.submit(issue_write(), now=T0)
    await redis.set("github-sync:outbox:lock:evt-1", "other replica")
    busy = await outbox.attempt("evt-1", tracker, now=T0)
    assert busy is not None
    assert busy.status is Status.BUSY
    assert tracker.issues == []


async def test_an_attempt_that_outlived_its_lock_leaves_the_next_holders_lock_alone(redis: Redis) -> None:
    """Our lease ran out mid-call and another replica took the lock: releasing ours must not free theirs."""
    lock = "github-sync:outbox:lock:evt-1"

    class SlowTracker(ScriptedTracker):
        async def create_issue(self, repo: RepoName, *, title: str, body: str, labels: list[str]) -> Created:
            await redis.set(lock, "token of another replica", px=60_000)  # our lease expired; theirs began
            return await super().create_issue(repo, title=title, body=body, labels=labels)

    outbox = Outbox(redis, POLICY)
    await outbox.submit(issue_write(), now=T0)
    attempt = await outbox.attempt("evt-1", SlowTracker(), now=T0)
    assert attempt is not None
    assert attempt.status is Status.DONE
    assert await redis.get(lock) == "token of another replica"


async def test_the_lock_is_released_by_its_holder(redis: Redis) -> None:
    outbox, tracker = Outbox(redis, POLICY), ScriptedTracker(failures=[GitHubUnavailableError("502")])
    await outbox.submit(issue_write(), now=T0)
    await outbox.attempt("evt-1", tracker, now=T0)
    assert not await redis.exists("github-sync:outbox:lock:evt-1")  # free for the next attempt at once
    again = await outbox.attempt("evt-1", tracker, now=T0 + timedelta(minutes=1))
    assert again is not None
    assert again.status is Status.DONE


async def test_comments_go_through_the_same_outbox(redis: Redis) -> None:
    outbox, tracker = Outbox(redis, POLICY), ScriptedTracker()
    write = issue_write().model_copy(
        update={"job": NewComment(repo="acme/widgets", number=42, body="me too")}
    )
    await outbox.submit(write, now=T0)
    attempt = await outbox.attempt("evt-1", tracker, now=T0)
    assert attempt is not None
    assert attempt.status is Status.DONE
    assert tracker.comments == [(42, "me too")]


@pytest.mark.parametrize(("attempts", "seconds"), [(1, 30), (2, 60), (3, 120), (10, 600)])
def test_backoff_doubles_up_to_the_cap(attempts: int, seconds: int) -> None:
    assert POLICY.delay(attempts, None) == timedelta(seconds=seconds)


async def test_a_finished_write_waits_until_its_room_was_told(redis: Redis) -> None:
    outbox, tracker = Outbox(redis, POLICY), ScriptedTracker()
    await outbox.submit(issue_write(), now=T0)
    await outbox.attempt("evt-1", tracker, now=T0)
    [told] = await outbox.unannounced()
    assert (told.status, told.write.id) == (Status.DONE, "evt-1")
    assert told.done is not None
    assert told.done.number == 1
    assert await outbox.attempt("evt-1", tracker, now=T0) is None  # finished: never sent again
    await outbox.announced("evt-1")
    assert await outbox.unannounced() == []
    assert await outbox.pending("evt-1") is None
    assert await outbox.submit(issue_write(), now=T0) is False
    assert len(tracker.issues) == 1
