"""GitHub webhook payloads → short chat notices, and a quoted notice → the issue it names.

Every notice starts with `[GitHub] owner/repo#123` (or `owner/repo@tag` for releases), so when a member
quotes it in WeChat — which hands us only the quoted text — we can tell which issue or PR they answer.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TypeAlias

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from services.github_sync.categories import Category
from services.github_sync.origin import origin_digest
from services.github_sync.repos import RepoName

NOTICE_TAG = "[GitHub]"
_TITLE_LIMIT = 80
_EXCERPT_LIMIT = 140
_QUOTED_REF = re.compile(
    r"(?:\[GitHub\]|【GitHub】)\s*(?P<repo>[A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9._-]+)#(?P<number>\d+)\b"
)


@dataclass(frozen=True)
class Notice:
    repo: RepoName
    number: int | None  # None for releases
    category: Category
    zh: str
    en: str
    origin: str | None  # room digest when we wrote the item ourselves (see origin.py)


@dataclass(frozen=True)
class NoticeRef:
    """The issue or pull request a quoted notice names."""

    repo: RepoName
    number: int


# `@所有人` / `@all` (any run of @ and spaces before it, full-width @ too): what pings a whole WeChat room.
_AT_ALL = re.compile(r"[@＠][@＠\s]*(所有人|all(?![A-Za-z0-9_]))", re.IGNORECASE)
_DROPPED = {"Cc", "Cf"}  # control characters; format characters: bidi overrides and isolates, zero-widths
_SPACES = {"Zl", "Zp"}  # line and paragraph separators


def for_chat(text: str) -> str:
    """Text from GitHub (titles, comments, logins) made safe to post in a room: no control or bidirectional
    override characters (which can make a line read backwards), no invisible characters, and no `@所有人` /
    `@all`; newlines stay."""
    kept = "".join(
        char
        if char == "\n" or unicodedata.category(char) not in _DROPPED | _SPACES
        else (" " if unicodedata.category(char) in _SPACES or char == "\t" else "")
        for char in text
    )
    return _AT_ALL.sub(lambda match: match[1], kept)


def parse_quoted_ref(quoted_text: str) -> NoticeRef | None:
    # The tag may follow a name prefix a WeChat client adds to quotes, but it must be on the first line.
    lines = quoted_text.strip().splitlines()
    match = _QUOTED_REF.search(lines[0]) if lines else None
    if match is None:
        return None
    repo = RepoName.try_parse(match["repo"])
    return None if repo is None else NoticeRef(repo=repo, number=int(match["number"]))


# --- the few payload fields we read (GitHub sends far more; unknown fields are ignored) ---------------------


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class _User(_Model):
    login: str


class _Repository(_Model):
    full_name: str


class _Issue(_Model):
    number: int
    title: str
    html_url: str
    user: _User
    body: str | None = None
    pull_request: dict[str, object] | None = Field(default=None, description="Present on pull requests.")


class _Comment(_Model):
    body: str | None = None
    html_url: str
    user: _User


class _PullRequest(_Model):
    number: int
    title: str
    html_url: str
    user: _User
    body: str | None = None
    merged: bool | None = None
    merged_at: str | None = None


class _Review(_Model):
    state: str
    body: str | None = None
    html_url: str
    user: _User


class _Release(_Model):
    tag_name: str
    name: str | None = None
    html_url: str
    author: _User
    prerelease: bool = False


class _Payload(_Model):
    action: str | None = None
    repository: _Repository
    sender: _User
    issue: _Issue | None = None
    comment: _Comment | None = None
    pull_request: _PullRequest | None = None
    review: _Review | None = None
    release: _Release | None = None


_Renderer: TypeAlias = Callable[[RepoName, _Payload], "Notice | None"]


def notice_for(event: str, payload: dict[str, object]) -> Notice | None:
    """The notice for a delivery, or None for events and actions rooms are not told about."""
    try:
        parsed = _Payload.model_validate(payload)
    except ValidationError:
        return None
    repo = RepoName.try_parse(parsed.repository.full_name)
    if repo is None:
        return None
    render = _RENDERERS.get((event, parsed.action or ""))
    notice = None if render is None else render(repo, parsed)
    return None if notice is None else replace(notice, zh=for_chat(notice.zh), en=for_chat(notice.en))


def _short(text: str | None, limit: int) -> str:
    line = " ".join((text or "").split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def _head(repo: RepoName, number: int) -> str:
    return f"{NOTICE_TAG} {repo.full_name}#{number}"


def _issue_state(zh_verb: str, en_verb: str, *, ours_if_marked: bool = False) -> _Renderer:
    """`ours_if_marked`: an issue we opened from chat carries our marker; its "opened" echo is skipped."""

    def render(repo: RepoName, payload: _Payload) -> Notice | None:
        issue = payload.issue
        if issue is None:
            return None
        title = _short(issue.title, _TITLE_LIMIT)
        who = payload.sender.login
        return Notice(
            repo=repo,
            number=issue.number,
            category=Category.ISSUES,
            zh=f"{_head(repo, issue.number)} {zh_verb}：{title}\n{who} · {issue.html_url}",
            en=f"{_head(repo, issue.number)} {en_verb}: {title}\nby {who} · {issue.html_url}",
            origin=origin_digest(issue.body) if ours_if_marked else None,
        )

    return render


def _issue_comment(repo: RepoName, payload: _Payload) -> Notice | None:
    issue, comment = payload.issue, payload.comment
    if issue is None or comment is None:
        return None
    kind_zh, kind_en = ("PR", "PR") if issue.pull_request is not None else ("Issue", "issue")
    title = _short(issue.title, _TITLE_LIMIT)
    excerpt = _short(comment.body, _EXCERPT_LIMIT)
    who = comment.user.login
    head = _head(repo, issue.number)
    return Notice(
        repo=repo,
        number=issue.number,
        category=Category.COMMENTS,
        zh=f"{head} {who} 评论了 {kind_zh}「{title}」：\n{excerpt}\n{comment.html_url}",
        en=f"{head} {who} commented on {kind_en} “{title}”:\n{excerpt}\n{comment.html_url}",
        origin=origin_digest(comment.body),
    )


def _pull_opened(repo: RepoName, payload: _Payload) -> Notice | None:
    pull = payload.pull_request
    if pull is None:
        return None
    title = _short(pull.title, _TITLE_LIMIT)
    head = _head(repo, pull.number)
    return Notice(
        repo=repo,
        number=pull.number,
        category=Category.PULLS,
        zh=f"{head} 新 PR：{title}\n{pull.user.login} · {pull.html_url}",
        en=f"{head} pull request opened: {title}\nby {pull.user.login} · {pull.html_url}",
        origin=None,
    )


def _pull_closed(repo: RepoName, payload: _Payload) -> Notice | None:
    pull = payload.pull_request
    if pull is None:
        return None
    title = _short(pull.title, _TITLE_LIMIT)
    head = _head(repo, pull.number)
    who = payload.sender.login
    merged = bool(pull.merged) or pull.merged_at is not None
    zh_verb, en_verb = ("PR 已合并", "pull request merged") if merged else ("PR 已关闭", "PR closed")
    return Notice(
        repo=repo,
        number=pull.number,
        category=Category.PULLS,
        zh=f"{head} {zh_verb}：{title}\n{who} · {pull.html_url}",
        en=f"{head} {en_verb}: {title}\nby {who} · {pull.html_url}",
        origin=None,
    )


_REVIEW_STATES = {
    "approved": ("批准了", "approved"),
    "changes_requested": ("要求修改", "requested changes on"),
    "commented": ("评审了", "reviewed"),
}


def _review_submitted(repo: RepoName, payload: _Payload) -> Notice | None:
    pull, review = payload.pull_request, payload.review
    if pull is None or review is None:
        return None
    zh_verb, en_verb = _REVIEW_STATES.get(review.state.lower(), ("评审了", "reviewed"))
    title = _short(pull.title, _TITLE_LIMIT)
    excerpt = _short(review.body, _EXCERPT_LIMIT)
    head = _head(repo, pull.number)
    who = review.user.login
    zh = f"{head} {who} {zh_verb} PR「{title}」"
    en = f"{head} {who} {en_verb} pull request “{title}”"
    if excerpt:
        zh, en = f"{zh}：\n{excerpt}", f"{en}:\n{excerpt}"
    return Notice(
        repo=repo,
        number=pull.number,
        category=Category.REVIEWS,
        zh=f"{zh}\n{review.html_url}",
        en=f"{en}\n{review.html_url}",
        origin=None,
    )


def _release_published(repo: RepoName, payload: _Payload) -> Notice | None:
    release = payload.release
    if release is None:
        return None
    name = _short(release.name or release.tag_name, _TITLE_LIMIT)
    zh_kind, en_kind = ("预发布", "pre-release") if release.prerelease else ("发布", "release")
    head = f"{NOTICE_TAG} {repo.full_name}@{release.tag_name}"
    return Notice(
        repo=repo,
        number=None,
        category=Category.RELEASES,
        zh=f"{head} 新{zh_kind}：{name}\n{release.author.login} · {release.html_url}",
        en=f"{head} {en_kind} published: {name}\nby {release.author.login} · {release.html_url}",
        origin=None,
    )


_RENDERERS: dict[tuple[str, str], _Renderer] = {
    ("issues", "opened"): _issue_state("新 Issue", "issue opened", ours_if_marked=True),
    ("issues", "closed"): _issue_state("Issue 已关闭", "issue closed"),
    ("issues", "reopened"): _issue_state("Issue 重新打开", "issue reopened"),
    ("issue_comment", "created"): _issue_comment,
    ("pull_request", "opened"): _pull_opened,
    ("pull_request", "closed"): _pull_closed,
    ("pull_request_review", "submitted"): _review_submitted,
    ("release", "published"): _release_published,
}
