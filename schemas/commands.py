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


INLINE_FILE_LIMIT = 512 * 1024
"""Largest file sent inline in a SendFile (NATS' default maximum payload is 1 MiB)."""


class SendFile(Command):
    """Send an image or a file (a report's chart, a broadcast's picture). Small files travel inline (base64, at most
    `INLINE_FILE_LIMIT` bytes before encoding); larger ones are put in the JetStream object store bucket `QUN_FILES`
    first and referenced by `object_name`."""

    subject_suffix: ClassVar[str] = "file"

    room_id: str | None = Field(
        default=None, description="Target room (exactly one of room_id / contact_id)."
    )
    contact_id: str | None = Field(default=None, description="Target contact for a direct message.")
    name: str = Field(
        min_length=1,
        max_length=200,
        description="File name shown in WeChat.",
        examples=["日报-2026-11-22.png"],
    )
    mime_type: str = Field(description="MIME type; image/* is sent as an image.", examples=["image/png"])
    size: int = Field(ge=1, description="Size in bytes of the decoded file.", examples=[48213])
    sha256: str = Field(
        pattern=r"^[0-9a-f]{64}$", description="SHA-256 of the file, checked by the gateway before sending."
    )
    data_base64: str | None = Field(
        default=None, description="The file itself, base64 (exactly one of data_base64 / object_name)."
    )
    object_name: str | None = Field(
        default=None, description="Name of the object in the `QUN_FILES` object store holding the file."
    )
    reply_to: str | None = Field(default=None, description="Id of the event this answers, if any.")

    @model_validator(mode="after")
    def _one_target_one_source(self) -> Self:
        if (self.room_id is None) == (self.contact_id is None):
            raise ValueError("exactly one of room_id and contact_id must be set")
        if (self.data_base64 is None) == (self.object_name is None):
            raise ValueError("exactly one of data_base64 and object_name must be set")
        if self.data_base64 is not None and len(self.data_base64) > (INLINE_FILE_LIMIT * 4) // 3 + 4:
            raise ValueError(f"inline files are at most {INLINE_FILE_LIMIT} bytes; use the object store")
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
    SendFile,
    AddToRoom,
    RemoveFromRoom,
    ChangeRoomTopic,
    AcceptFriendship,
)
