"""Reading rooms, contacts and messages from the puppet into contract values.

The puppet is asked directly rather than through python-wechaty's `Room`/`Contact` objects: those are cached
per id for the process's lifetime and `ready(force_sync=True)` returns early once loaded, so a room's topic or
member count would stay as first seen.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from schemas import Contact, ContactRef, Room
from services.gateway._wechaty_compat import wechaty_puppet
from services.gateway.translate import MessageFacts, message_type, wechat_time

log = logging.getLogger("qunbus.gateway.reader")

Puppet = Any
"""A `wechaty_puppet.Puppet` (python-wechaty ships no type information)."""


def enum_name(enum_type: Any, value: Any) -> str:
    """The member name of a puppet enum field (`MESSAGE_TYPE_TEXT`), "" if unknown.

    betterproto 1.x leaves enum fields parsed from the wire as plain ints (the service puppet converts message
    types itself, but not friendship types); in-process puppets hand over enum members.
    """
    name = getattr(value, "name", None)
    if isinstance(name, str):
        return name
    try:
        return str(enum_type(int(value)).name)
    except (TypeError, ValueError):
        return ""


class PuppetReader:
    def __init__(self, puppet: Puppet) -> None:
        self.puppet = puppet

    async def room(self, room_id: str) -> Room:
        payload = await self.puppet.room_payload(room_id)
        member_ids = list(payload.member_ids or [])
        return Room(
            id=room_id,
            topic=payload.topic or "",
            owner_id=payload.owner_id or None,
            member_count=len(member_ids) or None,
        )

    async def room_or_id(self, room_id: str) -> Room:
        """For events: a room the bot just left may have no payload any more; the id is still worth publishing."""
        try:
            return await self.room(room_id)
        except Exception:
            log.info("no payload for room %s; publishing its id only", room_id, exc_info=True)
            return Room(id=room_id)

    async def contact_name(self, contact_id: str) -> str:
        try:
            payload = await self.puppet.contact_payload(contact_id)
        except Exception:
            log.debug("no payload for contact %s", contact_id, exc_info=True)
            return contact_id
        return str(payload.name or contact_id)

    async def room_alias(self, room_id: str, contact_id: str) -> str | None:
        """The name a member set for themselves in the room; many puppets do not know it."""
        try:
            payload = await self.puppet.room_member_payload(room_id, contact_id)
        except Exception:
            log.debug("no member payload for %s in %s", contact_id, room_id, exc_info=True)
            return None
        alias = getattr(payload, "room_alias", None) if payload is not None else None
        return str(alias) if alias else None

    async def contact(self, contact_id: str, room_id: str | None) -> Contact:
        name = await self.contact_name(contact_id)
        alias = await self.room_alias(room_id, contact_id) if room_id else None
        return Contact(id=contact_id, name=name, alias=alias)

    async def contact_ref(self, contact_id: str, room_id: str | None = None) -> ContactRef:
        """Named as people in the room see them: room alias if known, else the nickname."""
        alias = await self.room_alias(room_id, contact_id) if room_id else None
        return ContactRef(id=contact_id, name=alias or await self.contact_name(contact_id))

    async def display_name(self, room_id: str | None, contact_id: str) -> str:
        return (await self.contact_ref(contact_id, room_id)).name

    async def bot_names(self, bot_id: str, bot_name: str, room_id: str | None) -> list[str]:
        names = [bot_name]
        if room_id:
            alias = await self.room_alias(room_id, bot_id)
            if alias:
                names.append(alias)
        return names

    async def message_facts(self, payload: Any, bot_id: str, bot_name: str, now: datetime) -> MessageFacts:
        """`payload` is python-wechaty's MessagePayload (ids, text, type, timestamp, mention ids)."""
        room_id = payload.room_id or None
        return MessageFacts(
            message_id=payload.id,
            type=message_type(enum_name(wechaty_puppet.MessageType, payload.type)),
            raw_text=payload.text or "",
            timestamp=wechat_time(payload.timestamp, now),
            talker=await self.contact(payload.from_id, room_id),
            room=await self.room(room_id) if room_id else None,
            mention_ids=list(payload.mention_ids or []),
            bot_names=await self.bot_names(bot_id, bot_name, room_id),
            quoted_message_id=getattr(payload, "quote_id", None) or None,
        )
