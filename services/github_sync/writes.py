"""The writes github-sync makes on GitHub, as values that can wait in the outbox and be performed later."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from services.github_sync.github_client import IssueTracker
from services.github_sync.repos import RepoName
from services.github_sync.triggers import resolve_labels


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class NewIssue(_Frozen):
    kind: Literal["issue"] = "issue"
    repo: str = Field(description="owner/name")
    title: str
    body: str
    label_words: tuple[str, ...] = Field(
        default=(), description="As typed; matched to repo labels when sent."
    )
    aliases: dict[str, str] = Field(
        default_factory=dict, description="Label aliases in force when requested."
    )


class NewComment(_Frozen):
    kind: Literal["comment"] = "comment"
    repo: str = Field(description="owner/name")
    number: int
    body: str


class PendingWrite(_Frozen):
    """A write somebody asked for in chat, with what we need to tell them how it went."""

    id: str = Field(description="Id of the chat event that asked for it: one write per request.")
    bot_id: str
    room_id: str
    requester_id: str
    lang: Literal["zh", "en"]
    requested_at: AwareDatetime
    job: Annotated[NewIssue | NewComment, Field(discriminator="kind")]
    attempts: int = 0


class Done(_Frozen):
    """The outcome of a write, kept for a while so a redelivered request is answered, not repeated."""

    ok: bool
    number: int | None = None
    html_url: str | None = None
    unknown_labels: tuple[str, ...] = ()
    error: str | None = Field(default=None, description="GitHub's reason when it refused.")
    finished_at: datetime


async def perform(write: PendingWrite, tracker: IssueTracker, *, now: datetime) -> Done:
    """Send one write. Raises GitHubUnavailableError (keep it for later) or GitHubRejectedError (give up)."""
    job = write.job
    repo = RepoName.parse(job.repo)
    if isinstance(job, NewComment):
        created = await tracker.create_comment(repo, job.number, body=job.body)
        return Done(ok=True, number=created.number, html_url=created.html_url, finished_at=now)
    labels = (
        resolve_labels(job.label_words, await tracker.list_labels(repo), job.aliases)
        if job.label_words
        else None
    )
    created = await tracker.create_issue(
        repo, title=job.title, body=job.body, labels=list(labels.labels) if labels else []
    )
    return Done(
        ok=True,
        number=created.number,
        html_url=created.html_url,
        unknown_labels=labels.unknown if labels else (),
        finished_at=now,
    )
