"""The few GitHub REST calls github-sync makes, behind a small interface, with GitHub's failures sorted into
"try again later" (server errors, connection trouble, rate limits) and "will never work" (404, 422, ...)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol

from githubkit import AppInstallationAuthStrategy, GitHub, TokenAuthStrategy
from githubkit.exception import (
    GitHubException,
    RateLimitExceeded,
    RequestError,
    RequestFailed,
    RequestTimeout,
)
from githubkit.retry import RetryOption
from pydantic import BaseModel, ConfigDict, TypeAdapter

from services.github_sync.repos import RepoName


@dataclass(frozen=True)
class Created:
    """What GitHub answered for a new issue or comment."""

    number: int  # issue number; for a comment, the number of the issue it is on
    html_url: str


class GitHubUnavailableError(Exception):
    """GitHub could not be reached or asked us to wait: the request should be kept and tried later."""

    def __init__(self, reason: str, retry_after: timedelta | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class GitHubRejectedError(Exception):
    """GitHub refused the request for good (no such repository, no permission, invalid input)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


class IssueTracker(Protocol):
    async def create_issue(self, repo: RepoName, *, title: str, body: str, labels: list[str]) -> Created: ...

    async def create_comment(self, repo: RepoName, number: int, *, body: str) -> Created: ...

    async def list_labels(self, repo: RepoName) -> list[str]: ...


@dataclass(frozen=True)
class RetryPolicy:
    """How long one call may keep trying before the request goes to the durable outbox instead."""

    max_retries: int = 3
    base_delay: timedelta = timedelta(seconds=1)
    # A rate limit that lifts sooner than this is waited out in place; a longer one is left to the outbox.
    max_inline_wait: timedelta = timedelta(seconds=10)


_SHORTEST_WAIT = timedelta(milliseconds=1)


class _TransientRetry:
    """githubkit retry decision: rate limits (honouring Retry-After / X-RateLimit-Reset), 5xx and connection
    errors, with exponential backoff and jitter."""

    def __init__(self, policy: RetryPolicy) -> None:
        self._policy = policy

    def __call__(self, exc: GitHubException, retry_count: int) -> RetryOption:
        if retry_count >= self._policy.max_retries:
            return RetryOption(False)
        if isinstance(exc, RateLimitExceeded):
            if exc.retry_after <= self._policy.max_inline_wait:
                # githubkit treats a zero wait as "none given" and sleeps a minute instead
                return RetryOption(True, max(exc.retry_after, _SHORTEST_WAIT))
            return RetryOption(False)
        if _is_transient(exc):
            backoff = self._policy.base_delay * (2**retry_count)
            return RetryOption(True, backoff * random.uniform(0.8, 1.2))  # noqa: S311 - jitter, not crypto
        return RetryOption(False)


def _is_transient(exc: GitHubException) -> bool:
    if isinstance(exc, RequestFailed):
        # 401: an expired or rotated credential is fixed by an operator; keep the request until then.
        return exc.response.status_code >= 500 or exc.response.status_code == 401
    return isinstance(exc, RequestTimeout | RequestError)


@dataclass(frozen=True)
class GitHubCredentials:
    """A token, or a GitHub App installation."""

    token: str | None = field(default=None, repr=False)
    app_id: str | None = None
    app_private_key: str | None = field(default=None, repr=False)
    app_installation_id: int | None = None

    @property
    def complete(self) -> bool:
        return bool(self.token) or bool(
            self.app_id and self.app_private_key and self.app_installation_id is not None
        )

    def auth(self) -> TokenAuthStrategy | AppInstallationAuthStrategy:
        if self.token:
            return TokenAuthStrategy(self.token)
        if self.app_id and self.app_private_key and self.app_installation_id is not None:
            return AppInstallationAuthStrategy(self.app_id, self.app_private_key, self.app_installation_id)
        raise ValueError(
            "set GITHUB_TOKEN, or GITHUB_APP_ID + GITHUB_APP_PRIVATE_KEY(_FILE) + GITHUB_APP_INSTALLATION_ID"
        )


def build_github(
    credentials: GitHubCredentials, *, base_url: str, policy: RetryPolicy, timeout: float = 15.0
) -> GitHub[Any]:
    return GitHub(
        credentials.auth(),
        base_url=base_url,
        auto_retry=_TransientRetry(policy),
        http_cache=False,  # writes only; a cache would just hold stale label lists
        timeout=timeout,
        user_agent="qunbus-github-sync",
    )


class _CreatedIssue(BaseModel):
    """The two fields we need from GitHub's answer, read leniently: the issue exists either way."""

    model_config = ConfigDict(extra="ignore")
    number: int
    html_url: str


class _CreatedComment(BaseModel):
    model_config = ConfigDict(extra="ignore")
    html_url: str


class _Label(BaseModel):
    model_config = ConfigDict(extra="ignore")
    name: str


_LabelList = TypeAdapter(list[_Label])


class GitHubKitTracker:
    """IssueTracker over githubkit."""

    def __init__(self, github: GitHub[Any]) -> None:
        self._github = github

    async def create_issue(self, repo: RepoName, *, title: str, body: str, labels: list[str]) -> Created:
        with _sorted_failures():
            response = await self._github.rest.issues.async_create(
                repo.owner, repo.name, title=title, body=body, labels=list(labels)
            )
        issue = _CreatedIssue.model_validate_json(response.content)
        return Created(number=issue.number, html_url=issue.html_url)

    async def create_comment(self, repo: RepoName, number: int, *, body: str) -> Created:
        with _sorted_failures():
            response = await self._github.rest.issues.async_create_comment(
                repo.owner, repo.name, number, body=body
            )
        comment = _CreatedComment.model_validate_json(response.content)
        return Created(number=number, html_url=comment.html_url)

    async def list_labels(self, repo: RepoName) -> list[str]:
        with _sorted_failures():
            response = await self._github.rest.issues.async_list_labels_for_repo(
                repo.owner, repo.name, per_page=100
            )
        return [label.name for label in _LabelList.validate_json(response.content)]


@contextmanager
def _sorted_failures() -> Iterator[None]:
    """githubkit's exceptions (after its own retries) as GitHubUnavailableError / GitHubRejectedError."""
    try:
        yield
    except RateLimitExceeded as exc:
        raise GitHubUnavailableError("rate limited", retry_after=exc.retry_after) from exc
    except RequestFailed as exc:
        if _is_transient(exc):
            raise GitHubUnavailableError(repr(exc)) from exc
        raise GitHubRejectedError(exc.response.status_code, _error_message(exc)) from exc
    except GitHubException as exc:
        raise GitHubUnavailableError(repr(exc)) from exc


def _error_message(exc: RequestFailed) -> str:
    try:
        payload = exc.response.raw_response.json()
    except ValueError:
        return exc.response.raw_response.text[:200]
    return str(payload.get("message", "")) if isinstance(payload, dict) else ""


class UnconfiguredTracker:
    """Stands in until credentials are set: requests wait in the outbox instead of being dropped."""

    async def create_issue(self, repo: RepoName, *, title: str, body: str, labels: list[str]) -> Created:
        raise GitHubUnavailableError("no GitHub credentials configured")

    async def create_comment(self, repo: RepoName, number: int, *, body: str) -> Created:
        raise GitHubUnavailableError("no GitHub credentials configured")

    async def list_labels(self, repo: RepoName) -> list[str]:
        raise GitHubUnavailableError("no GitHub credentials configured")
