"""The moderator's settings: the shared ones plus ``MODERATOR_*``."""

from __future__ import annotations

from typing import Annotated, Self

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from services.moderator.rooms import FloodLimits, FloodPolicy
from services.shared import QunSettings

MIN_SECRET_LENGTH = 16


class ModeratorSettings(QunSettings):
    """Defaults for every room; admins override some of them per room in chat."""

    # A refused secret must not end up in the error (and the log) that refuses it.
    model_config = SettingsConfigDict(env_prefix="MODERATOR_", hide_input_in_errors=True)

    welcome_window_s: float = Field(
        3.0, gt=0, description="Joins within this time after the first one are greeted in one message."
    )
    welcome_tick_s: float = Field(
        0.5, gt=0, description="How often each replica looks for due welcome batches."
    )
    welcome_lease_s: float = Field(
        10.0,
        gt=0,
        description="A replica flushing a batch holds it this long; if it dies, another takes over after it.",
    )
    vote_window_hours: float = Field(12.0, gt=0, description="Votes older than this no longer count.")
    friend_keywords: Annotated[tuple[str, ...], NoDecode] = Field(
        (),
        description="Comma-separated: friend requests whose hello contains one are accepted (none: accept none).",
    )
    password_invites: bool = Field(
        False,
        description="Password invites: admins set a room's password by DM, whoever DMs it is added to the room. "
        "Needs MODERATOR_PASSWORD_SECRET.",
    )
    password_secret: SecretStr = Field(
        SecretStr(""),
        description="Key of the HMAC under which room passwords are stored (at least 16 characters). It lives "
        "outside Redis, so a copy of Redis alone reveals no password.",
    )
    password_max_guesses: int = Field(
        5, gt=0, description="Password DMs a contact may send per guess window; after that none is checked."
    )
    password_guess_window_s: float = Field(3600.0, gt=0, description="The guess window, in seconds.")
    flood_max_messages: int = Field(10, gt=0, description="Messages a member may send per flood window.")
    flood_window_s: int = Field(60, gt=0, description="The flood window, in seconds.")
    flood_max_length: int = Field(1500, gt=0, description="Longest message, in characters.")
    flood_policy: FloodPolicy = Field(
        FloodPolicy.VOTE, description="After the warning: warn (nothing more), vote, or remove."
    )
    flood_grace_s: int = Field(
        30,
        ge=0,
        description="After a flood warning, messages sent within this time do not count: the member gets time to "
        "read it before any vote or removal (per room: 设置刷屏 宽限60).",
    )
    dm_mute_s: float = Field(
        600.0,
        gt=0,
        description="A contact who sends the bot more direct messages than FLOOD_MAX_MESSAGES per FLOOD_WINDOW_S is "
        "warned once, then gets no answer from the moderator for this long.",
    )
    flood_strike_memory_s: float = Field(
        3600.0, gt=0, description="How long a warning is remembered: flooding again within it escalates."
    )

    @model_validator(mode="after")
    def _secret_for_passwords(self) -> Self:
        if self.password_invites and len(self.password_secret.get_secret_value()) < MIN_SECRET_LENGTH:
            raise ValueError(
                "MODERATOR_PASSWORD_INVITES is on, so MODERATOR_PASSWORD_SECRET must be set (at least "
                f"{MIN_SECRET_LENGTH} characters, e.g. from `python -c 'import secrets; "
                "print(secrets.token_urlsafe(32))'`), kept outside Redis: room passwords are stored only as HMACs "
                "under it. Or switch password invites off."
            )
        return self

    @field_validator("friend_keywords", mode="before")
    @classmethod
    def _split_keywords(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @property
    def flood_limits(self) -> FloodLimits:
        """The service-wide flood limits."""
        return FloodLimits(
            max_messages=self.flood_max_messages,
            window_seconds=self.flood_window_s,
            max_length=self.flood_max_length,
        )
