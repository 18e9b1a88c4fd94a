"""A local stand-in for the GitHub REST API: a real HTTP server on a free port.

It implements only what github-sync calls, with GitHub's request and response shapes (REST API docs,
version 2022-11-28 and later): create an issue, create an issue comment, list a repository's labels, and
create an installation access token for GitHub App auth. Any answer can be scripted ahead of the real one
(`fake.script("POST", "/repos/acme/widgets/issues", Scripted(502))`) to act out outages and rate limits.
"""

from __future__ import annotations

import json
import re
import threading
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt

WEB = "https://github.com"
DOCS = "https://docs.github.com/rest"


@dataclass(frozen=True)
class Scripted:
    """An answer given instead of the real one, once."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class _Repo:
    owner: str
    name: str
    id: int
    labels: list[str]
    issues: dict[int, dict[str, Any]] = field(default_factory=dict)
    comments: list[dict[str, Any]] = field(default_factory=list)
    next_number: int = 1

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"


@dataclass(frozen=True)
class FakeApp:
    """A GitHub App the fake accepts: JWTs must be RS256-signed with `public_key` and issued by `app_id`."""

    app_id: str
    public_key: str
    installation_id: int


_ISSUES = re.compile(r"^/repos/(?P<owner>[^/]+)/(?P<repo>[^/]+)/issues$")
_COMMENTS = re.compile(r"^/repos/(?P<owner>[^/]+)/(?P<repo>[^/]+)/issues/(?P<number>\d+)/comments$")
_LABELS = re.compile(r"^/repos/(?P<owner>[^/]+)/(?P<repo>[^/]+)/labels$")
_ACCESS_TOKENS = re.compile(r"^/app/installations/(?P<installation>\d+)/access_tokens$")


class FakeGitHub:
    def __init__(self, *, token: str = "ghp_fake_token_for_tests", app: FakeApp | None = None) -> None:
        self._tokens = {token}
        self._app = app
        self._repos: dict[str, _Repo] = {}
        self._scripts: dict[tuple[str, str], deque[Scripted]] = {}
        self._lock = threading.Lock()
        self._ids = iter(range(3_000_000_000, 4_000_000_000))
        self.requests: list[Recorded] = []
        self._gate: threading.Event | None = None
        self._server = _Server(("127.0.0.1", 0), _handler_for(self))
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-github", daemon=True
        )

    # --- lifecycle -------------------------------------------------------------------------------------------

    def __enter__(self) -> FakeGitHub:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        if self._gate is not None:
            self._gate.set()  # let held requests finish, or shutdown would wait for them
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/"

    # --- arranging -------------------------------------------------------------------------------------------

    def add_repo(self, full_name: str, labels: list[str] | None = None) -> None:
        owner, name = full_name.split("/")
        with self._lock:
            self._repos[full_name.lower()] = _Repo(
                owner, name, next(self._ids), labels if labels is not None else ["bug", "documentation"]
            )

    def add_issue(self, full_name: str, number: int, title: str) -> None:
        """An issue that already exists (e.g. one a notice is about)."""
        repo = self._repos[full_name.lower()]
        with self._lock:
            repo.issues[number] = self._issue_json(repo, number, title, "", [], "octocat")
            repo.next_number = max(repo.next_number, number + 1)

    def script(self, method: str, path: str, *answers: Scripted) -> None:
        with self._lock:
            self._scripts.setdefault((method.upper(), path), deque()).extend(answers)

    def hold(self) -> threading.Event:
        """A slow GitHub: every request waits (at most 10 s) until the returned event is set."""
        self._gate = threading.Event()
        return self._gate

    # --- inspecting ------------------------------------------------------------------------------------------

    def issues(self, full_name: str) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._repos[full_name.lower()].issues.values())

    def comments(self, full_name: str) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._repos[full_name.lower()].comments)

    def calls(self, method: str, path: str) -> list[Recorded]:
        with self._lock:
            return [call for call in self.requests if call.method == method and call.path == path]

    # --- serving ---------------------------------------------------------------------------------------------

    def handle(
        self, method: str, path: str, headers: dict[str, str], raw: bytes
    ) -> tuple[int, Any, dict[str, str]]:
        body = json.loads(raw) if raw else None
        if self._gate is not None:
            self._gate.wait(timeout=10)
        with self._lock:
            self.requests.append(Recorded(method, path, headers, body))
            scripted = self._scripts.get((method, path))
            if scripted:
                answer = scripted.popleft()
                return answer.status, answer.body, answer.headers
        if (match := _ACCESS_TOKENS.match(path)) and method == "POST":
            return self._access_token(int(match["installation"]), headers)
        if not self._authorized(headers):
            return 401, _error("Bad credentials", "401"), {}
        if (match := _ISSUES.match(path)) and method == "POST":
            return self._create_issue(match["owner"], match["repo"], body)
        if (match := _COMMENTS.match(path)) and method == "POST":
            return self._create_comment(match["owner"], match["repo"], int(match["number"]), body)
        if (match := _LABELS.match(path)) and method == "GET":
            return self._list_labels(match["owner"], match["repo"])
        return 404, _error("Not Found", "404"), {}

    def _authorized(self, headers: dict[str, str]) -> bool:
        scheme, _, credential = headers.get("authorization", "").partition(" ")
        return scheme.lower() in {"token", "bearer"} and credential in self._tokens

    def _access_token(self, installation: int, headers: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        scheme, _, token = headers.get("authorization", "").partition(" ")
        app = self._app
        if app is None or scheme.lower() != "bearer":
            return 401, _error("A JSON web token could not be decoded", "401"), {}
        try:
            claims = jwt.decode(
                token, app.public_key, algorithms=["RS256"], options={"require": ["iat", "exp"]}
            )
        except jwt.PyJWTError:
            return 401, _error("A JSON web token could not be decoded", "401"), {}
        if str(claims.get("iss")) != app.app_id or installation != app.installation_id:
            return 404, _error("Not Found", "404"), {}
        minted = f"ghs_{next(self._ids)}fakeinstallationtoken"
        with self._lock:
            self._tokens.add(minted)
        expires = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        token_json = {
            "token": minted,
            "expires_at": expires,
            "permissions": {"issues": "write", "metadata": "read"},
            "repository_selection": "all",
        }
        return 201, token_json, {}

    def _repo(self, owner: str, name: str) -> _Repo | None:
        return self._repos.get(f"{owner}/{name}".lower())

    def _create_issue(self, owner: str, name: str, body: Any) -> tuple[int, Any, dict[str, str]]:
        repo = self._repo(owner, name)
        if repo is None:
            return 404, _error("Not Found", "404"), {}
        problem = _invalid_issue(body)
        if problem is not None:
            return 422, problem, {}
        with self._lock:
            number = repo.next_number
            repo.next_number += 1
            issue = self._issue_json(
                repo, number, str(body["title"]), body.get("body"), list(body.get("labels", [])), "qunbus-bot"
            )
            repo.issues[number] = issue
        return 201, issue, {"location": issue["url"]}

    def _create_comment(
        self, owner: str, name: str, number: int, body: Any
    ) -> tuple[int, Any, dict[str, str]]:
        repo = self._repo(owner, name)
        if repo is None or number not in repo.issues:
            return 404, _error("Not Found", "404"), {}
        if not isinstance(body, dict) or not isinstance(body.get("body"), str):
            return 422, _validation_failed("IssueComment", "body", "missing_field"), {}
        api = f"https://api.github.com/repos/{repo.full_name}"
        comment_id = next(self._ids)
        now = _now()
        comment = {
            "id": comment_id,
            "node_id": f"IC_kwDO{comment_id}",
            "url": f"{api}/issues/comments/{comment_id}",
            "html_url": f"{WEB}/{repo.full_name}/issues/{number}#issuecomment-{comment_id}",
            "body": body["body"],
            "user": _user("qunbus-bot", 90210),
            "created_at": now,
            "updated_at": now,
            "issue_url": f"{api}/issues/{number}",
            "author_association": "NONE",
            "reactions": _reactions(f"{api}/issues/comments/{comment_id}/reactions"),
            "performed_via_github_app": None,
        }
        with self._lock:
            repo.comments.append(comment)
        return 201, comment, {"location": comment["url"]}

    def _list_labels(self, owner: str, name: str) -> tuple[int, Any, dict[str, str]]:
        repo = self._repo(owner, name)
        if repo is None:
            return 404, _error("Not Found", "404"), {}
        return 200, [_label(repo, label) for label in repo.labels], {}

    def _issue_json(
        self, repo: _Repo, number: int, title: str, body: str | None, labels: list[str], author: str
    ) -> dict[str, Any]:
        api = f"https://api.github.com/repos/{repo.full_name}"
        now = _now()
        issue_id = next(self._ids)
        return {
            "id": issue_id,
            "node_id": f"I_kwDO{issue_id}",
            "url": f"{api}/issues/{number}",
            "repository_url": api,
            "labels_url": f"{api}/issues/{number}/labels{{/name}}",
            "comments_url": f"{api}/issues/{number}/comments",
            "events_url": f"{api}/issues/{number}/events",
            "html_url": f"{WEB}/{repo.full_name}/issues/{number}",
            "number": number,
            "state": "open",
            "state_reason": None,
            "title": title,
            "body": body,
            "user": _user(author, 90210),
            "labels": [_label(repo, label) for label in labels],
            "assignee": None,
            "assignees": [],
            "milestone": None,
            "locked": False,
            "active_lock_reason": None,
            "comments": 0,
            "closed_at": None,
            "created_at": now,
            "updated_at": now,
            "closed_by": None,
            "author_association": "NONE",
            "reactions": _reactions(f"{api}/issues/{number}/reactions"),
            "timeline_url": f"{api}/issues/{number}/timeline",
            "performed_via_github_app": None,
            "sub_issues_summary": {"total": 0, "completed": 0, "percent_completed": 0},
        }


def _invalid_issue(body: Any) -> dict[str, Any] | None:
    if not isinstance(body, dict) or not body.get("title"):
        return _validation_failed("Issue", "title", "missing_field")
    labels = body.get("labels", [])
    if not isinstance(labels, list) or not all(isinstance(label, str) for label in labels):
        return _validation_failed("Issue", "labels", "invalid")
    return None


def _error(message: str, status: str) -> dict[str, str]:
    return {"message": message, "documentation_url": DOCS, "status": status}


def _validation_failed(resource: str, field_name: str, code: str) -> dict[str, Any]:
    return {
        "message": "Validation Failed",
        "errors": [{"resource": resource, "code": code, "field": field_name}],
        "documentation_url": f"{DOCS}/issues/issues#create-an-issue",
        "status": "422",
    }


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _user(login: str, user_id: int) -> dict[str, Any]:
    api = f"https://api.github.com/users/{login}"
    return {
        "login": login,
        "id": user_id,
        "node_id": f"MDQ6VXNlcj{user_id}",
        "avatar_url": f"https://avatars.githubusercontent.com/u/{user_id}?v=4",
        "gravatar_id": "",
        "url": api,
        "html_url": f"{WEB}/{login}",
        "followers_url": f"{api}/followers",
        "following_url": f"{api}/following{{/other_user}}",
        "gists_url": f"{api}/gists{{/gist_id}}",
        "starred_url": f"{api}/starred{{/owner}}{{/repo}}",
        "subscriptions_url": f"{api}/subscriptions",
        "organizations_url": f"{api}/orgs",
        "repos_url": f"{api}/repos",
        "events_url": f"{api}/events{{/privacy}}",
        "received_events_url": f"{api}/received_events",
        "type": "User",
        "user_view_type": "public",
        "site_admin": False,
    }


def _label(repo: _Repo, name: str) -> dict[str, Any]:
    label_id = abs(hash((repo.full_name, name))) % 10_000_000_000
    return {
        "id": label_id,
        "node_id": f"LA_kwDO{label_id}",
        "url": f"https://api.github.com/repos/{repo.full_name}/labels/{name.replace(' ', '%20')}",
        "name": name,
        "description": None,
        "color": "d73a4a",
        "default": name in {"bug", "documentation", "enhancement", "question", "help wanted"},
        "archived_at": None,
        "archived_by": None,
    }


def _reactions(url: str) -> dict[str, Any]:
    counts = dict.fromkeys(["+1", "-1", "laugh", "hooray", "confused", "heart", "rocket", "eyes"], 0)
    return {"url": url, "total_count": 0, **counts}


class _Server(ThreadingHTTPServer):
    # Handler threads may sit on an idle keep-alive connection; they must never hold up shutdown.
    daemon_threads = True
    block_on_close = False


def _handler_for(fake: FakeGitHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length) if length else b""
            headers = {name.lower(): value for name, value in self.headers.items()}
            status, body, extra = fake.handle(self.command, self.path.split("?")[0], headers, raw)
            payload = b"" if body is None else json.dumps(body).encode()
            self.send_response(status)
            for name, value in {**_standard_headers(), **extra}.items():
                self.send_header(name, value)
            self.send_header("content-type", "application/json; charset=utf-8")
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PATCH = do_DELETE = _serve  # noqa: N815 - http.server's naming

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler


def _standard_headers() -> dict[str, str]:
    reset = int((datetime.now(UTC) + timedelta(hours=1)).timestamp())
    return {
        "x-github-api-version-selected": "2022-11-28",
        "x-github-media-type": "github.v3; format=json",
        "x-ratelimit-limit": "5000",
        "x-ratelimit-remaining": "4999",
        "x-ratelimit-reset": str(reset),
        "x-ratelimit-used": "1",
        "x-ratelimit-resource": "core",
        "x-github-request-id": "C0DE:1F2E:3A4B5C:6D7E8F:6740A0B1",
    }


def rate_limited(retry_after_s: int) -> Scripted:
    """A secondary rate limit answer as GitHub sends it."""
    return Scripted(
        403,
        {
            "message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
            "documentation_url": f"{DOCS}/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits",
            "status": "403",
        },
        {"retry-after": str(retry_after_s)},
    )


def bad_gateway() -> Scripted:
    return Scripted(502, {"message": "Server Error"})
