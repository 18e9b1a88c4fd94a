"""The fake answers with GitHub's real response shapes: githubkit's REST models accept them."""

from collections.abc import Iterator

import httpx
import pytest
from githubkit.compat import type_validate_python
from githubkit_schemas.latest.models import Issue, IssueComment, Label

from tests.services.github_sync.fake_github import FakeGitHub, Scripted

TOKEN = "ghp_fake_token_for_tests"


@pytest.fixture
def fake() -> Iterator[FakeGitHub]:
    with FakeGitHub(token=TOKEN) as fake:
        fake.add_repo("acme/widgets", labels=["bug", "documentation"])
        yield fake


def client(fake: FakeGitHub, token: str = TOKEN) -> httpx.Client:
    return httpx.Client(base_url=fake.url, headers={"Authorization": f"Bearer {token}"})


def test_create_issue_answers_201_with_an_issue(fake: FakeGitHub) -> None:
    with client(fake) as http:
        response = http.post(
            "/repos/acme/widgets/issues", json={"title": "t", "body": "b", "labels": ["bug"]}
        )
    assert response.status_code == 201
    issue = type_validate_python(Issue, response.json())
    assert (issue.number, issue.title, [label.name for label in issue.labels]) == (1, "t", ["bug"])  # type: ignore[union-attr]
    assert response.headers["location"] == "https://api.github.com/repos/acme/widgets/issues/1"


def test_create_comment_answers_201_with_a_comment(fake: FakeGitHub) -> None:
    fake.add_issue("acme/widgets", 42, "existing")
    with client(fake) as http:
        response = http.post("/repos/acme/widgets/issues/42/comments", json={"body": "hi"})
        missing = http.post("/repos/acme/widgets/issues/43/comments", json={"body": "hi"})
    assert response.status_code == 201
    assert type_validate_python(IssueComment, response.json()).body == "hi"
    assert missing.status_code == 404


def test_labels_list(fake: FakeGitHub) -> None:
    with client(fake) as http:
        response = http.get("/repos/acme/widgets/labels", params={"per_page": 100})
    labels = [type_validate_python(Label, item) for item in response.json()]
    assert [label.name for label in labels] == ["bug", "documentation"]


def test_errors_look_like_githubs(fake: FakeGitHub) -> None:
    with client(fake) as http:
        no_title = http.post("/repos/acme/widgets/issues", json={"body": "b"})
        unknown_repo = http.post("/repos/acme/nope/issues", json={"title": "t"})
    with client(fake, token="wrong") as http:
        bad_token = http.post("/repos/acme/widgets/issues", json={"title": "t"})
    assert no_title.status_code == 422
    assert no_title.json()["message"] == "Validation Failed"
    assert unknown_repo.status_code == 404
    assert unknown_repo.json()["message"] == "Not Found"
    assert bad_token.status_code == 401
    assert bad_token.json()["message"] == "Bad credentials"


def test_scripted_answers_come_first_then_the_real_one(fake: FakeGitHub) -> None:
    fake.script("POST", "/repos/acme/widgets/issues", Scripted(502, {"message": "Server Error"}))
    with client(fake) as http:
        first = http.post("/repos/acme/widgets/issues", json={"title": "t"})
        second = http.post("/repos/acme/widgets/issues", json={"title": "t"})
    assert (first.status_code, second.status_code) == (502, 201)
    assert len(fake.calls("POST", "/repos/acme/widgets/issues")) == 2
    assert len(fake.issues("acme/widgets")) == 1
