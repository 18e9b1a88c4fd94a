"""Keeping what the moderator knows about rooms fresh from every event it sees."""

from __future__ import annotations

from collections.abc import Iterable

from schemas import ContactRef, Room
from services.moderator.deps import Stores
from services.moderator.rooms import RoomRecord


def record_of(room: Room) -> RoomRecord:
    """The directory entry for a room as an event shows it."""
    return RoomRecord(
        id=room.id, topic=room.topic, owner_id=room.owner_id, member_count=room.member_count or 0
    )


async def saw_members(stores: Stores, bot_id: str, room: Room, people: Iterable[ContactRef]) -> None:
    """People seen in a room (talking or joining): remember the room and them."""
    await stores.rooms.remember_room(bot_id, record_of(room))
    await stores.rooms.add_members(bot_id, room.id, (p.id for p in people))


async def saw_leavers(stores: Stores, bot_id: str, room: Room, people: Iterable[ContactRef]) -> None:
    """People who left or were removed."""
    await stores.rooms.remember_room(bot_id, record_of(room))
    await stores.rooms.remove_members(bot_id, room.id, (p.id for p in people))
