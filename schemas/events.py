"""Events: past tense. Published by the gateway for what happened in WeChat; a few by services for what they
observed (`QuestionUnanswered`)."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from schemas.base import Event
from schemas.values import Contact, ContactRef, Quote, Room


class MessageReceived(Event):
    """A message in a room or a direct message to the bot."""

    subject_suffix: ClassVar[str] = "message"

    type: str = Field(
        default="text",
        description="Message type: text, image, file, voice, video, url, emoticon, mini_program, other.",
        examples=["text"],
    )
    text: str = Field(
        description="Text as shown in WeChat, with any quote block removed.", examples=["@QunBot 问 开会"]
    )
    body: str = Field(
        description="`text` without the @-mention of the bot, trimmed. Commands are matched on it.",
        examples=["问 开会"],
    )
    talker: Contact = Field(description="Who sent it.")
    room: Room | None = Field(default=None, description="The room, or null for a direct message to the bot.")
    mention_ids: list[str] = Field(
        default_factory=list, description="Contact ids mentioned in the message.", examples=[["wxid_qunbot"]]
    )
    mentions_bot: bool = Field(default=False, description="Whether the bot was @-mentioned.", examples=[True])
    quote: Quote | None = Field(default=None, description="The quoted message, if this is a quoted reply.")
    from_self: bool = Field(
        default=False, description="Sent by the bot's own account (not delivered to services by default)."
    )


class RoomJoined(Event):
    """People joined a room (invited, scanned a QR code, or added by the bot)."""

    subject_suffix: ClassVar[str] = "room.join"

    room: Room = Field(description="The room they joined.")
    invitees: list[ContactRef] = Field(description="Who joined.")
    inviter: ContactRef | None = Field(default=None, description="Who invited them, if known.")


class RoomLeft(Event):
    """People left a room or were removed."""

    subject_suffix: ClassVar[str] = "room.leave"

    room: Room = Field(description="The room they left.")
    leavers: list[ContactRef] = Field(description="Who left.")
    remover: ContactRef | None = Field(default=None, description="Who removed them, or null if they left.")


class RoomTopicChanged(Event):
    """A room was renamed."""

    subject_suffix: ClassVar[str] = "room.topic"

    room: Room = Field(description="The room, with its new topic.")
    old_topic: str = Field(description="The topic before the change.", examples=["旧群名"])
    changer: ContactRef | None = Field(default=None, description="Who renamed it, if known.")


class FriendshipRequested(Event):
    """Someone asked to become the bot's friend."""

    subject_suffix: ClassVar[str] = "friendship"

    friendship_id: str = Field(description="Pass it to AcceptFriendship.", examples=["fr_8c1d"])
    contact: ContactRef = Field(description="Who asked.")
    hello: str = Field(default="", description="The request's greeting text.", examples=["加群 qunbus"])


class LoggedIn(Event):
    """The WeChat account logged in."""

    subject_suffix: ClassVar[str] = "login"

    name: str = Field(default="", description="The account's display name.", examples=["QunBot"])


class LoggedOut(Event):
    """The WeChat account logged out."""

    subject_suffix: ClassVar[str] = "logout"

    reason: str = Field(default="", description="Why, if known.", examples=["kicked by another device"])


class ScanUpdated(Event):
    """A login QR code changed state. `bot_id` is the gateway's configured id until someone logs in."""

    subject_suffix: ClassVar[str] = "scan"

    status: Literal["waiting", "scanned", "confirmed", "timeout", "cancel", "unknown"] = Field(
        description="Where the login stands.", examples=["waiting"]
    )
    qrcode: str | None = Field(
        default=None, description="The QR code's content, to render.", examples=["http://weixin.qq.com/x/abc"]
    )
    url: str | None = Field(default=None, description="A URL that renders the QR code as an image.")


class GatewayErrored(Event):
    """The gateway or puppet reported an error."""

    subject_suffix: ClassVar[str] = "error"

    message: str = Field(description="What went wrong (no secrets).", examples=["puppet service unavailable"])


class GatewayReady(Event):
    """The account's data (contacts, rooms) is loaded; the gateway executes commands from now on."""

    subject_suffix: ClassVar[str] = "ready"


class QuestionUnanswered(Event):
    """A member asked the bot something it could not answer (published by the tagger). The history service
    collects them so admins can turn the answer into knowledge."""

    subject_suffix: ClassVar[str] = "question.unanswered"

    question_id: str = Field(
        description="Event id of the MessageReceived that asked.",
        examples=["3f2a9c0e8b7d4f61a5e2c9d8b7a6f5e4"],
    )
    room: Room | None = Field(default=None, description="The room, or null for a direct message.")
    asker: ContactRef = Field(description="Who asked.")
    question: str = Field(description="The question as asked (the message body).", examples=["停车在哪里？"])
    lang: Literal["zh", "en"] = Field(default="zh", description="The language of the question.")


EVENT_TYPES: tuple[type[Event], ...] = (
    MessageReceived,
    RoomJoined,
    RoomLeft,
    RoomTopicChanged,
    FriendshipRequested,
    LoggedIn,
    LoggedOut,
    ScanUpdated,
    GatewayErrored,
    GatewayReady,
    QuestionUnanswered,
)
