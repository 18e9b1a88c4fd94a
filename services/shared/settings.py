"""Settings shared by every service, read from unprefixed environment variables.

A service subclasses `QunSettings` and sets `env_prefix` (e.g. `TAGGER_`) for its own fields; the shared fields
keep their unprefixed names because each declares its variable as an explicit alias.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from services.shared.quotas import QuotaLimits

_USERINFO = re.compile(r"(?<=://)([^/@,\s]*)@")


def without_password(url: str) -> str:
    """`nats://user:secret@host` as `nats://user:***@host`, a token (`nats://secret@host`) as `nats://***@host`;
    each URL of a comma-separated list."""
    return _USERINFO.sub(
        lambda found: found[1].partition(":")[0] + ":***@" if ":" in found[1] else "***@", url
    )


def env(name: str) -> AliasChoices:
    """The one environment variable a shared field reads, whatever the subclass's prefix."""
    return AliasChoices(name)


class QunSettings(BaseSettings):
    model_config = SettingsConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    nats_url: str = Field("nats://127.0.0.1:4222", validation_alias=env("NATS_URL"))
    nats_user: str | None = Field(None, validation_alias=env("NATS_USER"))
    nats_password: SecretStr | None = Field(None, validation_alias=env("NATS_PASSWORD"))
    nats_creds: Path | None = Field(
        None, validation_alias=env("NATS_CREDS"), description="NATS credentials file"
    )
    redis_url: SecretStr = Field(
        SecretStr("redis://127.0.0.1:6379/0"),
        validation_alias=env("REDIS_URL"),
        description="May hold a password, so it is never logged.",
    )
    http_host: str = Field("127.0.0.1", validation_alias=env("HTTP_HOST"))
    http_port: int = Field(8080, ge=0, le=65535, validation_alias=env("HTTP_PORT"))
    timezone: str = Field("Asia/Shanghai", validation_alias=env("QUN_TIMEZONE"))
    admins: Annotated[frozenset[str], NoDecode] = Field(
        frozenset(), validation_alias=env("QUN_ADMINS"), description="Comma-separated contact ids"
    )
    max_event_age_s: float = Field(
        600.0,
        gt=0,
        validation_alias=env("QUN_MAX_EVENT_AGE_S"),
        description="Older events still change state but get no chat reply",
    )
    max_deliver: int = Field(5, ge=1, validation_alias=env("QUN_MAX_DELIVER"))
    ack_wait_s: float = Field(
        30.0,
        gt=0,
        validation_alias=env("QUN_ACK_WAIT_S"),
        description="Redelivery after a replica died holding a message (applies when the consumer is created)",
    )
    start_timeout_s: float = Field(
        60.0,
        gt=0,
        validation_alias=env("QUN_START_TIMEOUT_S"),
        description="How long to retry connecting at start",
    )
    discover_window_s: float = Field(0.25, gt=0, validation_alias=env("QUN_DISCOVER_WINDOW_S"))
    registry_refresh_s: float = Field(
        10.0,
        gt=0,
        validation_alias=env("QUN_REGISTRY_REFRESH_S"),
        description="How often the live registry is refreshed (it is also refreshed when a service starts or stops)",
    )
    claim_threshold: float = Field(
        0.5,
        ge=0,
        le=1,
        validation_alias=env("QUN_CLAIM_THRESHOLD"),
        description="Confidence a recogniser needs",
    )
    claim_deadline_s: float = Field(
        1.0,
        gt=0,
        validation_alias=env("QUN_CLAIM_DEADLINE_S"),
        description="How long a claim waits for slow or dead claimers before deciding with what is there",
    )
    quota_member_per_minute: int = Field(10, ge=1, validation_alias=env("QUN_QUOTA_MEMBER_PER_MIN"))
    quota_member_per_hour: int = Field(60, ge=1, validation_alias=env("QUN_QUOTA_MEMBER_PER_HOUR"))
    quota_member_per_day: int = Field(
        300,
        ge=1,
        validation_alias=env("QUN_QUOTA_MEMBER_PER_DAY"),
        description="Answers one member gets per day, all rooms and direct messages together",
    )
    quota_room_per_minute: int = Field(30, ge=1, validation_alias=env("QUN_QUOTA_ROOM_PER_MIN"))
    quota_service_per_minute: int = Field(300, ge=1, validation_alias=env("QUN_QUOTA_SERVICE_PER_MIN"))
    stop_grace_s: float = Field(
        10.0,
        ge=0,
        validation_alias=env("QUN_STOP_GRACE_S"),
        description="How long running handlers may finish at shutdown before their messages are handed back",
    )
    clock_offset_s: float = Field(
        0.0, validation_alias=env("QUN_CLOCK_OFFSET_S"), description="Shifts the service clock (tests, demos)"
    )
    log_format: Literal["text", "json"] = Field("text", validation_alias=env("QUN_LOG_FORMAT"))
    log_level: str = Field("INFO", validation_alias=env("QUN_LOG_LEVEL"))

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        """NATS_URL may carry a password (`nats://user:secret@host`): never in a repr, an error or a log."""
        for name, value in super().__repr_args__():
            yield name, without_password(value) if name == "nats_url" and isinstance(value, str) else value

    @field_validator("admins", mode="before")
    @classmethod
    def _split_admins(cls, value: object) -> object:
        if isinstance(value, str):
            return frozenset(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        ZoneInfo(value)  # raises for an unknown zone: fail at start, not at the first reminder
        return value

    @property
    def nats_servers(self) -> list[str]:
        """NATS_URL may list several servers of a cluster, comma-separated."""
        return [url.strip() for url in self.nats_url.split(",") if url.strip()]

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def quota_limits(self) -> QuotaLimits:
        return QuotaLimits(
            member_per_minute=self.quota_member_per_minute,
            member_per_hour=self.quota_member_per_hour,
            member_per_day=self.quota_member_per_day,
            room_per_minute=self.quota_room_per_minute,
            service_per_minute=self.quota_service_per_minute,
        )
