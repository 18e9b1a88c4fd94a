"""Gateway settings: `GATEWAY_...`, plus the Wechaty ecosystem's own variable names where it has them."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import SettingsConfigDict

from schemas.base import SubjectToken
from services.gateway._wechaty_compat import WECHATY_DIR_ENV, wechaty_dir
from services.gateway.budget import DailyLimits
from services.gateway.pacing import PacingLimits
from services.shared import QunSettings


class GatewaySettings(QunSettings):
    model_config = SettingsConfigDict(
        env_prefix="GATEWAY_", frozen=True, extra="ignore", populate_by_name=True
    )

    puppet: Literal["service", "simulator"] = Field(
        "service",
        description="`service`: a wechaty puppet service (real WeChat); `simulator`: the local world.",
    )
    puppet_service_endpoint: str | None = Field(
        None,
        validation_alias=AliasChoices("WECHATY_PUPPET_SERVICE_ENDPOINT"),
        description="host:port of the puppet service (TLS disabled: python-wechaty 0.10 has no TLS).",
    )
    puppet_service_token: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices("WECHATY_PUPPET_SERVICE_TOKEN"),
        description="Puppet service token.",
    )
    simulator_host: str = Field("127.0.0.1", validation_alias=AliasChoices("SIMULATOR_HOST"))
    simulator_port: int = Field(
        8700,
        ge=0,
        le=65535,
        validation_alias=AliasChoices("SIMULATOR_PORT"),
        description="Simulator HTTP API.",
    )
    bot_id: SubjectToken = Field(
        "pending",
        description="The account's contact id if known in advance: names the subjects before the first login "
        "(scan events, status); after login the real id is used.",
    )
    publish_retry_s: float = Field(
        120.0, gt=0, description="How long an event's publish is retried while NATS is unreachable."
    )
    publish_self: bool = Field(False, description="Publish the bot's own messages (marked from_self).")
    wechaty_dir: Path = Field(
        default_factory=wechaty_dir,
        validation_alias=AliasChoices(WECHATY_DIR_ENV),
        description="python-wechaty's working directory (it writes a cache and a job store).",
    )
    wechaty_port: int = Field(
        0, ge=0, le=65535, description="Port python-wechaty's plugin server may bind (0: any free port)."
    )
    show_qr: bool = Field(True, description="Print the login QR code on the terminal.")

    room_per_second: float = Field(1.0, gt=0, description="Messages per second per room (or contact).")
    room_burst: int = Field(2, ge=1, description="Messages a quiet room may get at once.")
    account_per_minute: float = Field(20.0, gt=0, description="Messages per minute for the whole account.")
    account_burst: int = Field(5, ge=1, description="Messages the account may send at once after a pause.")
    jitter_s: float = Field(0.4, ge=0, description="Up to this much random pause after each send.")
    max_message_chars: int = Field(1500, ge=50, description="Longer texts are split on line boundaries.")
    max_parts: int = Field(
        3, ge=1, description="WeChat messages per command at most; a longer text is cut with a marker."
    )
    max_command_age_s: float = Field(
        600.0,
        gt=0,
        description="Commands older than this (since JetStream stored them) are dropped, never sent late.",
    )
    daily_text: int = Field(3000, ge=0, description="Texts per day (0: no daily limit).")
    daily_file: int = Field(300, ge=0, description="Images and files per day (0: no daily limit).")
    daily_invite: int = Field(50, ge=0, description="Room adds and invitations per day (0: no daily limit).")
    daily_friend: int = Field(100, ge=0, description="Friend requests accepted per day (0: no daily limit).")
    lease_ttl_s: float = Field(
        15.0, gt=0, description="The send lease lapses this long after its holder stopped renewing it."
    )
    max_in_flight: int = Field(
        50, ge=1, description="Commands read ahead and not yet finished (the fair queue's horizon)."
    )
    max_file_bytes: int = Field(
        25 * 1024 * 1024, ge=1, description="Larger images and files are refused (dead-lettered)."
    )
    quote_record_days: float = Field(
        7.0,
        gt=0,
        description="How long room messages are remembered (talker and text hash) to verify quotes.",
    )
    quote_record_per_room: int = Field(5000, ge=1, description="Room messages remembered at most per room.")
    retry_base_s: float = Field(2.0, gt=0, description="First retry delay of a failed command; doubles.")
    reconnect_min_s: float = Field(1.0, gt=0, description="First delay before reconnecting to the puppet.")
    reconnect_max_s: float = Field(60.0, gt=0, description="Longest delay between reconnection attempts.")
    ready_timeout_s: float = Field(
        15.0, gt=0, description="Publish `.ready` this long after login if the puppet never says it is ready."
    )

    @property
    def limits(self) -> PacingLimits:
        return PacingLimits(
            room_per_second=self.room_per_second,
            room_burst=self.room_burst,
            account_per_minute=self.account_per_minute,
            account_burst=self.account_burst,
            jitter_seconds=self.jitter_s,
        )

    @property
    def daily_limits(self) -> DailyLimits:
        return DailyLimits(
            text=self.daily_text, file=self.daily_file, invite=self.daily_invite, friend=self.daily_friend
        )
