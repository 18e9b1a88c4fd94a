"""Events as the gateway would publish them, for tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from schemas import Contact, ContactRef, MessageReceived, Quote, Room, RoomJoined, new_id

BOT = "bot"
ROOM = Room(id="room1@chatroom", topic="开源交流群", owner_id="owner", member_count=10)
OTHER_ROOM = Room(id="room2@chatroom", topic="Test Room", owner_id="owner2", member_count=10)
ALICE = Contact(id="alice", name="Alice")
BOB = Contact(id="bob", name="Bob")


def message(
    body: str,
    *,
    room: Room | None = ROOM,
    talker: Contact = ALICE,
    mentions_bot: bool = True,
    quote: Quote | None = None,
    mention_ids: list[str] | None = None,
    timestamp: datetime | None = None,
    bot_id: str = BOT,
    **extra: Any,
) -> MessageReceived:
    return MessageReceived(
        id=extra.pop("id", new_id()),
        bot_id=bot_id,
        timestamp=timestamp or datetime.now(UTC),
        text=(f"@QunBot\u2005{body}" if mentions_bot else body),
        body=body,
        talker=talker,
        room=room,
        mentions_bot=mentions_bot and room is not None,
        mention_ids=mention_ids if mention_ids is not None else ([bot_id] if mentions_bot and room else []),
        quote=quote,
        **extra,
    )


def joined(*names: str, room: Room = ROOM, bot_id: str = BOT) -> RoomJoined:
    return RoomJoined(
        id=new_id(),
        bot_id=bot_id,
        timestamp=datetime.now(UTC),
        room=room,
        invitees=[ContactRef(id=name.lower(), name=name) for name in names],
        inviter=ContactRef(id="owner", name="Owner"),
    )
