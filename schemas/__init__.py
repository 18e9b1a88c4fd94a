"""The bus contract of qunbus: events, commands, registry, dead letters, subjects and streams."""

from schemas.base import SCHEMA_VERSION, Command, Event, Payload, Priority, new_id
from schemas.commands import (
    COMMAND_TYPES,
    AcceptFriendship,
    AddToRoom,
    ChangeRoomTopic,
    RemoveFromRoom,
    SayText,
    SendFile,
)
from schemas.deadletter import DeadLettered
from schemas.events import (
    EVENT_TYPES,
    FriendshipRequested,
    GatewayErrored,
    GatewayReady,
    LoggedIn,
    LoggedOut,
    MessageReceived,
    QuestionUnanswered,
    RoomJoined,
    RoomLeft,
    RoomTopicChanged,
    ScanUpdated,
)
from schemas.registry import ChatCommand, GatewayStatus, ServiceInfo
from schemas.values import Contact, ContactRef, Quote, Room

__all__ = [
    "COMMAND_TYPES",
    "EVENT_TYPES",
    "SCHEMA_VERSION",
    "AcceptFriendship",
    "AddToRoom",
    "ChangeRoomTopic",
    "ChatCommand",
    "Command",
    "Contact",
    "ContactRef",
    "DeadLettered",
    "Event",
    "FriendshipRequested",
    "GatewayErrored",
    "GatewayReady",
    "GatewayStatus",
    "LoggedIn",
    "LoggedOut",
    "MessageReceived",
    "Payload",
    "Priority",
    "QuestionUnanswered",
    "Quote",
    "RemoveFromRoom",
    "Room",
    "RoomJoined",
    "RoomLeft",
    "RoomTopicChanged",
    "SayText",
    "ScanUpdated",
    "SendFile",
    "ServiceInfo",
    "new_id",
]
