"""WeChat happenings -> contract events. Pure: the adapter gathers the facts, these functions decide.

Event ids are derived from what happened (bot, kind, WeChat ids), never random: the same message seen twice
(python-wechaty re-emits, the puppet service replays after a reconnect) gets the same id, and the id is the
JetStream `Nats-Msg-Id`, so the stream stores it once.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal
from urllib.parse import quote as url_quote

from schemas import (
    Contact,
    ContactRef,
    FriendshipRequested,
    MessageReceived,
    Quote,
    Room,
    RoomJoined,
    RoomLeft,
    RoomTopicChanged,
    ScanUpdated,
)
from services.gateway.parsing import parse_text
from services.shared.text import tidy

_ID_NAMESPACE = uuid.UUID("6f1c7c53-5a0e-4c4e-9d5e-2f9b1f0a7e11")

# python-wechaty's MessageType names -> the contract's `type`.
_MESSAGE_TYPES = {
    "MESSAGE_TYPE_TEXT": "text",
    "MESSAGE_TYPE_IMAGE": "image",
    "MESSAGE_TYPE_ATTACHMENT": "file",
    "MESSAGE_TYPE_AUDIO": "voice",
    "MESSAGE_TYPE_VIDEO": "video",
    "MESSAGE_TYPE_URL": "url",
    "MESSAGE_TYPE_EMOTICON": "emoticon",
    "MESSAGE_TYPE_MINI_PROGRAM": "mini_program",
}
# Their text is the media's XML description, not something a person wrote.
_MEDIA_TYPES = frozenset({"image", "voice", "video", "emoticon"})

ScanStatusName = Literal["waiting", "scanned", "confirmed", "timeout", "cancel", "unknown"]

# WeChat's scan statuses (wechaty_puppet.ScanStatus names) -> the contract's.
_SCAN_STATUSES: dict[str, ScanStatusName] = {
    "Waiting": "waiting",
    "Scanned": "scanned",
    "Confirmed": "confirmed",
    "Timeout": "timeout",
    "Cancel": "cancel",
}

QR_IMAGE_SERVICE = "https://wechaty.js.org/qrcode/"
"""Renders a QR code's content as an image (the URL python-wechaty itself logs)."""

_MILLISECONDS_THRESHOLD = 10**11  # seconds stay below this until the year 5138


def event_id(bot_id: str, kind: str, *parts: str) -> str:
    """A stable id for one happening of one account (32 hex characters, like random ids)."""
    return uuid.uuid5(_ID_NAMESPACE, "\x1f".join((bot_id, kind, *parts))).hex


def wechat_time(timestamp: float | None, fallback: datetime) -> datetime:
    """Puppets send seconds or milliseconds since the epoch, sometimes nothing."""
    if not timestamp:
        return fallback
    seconds = timestamp / 1000 if timestamp > _MILLISECONDS_THRESHOLD else timestamp
    return datetime.fromtimestamp(seconds, UTC)


def message_type(wechaty_type_name: str) -> str:
    return _MESSAGE_TYPES.get(wechaty_type_name, "other")


def scan_status(wechaty_status_name: str) -> ScanStatusName:
    return _SCAN_STATUSES.get(wechaty_status_name, "unknown")


@dataclass(frozen=True)
class MessageFacts:
    """What the adapter read from WeChat about one message."""

    message_id: str
    type: str
    raw_text: str
    timestamp: datetime
    talker: Contact
    room: Room | None
    mention_ids: Sequence[str]
    bot_names: Sequence[str]
    """Every name the bot may be @-mentioned by here: its WeChat name and its alias in the room."""
    quoted_message_id: str | None = None
    """The WeChat id of the quoted message, when the puppet says it (most deliver only the typed form)."""


def message_received(facts: MessageFacts, bot_id: str) -> MessageReceived:
    if facts.type == "text":
        parsed = parse_text(facts.raw_text, facts.bot_names)
        text, body, mentioned = parsed.text, parsed.body, parsed.mentions_bot
        quote = None
        if parsed.quote is not None:
            quote = Quote(talker_name=parsed.quote.talker_name, text=parsed.quote.quoted_text)
    else:
        text = "" if facts.type in _MEDIA_TYPES else facts.raw_text
        body, mentioned, quote = tidy(text), False, None
    return MessageReceived(
        id=event_id(bot_id, "message", facts.message_id),
        bot_id=bot_id,
        timestamp=facts.timestamp,
        type=facts.type,
        text=text,
        body=body,
        talker=facts.talker,
        room=facts.room,
        mention_ids=list(facts.mention_ids),
        # WeChat's mention list is authoritative when the puppet fills it; a typed "@Bot" counts as well,
        # since several puppets leave the list empty.
        mentions_bot=bot_id in facts.mention_ids or mentioned,
        quote=quote,
        from_self=facts.talker.id == bot_id,
    )


def _ids(contacts: Iterable[ContactRef]) -> str:
    return ",".join(sorted(contact.id for contact in contacts))


def room_joined(
    bot_id: str, room: Room, invitees: Sequence[ContactRef], inviter: ContactRef | None, timestamp: datetime
) -> RoomJoined:
    return RoomJoined(
        id=event_id(bot_id, "room.join", room.id, _ids(invitees), timestamp.isoformat()),
        bot_id=bot_id,
        timestamp=timestamp,
        room=room,
        invitees=list(invitees),
        inviter=inviter,
    )


def room_left(
    bot_id: str, room: Room, leavers: Sequence[ContactRef], remover: ContactRef | None, timestamp: datetime
) -> RoomLeft:
    # Someone who left on their own shows up as their own remover in some puppets; the contract says null.
    if remover is not None and remover.id in {leaver.id for leaver in leavers}:
        remover = None
    return RoomLeft(
        id=event_id(bot_id, "room.leave", room.id, _ids(leavers), timestamp.isoformat()),
        bot_id=bot_id,
        timestamp=timestamp,
        room=room,
        leavers=list(leavers),
        remover=remover,
    )


def room_topic_changed(
    bot_id: str, room: Room, old_topic: str, changer: ContactRef | None, timestamp: datetime
) -> RoomTopicChanged:
    return RoomTopicChanged(
        id=event_id(bot_id, "room.topic", room.id, room.topic, timestamp.isoformat()),
        bot_id=bot_id,
        timestamp=timestamp,
        room=room,
        old_topic=old_topic,
        changer=changer,
    )


def friendship_requested(
    bot_id: str, friendship_id: str, contact: ContactRef, hello: str, timestamp: datetime
) -> FriendshipRequested:
    return FriendshipRequested(
        id=event_id(bot_id, "friendship", friendship_id),
        bot_id=bot_id,
        timestamp=timestamp,
        friendship_id=friendship_id,
        contact=contact,
        hello=hello,
    )


def scan_updated(bot_id: str, qrcode: str | None, status_name: str, timestamp: datetime) -> ScanUpdated:
    status = scan_status(status_name)
    return ScanUpdated(
        id=event_id(bot_id, "scan", qrcode or "", status, timestamp.isoformat()),
        bot_id=bot_id,
        timestamp=timestamp,
        status=status,
        qrcode=qrcode or None,
        url=qr_image_url(qrcode) if qrcode else None,
    )


def qr_image_url(qrcode: str) -> str:
    return QR_IMAGE_SERVICE + url_quote(qrcode, safe="")
