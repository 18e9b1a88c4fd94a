"""Requests one service answers for another, on core NATS (`qun.req.<bot_id>.<suffix>`), never stored in streams.

Services never import each other: they ask through these. The answering service replies only to the requester's
own inbox (see `services.shared`), so a request cannot make it publish anywhere else.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import AwareDatetime, Field

from schemas.base import Payload
from schemas.values import ContactRef, Quote, Value


class Request(Payload):
    """A question to whichever live service answers `qun.req.<bot_id>.<subject_suffix>`."""

    reply_type: ClassVar[type[Payload]]


class HistoryMessage(Value):
    """One kept room message."""

    id: str = Field(
        description="Event id of the MessageReceived.", examples=["3f2a9c0e8b7d4f61a5e2c9d8b7a6f5e4"]
    )
    timestamp: AwareDatetime = Field(description="When it was said in WeChat.")
    talker: ContactRef = Field(description="Who said it (id and the name shown then).")
    text: str = Field(description="What was said (the quote block removed).", examples=["周四晚8点开会"])
    quote: Quote | None = Field(default=None, description="The message it quoted, if any.")
    mention_ids: list[str] = Field(default_factory=list, description="Contact ids it mentioned.")
    type: str = Field(
        default="text",
        description="Message type as in MessageReceived: text, image, file, voice, video, url, ...",
        examples=["text"],
    )


class HistoryPage(Payload):
    """Answer to a HistoryQuery, oldest first."""

    room_id: str = Field(description="The room.", examples=["24744393416@chatroom"])
    messages: list[HistoryMessage] = Field(default_factory=list, description="Kept messages, oldest first.")
    more: bool = Field(
        default=False, description="More messages match: ask again with `since` after the last one."
    )
    recording: bool = Field(default=True, description="Whether the room's history is being kept at all.")
    error: str = Field(default="", description="Why the query could not be answered, if it could not.")


class HistoryQuery(Request):
    """Messages of one room in a time range (the history service answers)."""

    subject_suffix: ClassVar[str] = "history.query"
    reply_type: ClassVar[type[Payload]] = HistoryPage

    room_id: str = Field(description="The room.", examples=["24744393416@chatroom"])
    since: AwareDatetime | None = Field(default=None, description="Only messages after this moment.")
    until: AwareDatetime | None = Field(default=None, description="Only messages up to this moment.")
    talker_id: str | None = Field(default=None, description="Only this member's messages.")
    limit: int = Field(default=500, ge=1, le=2000, description="At most this many messages per page.")
    last: bool = Field(
        default=False,
        description="The most recent `limit` matching messages (still listed oldest first) instead of the oldest; "
        "`more` then means older ones exist: ask again with `until` before the first one.",
    )


class UnansweredItem(Payload):
    """A question the bot could not answer, with the room message that most likely answered it."""

    room_id: str = Field(description="The room.")
    number: int = Field(ge=1, description="Its number in the latest listing of the room.")
    question: str = Field(default="", description="The question as asked.")
    asker: ContactRef | None = Field(default=None, description="Who asked (the first time).")
    count: int = Field(default=0, ge=0, description="How often it was asked.")
    answer: HistoryMessage | None = Field(
        default=None, description="The room message chosen as its answer, if one was found."
    )
    error: str = Field(default="", description="Why there is no such item, if there is none.")


class UnansweredQuery(Request):
    """One numbered unanswered question of a room (the history service answers; the tagger asks when an admin
    writes `标记 <编号>`)."""

    subject_suffix: ClassVar[str] = "history.unanswered"
    reply_type: ClassVar[type[Payload]] = UnansweredItem

    room_id: str = Field(description="The room.")
    number: int = Field(ge=1, description="The number shown in the listing.", examples=[2])


REQUEST_TYPES: tuple[type[Request], ...] = (HistoryQuery, UnansweredQuery)
