import json
from pathlib import Path
from typing import Any

import pytest

from services.github_sync.categories import Category
from services.github_sync.notices import NoticeRef, notice_for, parse_quoted_ref
from services.github_sync.origin import origin_marker, room_digest
from services.github_sync.repos import RepoName

PAYLOADS = Path(__file__).parent / "payloads"
WIDGETS = RepoName("acme", "widgets")


def payload(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((PAYLOADS / f"{name}.json").read_text(encoding="utf-8"))
    return data


@pytest.mark.parametrize(
    ("event", "fixture", "category", "number", "zh", "en"),
    [
        (
            "issues",
            "issues.opened",
            Category.ISSUES,
            42,
            "新 Issue：Login button",
            "issue opened: Login button",
        ),
        ("issues", "issues.closed", Category.ISSUES, 42, "Issue 已关闭：Login", "issue closed: Login"),
        ("issues", "issues.reopened", Category.ISSUES, 42, "Issue 重新打开：Login", "issue reopened: Login"),
        (
            "issue_comment",
            "issue_comment.created",
            Category.COMMENTS,
            42,
            "bob-dev 评论了 Issue",
            "bob-dev commented",
        ),
        ("issue_comment", "issue_comment.created.pull_request", Category.COMMENTS, 57, "评论了 PR", "on PR"),
        (
            "pull_request",
            "pull_request.opened",
            Category.PULLS,
            57,
            "新 PR：Fix Safari",
            "pull request opened",
        ),
        (
            "pull_request",
            "pull_request.closed.merged",
            Category.PULLS,
            57,
            "PR 已合并",
            "pull request merged",
        ),
        ("pull_request", "pull_request.closed.unmerged", Category.PULLS, 57, "PR 已关闭", "PR closed"),
        (
            "pull_request_review",
            "pull_request_review.submitted",
            Category.REVIEWS,
            57,
            "alice 批准了 PR",
            "approved",
        ),
    ],
)
def test_each_event_is_rendered_naming_repo_and_number(
    event: str, fixture: str, category: Category, number: int, zh: str, en: str
) -> None:
    notice = notice_for(event, payload(fixture))
    assert notice is not None
    assert (notice.repo, notice.number, notice.category) == (WIDGETS, number, category)
    assert zh in notice.zh
    assert en in notice.en
    for text in (notice.zh, notice.en):
        assert text.startswith(f"[GitHub] acme/widgets#{number} ")
        assert "https://github.com/acme/widgets/" in text
        # a quote of the notice leads back to the issue or pull request
        assert parse_quoted_ref(text) == NoticeRef(WIDGETS, number)


def test_release_names_the_tag() -> None:
    notice = notice_for("release", payload("release.published"))
    assert notice is not None
    assert notice.category is Category.RELEASES
    assert notice.number is None
    assert notice.en.startswith("[GitHub] acme/widgets@v2.3.0 release published: Widgets 2.3.0")
    assert parse_quoted_ref(notice.en) is None  # nothing to comment on


def test_notices_cannot_ping_the_room_or_read_backwards() -> None:
    """Titles and comments come from strangers on GitHub: no `@所有人` / `@all`, no control, bidirectional or
    invisible characters reach the room."""
    data = payload("issue_comment.created")
    data["issue"]["title"] = "Login \u202eelbuort\u202c @所有人 ＠ all"
    data["comment"]["body"] = "hey @all\x07 look\u2066 here\u2069 @\u200ball"
    notice = notice_for("issue_comment", data)
    assert notice is not None
    for text in (notice.zh, notice.en):
        assert "@所有人" not in text
        assert "@all" not in text.lower()
        assert "＠" not in text
        assert not any(ch in text for ch in "\u202e\u202c\u2066\u2069\u200b\x07")
        assert "Login elbuort 所有人 all" in text
        assert "hey all look here all" in text
        assert parse_quoted_ref(text) == NoticeRef(WIDGETS, 42)  # the head is untouched


def test_comment_excerpt_is_one_short_line() -> None:
    data = payload("issue_comment.created")
    data["comment"]["body"] = "line one\n\n" + "x" * 500
    notice = notice_for("issue_comment", data)
    assert notice is not None
    excerpt = notice.en.splitlines()[1]
    assert excerpt.startswith("line one x")
    assert len(excerpt) == 140
    assert excerpt.endswith("…")


@pytest.mark.parametrize(
    ("event", "fixture"), [("issues", "issues.labeled"), ("ping", "ping"), ("star", "issues.opened")]
)
def test_other_events_and_actions_are_not_announced(event: str, fixture: str) -> None:
    assert notice_for(event, payload(fixture)) is None


def test_a_payload_missing_what_we_need_is_not_announced() -> None:
    data = payload("issues.opened")
    del data["issue"]["number"]
    assert notice_for("issues", data) is None


def test_what_we_wrote_ourselves_carries_its_origin() -> None:
    opened = payload("issues.opened")
    opened["issue"]["body"] = "transcript\n" + origin_marker("dev@chatroom")
    notice = notice_for("issues", opened)
    assert notice is not None
    assert notice.origin == room_digest("dev@chatroom")
    closed = payload("issues.closed")
    closed["issue"]["body"] = opened["issue"]["body"]
    notice = notice_for("issues", closed)
    assert notice is not None
    assert notice.origin is None


@pytest.mark.parametrize(
    ("quoted", "expected"),
    [
        ("[GitHub] acme/widgets#42 issue opened: x", NoticeRef(WIDGETS, 42)),
        ("【GitHub】acme/widgets#7 新 Issue：x", NoticeRef(WIDGETS, 7)),
        ("someone said acme/widgets#42", None),  # only our notices are traced back
        ("QunBot: [GitHub] acme/widgets#9 PR closed", NoticeRef(WIDGETS, 9)),
        ("see below\n[GitHub] acme/widgets#9 PR closed", None),
        ("[GitHub] acme/widgets@v1.0 release published", None),
    ],
)
def test_parse_quoted_ref(quoted: str, expected: NoticeRef | None) -> None:
    assert parse_quoted_ref(quoted) == expected
