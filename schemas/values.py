"""Value objects shared by events and commands."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Value(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class ContactRef(Value):
    """A WeChat contact, as far as the event knows it."""

    id: str = Field(description="WeChat contact id (stable for the account).", examples=["wxid_alice"])
    name: str = Field(
        description="Display name (room alias if known, else the nickname).", examples=["Alice"]
    )


class Contact(ContactRef):
    """The person who sent a message."""

    alias: str | None = Field(
        default=None, description="The name this person uses in the room, if set.", examples=["Alice@Infra"]
    )


class Room(Value):
    """A WeChat group chat."""

    id: str = Field(description="WeChat room id.", examples=["24744393416@chatroom"])
    topic: str = Field(default="", description="The room's name as members see it.", examples=["开源交流群"])
    owner_id: str | None = Field(
        default=None, description="Contact id of the room owner, if known.", examples=["wxid_owner"]
    )
    member_count: int | None = Field(
        default=None, ge=0, description="Members including the bot, if known.", examples=[42]
    )


class Quote(Value):
    """The message a reply quoted. WeChat hands most quotes over as typed text (author's name and text), which
    anyone can forge: only a quote the gateway `verified` may be attributed to its author."""

    talker_name: str = Field(description="Name of the quoted message's author, as shown.", examples=["Bob"])
    text: str = Field(
        description="Text of the quoted message, possibly several lines.", examples=["周四晚8点开会"]
    )
    verified: bool = Field(
        default=False,
        description="True only when the gateway checked that `talker_id` said `text` in this room (its record of "
        "recent messages), or the puppet delivered the quoted message's id. Unverified quotes must not be "
        "attributed to `talker_name`.",
    )
    talker_id: str | None = Field(
        default=None, description="Contact id of the quoted author, when verified.", examples=["wxid_bob"]
    )
    message_id: str | None = Field(
        default=None,
        description="Event id of the quoted message, when the gateway knows it.",
        examples=["3f2a9c0e8b7d4f61a5e2c9d8b7a6f5e4"],
    )
