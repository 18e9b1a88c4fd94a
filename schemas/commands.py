"""Commands: imperative, executed by the gateway of the bot named in the subject."""

from __future__ import annotations

from typing import ClassVar, Self

from pydantic import Field, model_validator

from schemas.base import Command


class SayText(Command):
    """Send a text. Mentions go in `mention_ids`; the gateway renders them as WeChat does, never the service."""

    subject_suffix: ClassVar[str] = "say"

    room_id: str | None = Field(
        default=None, description="Target room (exactly one of room_id / contact_id)."
    )
    contact_id: str | None = Field(default=None, description="Target contact for a direct message.")
    text: str = Field(
        min_length=1, description="Plain text; long texts are split by the gateway.", examples=["dong"]
    )
    mention_ids: list[str] = Field(default_factory=list, description="Contacts to @-mention (rooms only).")
    reply_to: str | None = Field(
        default=None, description="Id of the event this answers, for tracing and order."
    )

    @model_validator(mode="after")
    def _one_target(self) -> Self:
        if (self.room_id is None) == (self.contact_id is None):
            raise ValueError("exactly one of room_id and contact_id must be set")
        if self.mention_ids and self.room_id is None:
            raise ValueError("mention_ids need a room_id")
        return self


class AddToRoom(Command):
    """Add a contact to a room (the gateway sends an invitation where WeChat refuses a direct add)."""

    subject_suffix: ClassVar[str] = "room.add"

    room_id: str = Field(description="The room.")
    contact_id: str = Field(description="Who to add.")


class RemoveFromRoom(Command):
    """Remove a member from a room."""

    subject_suffix: ClassVar[str] = "room.remove"

    room_id: str = Field(description="The room.")
    contact_id: str = Field(description="Who to remove.")
    reason: str = Field(default="", description="Why, for logs and audit.", examples=["vote-kick 3/3"])


class ChangeRoomTopic(Command):
    """Rename a room."""

    subject_suffix: ClassVar[str] = "room.topic"

    room_id: str = Field(description="The room.")
    topic: str = Field(min_length=1, description="The new name.")


class AcceptFriendship(Command):
    """Accept a friend request."""

    subject_suffix: ClassVar[str] = "friendship.accept"

    friendship_id: str = Field(description="From FriendshipRequested.friendship_id.")


COMMAND_TYPES: tuple[type[Command], ...] = (
    SayText,
    AddToRoom,
    RemoveFromRoom,
    ChangeRoomTopic,
    AcceptFriendship,
)
