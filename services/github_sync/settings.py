"""github-sync settings: the shared QunSettings, GITHUB_SYNC_* variables, and GitHub's usual GITHUB_* names."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from services.github_sync.budget import BudgetPolicy
from services.github_sync.github_client import GitHubCredentials, RetryPolicy
from services.github_sync.outbox import OutboxPolicy
from services.shared import QunSettings
from services.shared.settings import env


class GithubSyncSettings(QunSettings):
    model_config = SettingsConfigDict(
        env_prefix="GITHUB_SYNC_", frozen=True, extra="ignore", populate_by_name=True
    )

    # --- GitHub's own conventions (unprefixed); secrets are SecretStr so they never reach a log -------------
    github_token: SecretStr | None = Field(None, validation_alias=env("GITHUB_TOKEN"))
    github_app_id: str | None = Field(None, validation_alias=env("GITHUB_APP_ID"))
    github_app_private_key: SecretStr | None = Field(None, validation_alias=env("GITHUB_APP_PRIVATE_KEY"))
    github_app_private_key_file: Path | None = Field(
        None, validation_alias=env("GITHUB_APP_PRIVATE_KEY_FILE")
    )
    github_app_installation_id: int | None = Field(None, validation_alias=env("GITHUB_APP_INSTALLATION_ID"))
    github_api_url: str = Field(
        "https://api.github.com/",
        validation_alias=env("GITHUB_API_URL"),
        description="GitHub Enterprise: https://HOST/api/v3/",
    )
    github_webhook_secret: SecretStr | None = Field(
        None,
        validation_alias=env("GITHUB_WEBHOOK_SECRET"),
        description="Without it every delivery is refused",
    )

    # --- GITHUB_SYNC_* ---------------------------------------------------------------------------------------
    config: Path | None = Field(None, description="YAML file: room ↔ repository bindings, label aliases")
    history_timeout_s: float = Field(
        3.0, gt=0, description="How long to wait for the history service's answer (the room's last messages)"
    )
    delivery_memory_days: float = Field(
        7.0, gt=0, description="How long a webhook delivery id is remembered to ignore redeliveries"
    )
    webhook_concurrency: int = Field(8, ge=1, description="Webhook deliveries worked on at once per replica")
    webhook_queue_wait_s: float = Field(
        5.0,
        ge=0,
        description="A delivery that waited this long for its turn gets 503 (GitHub gives up at 10 s)",
    )
    commenters: Literal["members", "admins"] = Field(
        "members",
        description="Who may turn a reply to a notice into a GitHub comment (decided by contact id): any member of "
        "the room, or its admins only",
    )
    announced_memory_days: float = Field(
        30.0, gt=0, description="How long a posted notice can be answered by quoting it (a reply → a comment)"
    )
    notices_per_hour: int = Field(
        6,
        ge=2,
        description="GitHub messages per room per hour, the digest included: the rest wait, folded into one digest",
    )
    digest_quiet_s: float = Field(
        120.0,
        gt=0,
        description="A burst of notices has ended when none came for this long: its digest goes out then "
        "(or when the hour's budget renews)",
    )
    notice_max_late_s: float = Field(
        1800.0, gt=0, description="A notice or digest the gateway could not send within this is dropped"
    )
    digest_poll_s: float = Field(5.0, gt=0, description="How often due digests are looked for")
    request_timeout_s: float = Field(15.0, gt=0, description="One HTTP call to GitHub")
    retries: int = Field(3, ge=0, description="Retries in place of one GitHub call (5xx, connection errors)")
    retry_base_s: float = Field(1.0, gt=0, description="First backoff of those retries; doubles each time")
    rate_limit_wait_max_s: float = Field(
        10.0,
        ge=0,
        description="A rate limit lifting sooner is waited out in place; a later one goes to the outbox",
    )
    outbox_first_retry_s: float = Field(
        30.0, gt=0, description="First delay of a write GitHub could not take"
    )
    outbox_max_retry_s: float = Field(1800.0, gt=0, description="Longest delay between two attempts")
    outbox_poll_s: float = Field(5.0, gt=0, description="How often the outbox is checked for due writes")
    outbox_lock_s: float = Field(
        120.0,
        gt=0,
        description="How long one replica owns an attempt; raised to cover the longest attempt the GitHub "
        "settings allow, so a slow attempt cannot lose its lock to a second replica sending the same write",
    )

    def credentials(self) -> GitHubCredentials | None:
        """None when neither a token nor a complete GitHub App is configured."""
        key = self.github_app_private_key.get_secret_value() if self.github_app_private_key else None
        if key is None and self.github_app_private_key_file is not None:
            key = self.github_app_private_key_file.read_text(encoding="utf-8")
        if key is not None and "\n" not in key:
            key = key.replace("\\n", "\n")  # a PEM squeezed onto one line of an env file
        credentials = GitHubCredentials(
            token=self.github_token.get_secret_value() if self.github_token else None,
            app_id=self.github_app_id,
            app_private_key=key,
            app_installation_id=self.github_app_installation_id,
        )
        return credentials if credentials.complete else None

    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(
            max_retries=self.retries,
            base_delay=timedelta(seconds=self.retry_base_s),
            max_inline_wait=timedelta(seconds=self.rate_limit_wait_max_s),
        )

    def outbox_policy(self) -> OutboxPolicy:
        return OutboxPolicy(
            first_retry=timedelta(seconds=self.outbox_first_retry_s),
            max_retry=timedelta(seconds=self.outbox_max_retry_s),
            lock_for=timedelta(seconds=max(self.outbox_lock_s, self.longest_attempt_s())),
        )

    def longest_attempt_s(self) -> float:
        """One outbox attempt at worst: two GitHub calls (labels, then the issue), each timing out on every try,
        with the backoff and the longest rate-limit wait between tries."""
        tries = self.retries + 1
        backoff = self.retry_base_s * float(2**self.retries - 1)
        one_call = tries * self.request_timeout_s + backoff + self.retries * self.rate_limit_wait_max_s
        return 2 * one_call

    def budget_policy(self) -> BudgetPolicy:
        return BudgetPolicy(per_hour=self.notices_per_hour, quiet=timedelta(seconds=self.digest_quiet_s))

    @property
    def notice_max_late(self) -> timedelta:
        return timedelta(seconds=self.notice_max_late_s)

    @property
    def delivery_memory(self) -> timedelta:
        return timedelta(days=self.delivery_memory_days)

    @property
    def announced_memory(self) -> timedelta:
        return timedelta(days=self.announced_memory_days)

    @property
    def webhook_secret(self) -> bytes:
        return self.github_webhook_secret.get_secret_value().encode() if self.github_webhook_secret else b""
