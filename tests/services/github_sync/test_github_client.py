from collections.abc import AsyncIterator, Iterator
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from services.github_sync.github_client import (
    GitHubCredentials,
    GitHubKitTracker,
    GitHubRejectedError,
    GitHubUnavailableError,
    RetryPolicy,
    build_github,
)
from services.github_sync.repos import RepoName
from tests.services.github_sync.fake_github import FakeApp, FakeGitHub, Scripted, bad_gateway, rate_limited

TOKEN = "ghp_fake_token_for_tests"
WIDGETS = RepoName("acme", "widgets")
ISSUES = "/repos/acme/widgets/issues"
FAST = RetryPolicy(max_retries=2, base_delay=timedelta(milliseconds=10), max_inline_wait=timedelta(seconds=1))


@pytest.fixture
def fake() -> Iterator[FakeGitHub]:
    with FakeGitHub(token=TOKEN) as fake:
        fake.add_repo("acme/widgets", labels=["bug", "documentation"])
        yield fake


@pytest.fixture
async def tracker(fake: FakeGitHub) -> AsyncIterator[GitHubKitTracker]:
    async with build_github(GitHubCredentials(token=TOKEN), base_url=fake.url, policy=FAST) as github:
        yield GitHubKitTracker(github)


async def test_create_issue_sends_githubs_request_shape(fake: FakeGitHub, tracker: GitHubKitTracker) -> None:
    created = await tracker.create_issue(WIDGETS, title="Login broken", body="transcript", labels=["bug"])
    assert (created.number, created.html_url) == (1, "https://github.com/acme/widgets/issues/1")
    (call,) = fake.calls("POST", ISSUES)
    assert call.body == {"title": "Login broken", "body": "transcript", "labels": ["bug"]}
    assert call.headers["authorization"] == f"token {TOKEN}"
    assert call.headers["accept"].startswith("application/vnd.github")


async def test_comment_and_labels(fake: FakeGitHub, tracker: GitHubKitTracker) -> None:
    fake.add_issue("acme/widgets", 42, "existing")
    created = await tracker.create_comment(WIDGETS, 42, body="me too")
    assert created.number == 42
    assert "#issuecomment-" in created.html_url
    assert fake.comments("acme/widgets")[0]["body"] == "me too"
    assert await tracker.list_labels(WIDGETS) == ["bug", "documentation"]


async def test_502_then_201_is_retried_in_place(fake: FakeGitHub, tracker: GitHubKitTracker) -> None:
    fake.script("POST", ISSUES, bad_gateway())
    created = await tracker.create_issue(WIDGETS, title="t", body="b", labels=[])
    assert created.number == 1
    assert len(fake.calls("POST", ISSUES)) == 2


async def test_persistent_5xx_means_unavailable(fake: FakeGitHub, tracker: GitHubKitTracker) -> None:
    fake.script("POST", ISSUES, bad_gateway(), Scripted(503), bad_gateway())
    with pytest.raises(GitHubUnavailableError):
        await tracker.create_issue(WIDGETS, title="t", body="b", labels=[])
    assert len(fake.calls("POST", ISSUES)) == 3  # first try + 2 retries
    assert fake.issues("acme/widgets") == []


async def test_short_secondary_rate_limit_is_waited_out(fake: FakeGitHub, tracker: GitHubKitTracker) -> None:
    fake.script("POST", ISSUES, rate_limited(retry_after_s=0))
    assert (await tracker.create_issue(WIDGETS, title="t", body="b", labels=[])).number == 1


async def test_long_rate_limit_goes_back_with_its_retry_after(
    fake: FakeGitHub, tracker: GitHubKitTracker
) -> None:
    fake.script("POST", ISSUES, rate_limited(retry_after_s=120))
    with pytest.raises(GitHubUnavailableError) as raised:
        await tracker.create_issue(WIDGETS, title="t", body="b", labels=[])
    assert raised.value.retry_after == timedelta(seconds=120)
    assert len(fake.calls("POST", ISSUES)) == 1


async def test_primary_rate_limit_uses_the_reset_time(fake: FakeGitHub, tracker: GitHubKitTracker) -> None:
    exhausted = Scripted(
        403,
        {"message": "API rate limit exceeded for installation ID 1.", "status": "403"},
        {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "4102444800"},  # 2100-01-01
    )
    fake.script("POST", ISSUES, exhausted)
    with pytest.raises(GitHubUnavailableError) as raised:
        await tracker.create_issue(WIDGETS, title="t", body="b", labels=[])
    assert raised.value.retry_after is not None
    assert raised.value.retry_after > timedelta(days=1)


@pytest.mark.parametrize(
    ("status", "message"), [(404, "Not Found"), (422, "Validation Failed"), (410, "Gone")]
)
async def test_permanent_refusals_are_rejections(
    fake: FakeGitHub, tracker: GitHubKitTracker, status: int, message: str
) -> None:
    fake.script("POST", ISSUES, Scripted(status, {"message": message, "status": str(status)}))
    with pytest.raises(GitHubRejectedError) as raised:
        await tracker.create_issue(WIDGETS, title="t", body="b", labels=[])
    assert (raised.value.status, raised.value.message) == (status, message)
    assert len(fake.calls("POST", ISSUES)) == 1


async def test_bad_credentials_are_kept_for_later_not_dropped(fake: FakeGitHub) -> None:
    async with build_github(GitHubCredentials(token="revoked"), base_url=fake.url, policy=FAST) as github:
        with pytest.raises(GitHubUnavailableError):
            await GitHubKitTracker(github).create_issue(WIDGETS, title="t", body="b", labels=[])


async def test_connection_refused_is_unavailable() -> None:
    with FakeGitHub() as gone:
        url = gone.url
    async with build_github(GitHubCredentials(token=TOKEN), base_url=url, policy=FAST) as github:
        with pytest.raises(GitHubUnavailableError):
            await GitHubKitTracker(github).list_labels(WIDGETS)


async def test_github_app_installation_auth() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public_pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    app = FakeApp(app_id="123456", public_key=public_pem, installation_id=987)
    with FakeGitHub(app=app) as fake:
        fake.add_repo("acme/widgets")
        credentials = GitHubCredentials(app_id="123456", app_private_key=private_pem, app_installation_id=987)
        async with build_github(credentials, base_url=fake.url, policy=FAST) as github:
            created = await GitHubKitTracker(github).create_issue(WIDGETS, title="t", body="b", labels=[])
        assert created.number == 1
        (token_call,) = fake.calls("POST", "/app/installations/987/access_tokens")
        assert token_call.headers["authorization"].startswith("Bearer ey")
        (issue_call,) = fake.calls("POST", ISSUES)
        assert issue_call.headers["authorization"].startswith("token ghs_")


def test_credentials_must_be_complete() -> None:
    with pytest.raises(ValueError, match="GITHUB_TOKEN"):
        GitHubCredentials(app_id="1", app_private_key="k").auth()
