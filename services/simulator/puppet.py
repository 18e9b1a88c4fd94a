"""A `wechaty_puppet.Puppet` backed by a `SimulatorWorld`: python-wechaty runs on it as on the service puppet.

It implements what python-wechaty 0.10.7 calls for text chat in rooms (payloads of contacts, rooms, members,
messages and friendships; sending text with mentions, images and files; adding, removing, renaming; accepting
friendships) and turns
world events into puppet events (`message`, `room-join`, `room-leave`, `room-topic`, `friendship`, `scan`,
`login`, `ready`, `logout`, `dong`). Members sending files, tags, mini programs and URL cards are not simulated.
"""

from __future__ import annotations

import base64
import mimetypes
from collections.abc import Callable
from typing import Any

from pyee import AsyncIOEventEmitter
from wechaty_puppet import (
    EventDongPayload,
    EventFriendshipPayload,
    EventLoginPayload,
    EventLogoutPayload,
    EventMessagePayload,
    EventReadyPayload,
    EventRoomJoinPayload,
    EventRoomLeavePayload,
    EventRoomTopicPayload,
    EventScanPayload,
    FileBox,
    Puppet,
    ScanStatus,
    WechatyPuppetError,
)
from wechaty_puppet.schemas.puppet import PuppetOptions
from wechaty_puppet.schemas.types import (
    ContactPayload,
    ContactType,
    FriendshipPayload,
    FriendshipType,
    MessagePayload,
    MessageType,
    RoomMemberPayload,
    RoomPayload,
)

from services.simulator.world import (
    ChatMessage,
    FriendshipRequested,
    MembersJoined,
    MembersLeft,
    MessagePosted,
    SimulatorWorld,
    TopicChanged,
    WorldEvent,
)

#: What the simulator shows as the login QR code when a scan is required.
SIMULATOR_QR_URL = "https://login.weixin.qq.com/l/simulator"


class SimulatorPuppet(Puppet):  # type: ignore[misc]  # wechaty_puppet ships no type information
    """Plug into `WechatyOptions(puppet=SimulatorPuppet(world))` in place of the service puppet.

    With `require_scan=True` the puppet first emits a `scan` event (status Waiting, with a QR code url) and logs in
    only when `confirm_scan()` is called, as a fresh WeChat login would; otherwise it logs in at once.
    """

    def __init__(self, world: SimulatorWorld, *, require_scan: bool = False) -> None:
        super().__init__(PuppetOptions(), name="simulator")
        self.world = world
        self.require_scan = require_scan
        self._events = AsyncIOEventEmitter()
        self._unsubscribe: Callable[[], None] | None = None
        self._logged_in_as: str | None = None

    # ----------------------------------------------------------------------------------------------------------------
    # Lifecycle and events

    def on(self, event_name: str, caller: Callable[..., Any]) -> None:
        self._events.on(event_name, caller)

    def listener_count(self, event_name: str) -> int:
        return len(self._events.listeners(event_name))

    async def start(self) -> None:
        self._unsubscribe = self.world.subscribe(self._forward)
        if self.require_scan:
            self._events.emit("scan", EventScanPayload(status=ScanStatus.Waiting, qrcode=SIMULATOR_QR_URL))
            return
        await self.login(self.world.bot_id)

    async def confirm_scan(self) -> None:
        """The operator scanned the QR code and confirmed on the phone."""
        self._events.emit("scan", EventScanPayload(status=ScanStatus.Scanned, qrcode=SIMULATOR_QR_URL))
        self._events.emit("scan", EventScanPayload(status=ScanStatus.Confirmed, qrcode=SIMULATOR_QR_URL))
        await self.login(self.world.bot_id)

    async def login(self, user_id: str) -> None:
        self._logged_in_as = user_id
        self._events.emit("login", EventLoginPayload(contact_id=user_id))
        self._events.emit("ready", EventReadyPayload(data="ready"))

    async def logout(self) -> None:
        if self._logged_in_as is None:
            return
        contact_id, self._logged_in_as = self._logged_in_as, None
        self._events.emit("logout", EventLogoutPayload(contact_id=contact_id, data="logout"))

    async def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self._logged_in_as = None
        self._events.remove_all_listeners()

    async def ding(self, data: str | None = None) -> None:
        self._events.emit("dong", EventDongPayload(data=data or "dong"))

    def self_id(self) -> str:
        if self._logged_in_as is None:
            raise WechatyPuppetError("the simulator puppet is not logged in")
        return self._logged_in_as

    def _forward(self, event: WorldEvent) -> None:
        """World event -> puppet event, as the puppet service would stream it (only while logged in)."""
        if self._logged_in_as is None:
            return
        match event:
            case MessagePosted(message=message) if message.kind in {"text", "file"}:
                self._events.emit("message", EventMessagePayload(message_id=message.id))
            case MembersJoined():
                payload: Any = EventRoomJoinPayload(
                    invited_ids=list(event.invitee_ids),
                    inviter_id=event.inviter_id,
                    room_id=event.room_id,
                    timestamp=event.timestamp,
                )
                self._events.emit("room-join", payload)
            case MembersLeft():
                payload = EventRoomLeavePayload(
                    removed_ids=list(event.leaver_ids),
                    remover_id=event.remover_id,
                    room_id=event.room_id,
                    timestamp=event.timestamp,
                )
                self._events.emit("room-leave", payload)
            case TopicChanged():
                payload = EventRoomTopicPayload(
                    changer_id=event.changer_id,
                    new_topic=event.new_topic,
                    old_topic=event.old_topic,
                    room_id=event.room_id,
                    timestamp=event.timestamp,
                )
                self._events.emit("room-topic", payload)
            case FriendshipRequested(request=request):
                self._events.emit("friendship", EventFriendshipPayload(friendship_id=request.id))
            case _:
                pass

    # ----------------------------------------------------------------------------------------------------------------
    # Contacts

    async def contact_list(self) -> list[str]:
        return [person.id for person in self.world.contacts()]

    async def contact_payload(self, contact_id: str) -> ContactPayload:
        person = self.world.contact(contact_id)
        return ContactPayload(
            id=person.id,
            name=person.name,
            type=ContactType.CONTACT_TYPE_PERSONAL,
            friend=person.friend,
            weixin=person.id,
        )

    async def contact_alias(self, contact_id: str, alias: str | None = None) -> str:
        self.world.contact(contact_id)
        return ""

    async def contact_payload_dirty(self, contact_id: str) -> None:
        """Payloads are read from the world every time: nothing is cached."""

    async def tag_contact_list(self, contact_id: str | None = None) -> list[str]:
        return []

    # ----------------------------------------------------------------------------------------------------------------
    # Rooms

    async def room_list(self) -> list[str]:
        return [room.id for room in self.world.rooms()]

    async def room_search(self, query: Any = None) -> list[str]:
        return await self.room_list()

    async def room_payload(self, room_id: str) -> RoomPayload:
        room = self.world.room(room_id)
        return RoomPayload(
            id=room.id,
            topic=room.topic,
            owner_id=room.owner_id,
            admin_ids=list(room.admin_ids),
            member_ids=list(room.member_ids),
        )

    async def room_members(self, room_id: str) -> list[str]:
        return list(self.world.room(room_id).member_ids)

    async def room_member_payload(self, room_id: str, contact_id: str) -> RoomMemberPayload:
        member = self.world.member(room_id, contact_id)
        return RoomMemberPayload(id=member.id, name=member.name, room_alias=member.alias or "")

    async def room_add(self, room_id: str, contact_id: str) -> None:
        self.world.bot_add_member(room_id, contact_id)

    async def room_delete(self, room_id: str, contact_id: str) -> None:
        self.world.bot_remove_member(room_id, contact_id)

    async def room_quit(self, room_id: str) -> None:
        self.world.leave(room_id, self.world.bot_id)

    async def room_topic(self, room_id: str, new_topic: str) -> None:
        self.world.bot_set_topic(room_id, new_topic)

    async def room_announce(self, room_id: str, announcement: str | None = None) -> str:
        self.world.room(room_id)
        return ""

    async def room_payload_dirty(self, room_id: str) -> None:
        """Payloads are read from the world every time: nothing is cached."""

    async def room_member_payload_dirty(self, room_id: str) -> None:
        """Payloads are read from the world every time: nothing is cached."""

    # ----------------------------------------------------------------------------------------------------------------
    # Messages

    async def message_payload(self, message_id: str) -> MessagePayload:
        return message_payload(self.world.message(message_id))

    async def message_send_text(
        self, conversation_id: str, message: str, mention_ids: list[str] | None = None
    ) -> str:
        return self.world.bot_send_text(conversation_id, message, mention_ids or ()).id

    async def message_send_file(self, conversation_id: str, file: FileBox) -> str:
        """A python-wechaty `FileBox` (base64 inside, as the gateway builds it)."""
        data = base64.b64decode(file.base64)
        mime = file.mediaType or mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        return self.world.bot_send_file(conversation_id, file.name, mime, data).id

    async def message_recall(self, message_id: str) -> bool:
        return False

    # ----------------------------------------------------------------------------------------------------------------
    # Friendships

    async def friendship_payload(self, friendship_id: str, payload: Any = None) -> FriendshipPayload:
        request = self.world.friend_request(friendship_id)
        kind = (
            FriendshipType.FRIENDSHIP_TYPE_CONFIRM
            if request.accepted
            else FriendshipType.FRIENDSHIP_TYPE_RECEIVE
        )
        return FriendshipPayload(id=request.id, contact_id=request.contact_id, hello=request.hello, type=kind)

    async def friendship_accept(self, friendship_id: str) -> None:
        self.world.bot_accept_friendship(friendship_id)


def message_payload(message: ChatMessage) -> MessagePayload:
    """A world message as the puppet service describes it (room messages have no `to_id`)."""
    kind = MessageType.MESSAGE_TYPE_TEXT if message.kind == "text" else MessageType.MESSAGE_TYPE_UNSPECIFIED
    if message.file is not None:
        kind = (
            MessageType.MESSAGE_TYPE_IMAGE if message.file.is_image else MessageType.MESSAGE_TYPE_ATTACHMENT
        )
    payload = MessagePayload(
        id=message.id,
        text=message.text,
        timestamp=int(message.timestamp),
        type=kind,
        from_id=message.talker_id,
        room_id=message.room_id or "",
        to_id=message.to_id or "",
        mention_ids=list(message.mention_ids),
    )
    # As a puppet that knows the quoted message does (the 2022 gRPC payload has no field for it).
    payload.quote_id = message.quote_id
    return payload
