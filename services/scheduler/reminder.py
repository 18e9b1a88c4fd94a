"""The stored reminder: what fires, where, when next, and how it repeats."""

from __future__ import annotations

from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from services.scheduler.recurrence import Recurrence

Lang = Literal["zh", "en"]


class Reminder(BaseModel):
    """One reminder as stored in Redis (JSON). Fields are only ever added, never renamed."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str = Field(description="Short id users type to cancel it, e.g. '12'")
    bot_id: str = Field(description="The bot account that sends it")
    room_id: str | None = Field(None, description="The room it fires in; None for a direct message")
    contact_id: str | None = Field(None, description="The contact it fires to when it is not in a room")
    creator_id: str = Field(description="Contact id of the person who set it")
    creator_name: str = Field("", description="Display name at creation, for listings")
    personal: bool = Field(
        False, description="Fires with an @-mention of the creator (remind me / 提醒我, or DM)"
    )
    mention_ids: tuple[str, ...] = Field(
        (), description="Contact ids the firing @-mentions besides the creator (提醒@张三 …), rooms only"
    )
    text: str = Field(min_length=1, description="What to say when it fires")
    lang: Lang = Field("zh", description="Language of the command; the firing's notes use it")
    zone: str = Field(
        description="IANA time zone the times were read in, e.g. Asia/Shanghai: the room's zone when it was set. "
        "Kept with the reminder, so a later change of the room's zone moves only reminders set after it"
    )
    created_at: AwareDatetime = Field(description="Timestamp of the message that created it")
    next_due: AwareDatetime = Field(description="The next firing")
    recurrence: Recurrence | None = Field(None, description="None for a one-off reminder")
    source_event_id: str = Field("", description="Event that created it (dedupes redelivery)")

    @field_validator("zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        # Checked on every read: a body with an unknown zone is refused with the other corrupt ones, rather than
        # failing every time the firing loop plans its next occurrence.
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"unknown time zone {value!r}") from error
        return value

    @model_validator(mode="after")
    def _one_destination(self) -> Reminder:
        if (self.room_id is None) == (self.contact_id is None):
            raise ValueError("exactly one of room_id / contact_id")
        return self

    @property
    def place_id(self) -> str:
        """Where it fires: the room, or the contact of a direct conversation."""
        return place_id(self.room_id, self.contact_id)


def place_id(room_id: str | None, contact_id: str | None) -> str:
    """A room's id, or `dm:<contact>` for a direct conversation: where reminders are listed and fire."""
    if room_id is not None:
        return room_id
    return f"dm:{contact_id}"
