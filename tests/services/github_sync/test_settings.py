from pathlib import Path

import pytest

from services.github_sync.settings import GithubSyncSettings


def test_reads_githubs_usual_names_and_its_own_prefix(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    key_file = tmp_path / "app.pem"
    key_file.write_text("-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----\n", encoding="utf-8")
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    monkeypatch.setenv("GITHUB_APP_ID", "123456")
    monkeypatch.setenv("GITHUB_APP_PRIVATE_KEY_FILE", str(key_file))
    monkeypatch.setenv("GITHUB_APP_INSTALLATION_ID", "987")
    monkeypatch.setenv("GITHUB_API_URL", "https://ghe.example.com/api/v3/")
    monkeypatch.setenv("GITHUB_WEBHOOK_SECRET", "s3cret")
    monkeypatch.setenv("GITHUB_SYNC_NOTICES_PER_HOUR", "4")
    monkeypatch.setenv("GITHUB_SYNC_CONFIG", str(tmp_path / "bindings.yaml"))
    settings = GithubSyncSettings()
    credentials = settings.credentials()
    assert credentials is not None
    assert (credentials.app_id, credentials.app_installation_id, credentials.token) == ("123456", 987, None)
    assert credentials.app_private_key is not None
    assert credentials.app_private_key.startswith("-----BEGIN PRIVATE KEY-----")
    assert settings.github_api_url == "https://ghe.example.com/api/v3/"
    assert settings.webhook_secret == b"s3cret"
    assert settings.budget_policy().per_hour == 4
    assert settings.config == tmp_path / "bindings.yaml"


def test_secrets_never_show_in_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_supersecret")
    monkeypatch.setenv("GITHUB_WEBHOOK_SECRET", "hooksecret")
    settings = GithubSyncSettings()
    assert "ghp_supersecret" not in repr(settings)
    assert "hooksecret" not in repr(settings)
    credentials = settings.credentials()
    assert credentials is not None
    assert credentials.token == "ghp_supersecret"
    assert "ghp_supersecret" not in repr(credentials)


def test_no_credentials_is_allowed_but_known(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("GITHUB_TOKEN", "GITHUB_APP_ID", "GITHUB_APP_PRIVATE_KEY", "GITHUB_APP_PRIVATE_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GITHUB_APP_ID", "1")  # an incomplete App is no App
    assert GithubSyncSettings().credentials() is None


def test_a_one_line_pem_from_an_env_file_gets_its_newlines_back(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    monkeypatch.setenv("GITHUB_APP_ID", "1")
    monkeypatch.setenv("GITHUB_APP_INSTALLATION_ID", "2")
    monkeypatch.setenv(
        "GITHUB_APP_PRIVATE_KEY", r"-----BEGIN RSA PRIVATE KEY-----\nabc\n-----END RSA PRIVATE KEY-----"
    )
    credentials = GithubSyncSettings().credentials()
    assert credentials is not None
    assert (
        credentials.app_private_key == "-----BEGIN RSA PRIVATE KEY-----\nabc\n-----END RSA PRIVATE KEY-----"
    )


def test_the_outbox_lock_outlasts_the_longest_attempt() -> None:
    """15 s x 4 tries + 7 s backoff + 3 x 10 s rate-limit waits, twice (labels, then the issue): 194 s > 120 s."""
    settings = GithubSyncSettings(_env_file=None)
    assert settings.longest_attempt_s() == 194.0
    assert settings.outbox_policy().lock_for.total_seconds() == 194.0
    quick = GithubSyncSettings(_env_file=None, request_timeout_s=1, retries=0, outbox_lock_s=30)
    assert quick.outbox_policy().lock_for.total_seconds() == 30.0
