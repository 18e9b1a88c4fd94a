"""Commands -> WeChat actions. A command becomes one or more steps (a long text is several messages), each
paced on its own; a step is one puppet call."""

from __future__ import annotations

import base64
import inspect
import json
import logging
from dataclasses import dataclass
from typing import Any

from schemas import AcceptFriendship, AddToRoom, ChangeRoomTopic, Command, RemoveFromRoom, SayText, SendFile
from services.gateway import puppet_service_calls
from services.gateway._wechaty_compat import wechaty_puppet
from services.gateway.files import FileBlob, LoadObject, file_of
from services.gateway.pacing import bounded_parts
from services.gateway.parsing import render_mentions
from services.gateway.reader import Puppet, PuppetReader

log = logging.getLogger("qunbus.gateway.executor")

DIRECT_ADD_LIMIT = 40
"""WeChat refuses a direct add to a room with more members than this; the contact must be invited instead."""

FRIENDSHIPS = "friendships"
"""Pacing key of friendship actions (they belong to no conversation)."""


class UnsupportedCommandError(ValueError):
    """A command this gateway cannot carry out (retrying will not help)."""


@dataclass(frozen=True)
class Step:
    """One WeChat action of a command."""

    command: Command
    conversation: str
    """Pacing key: the room or contact the action happens in."""
    index: int = 0
    total: int = 1
    text: str = ""
    mention_ids: tuple[str, ...] = ()
    file: FileBlob | None = None

    @property
    def is_last(self) -> bool:
        return self.index == self.total - 1


def conversation_of(command: Command) -> str:
    """The pacing key of a command: the room or contact it speaks in (friendships belong to none)."""
    match command:
        case (
            SayText(room_id=room_id, contact_id=contact_id) | SendFile(room_id=room_id, contact_id=contact_id)
        ):
            return str(room_id or contact_id)
        case AddToRoom(room_id=room_id) | RemoveFromRoom(room_id=room_id) | ChangeRoomTopic(room_id=room_id):
            return room_id
    return FRIENDSHIPS


def budget_kind(command: Command) -> str:
    """The daily budget a command counts against ("" for none)."""
    match command:
        case SayText():
            return "text"
        case SendFile():
            return "file"
        case AddToRoom():
            return "invite"
        case AcceptFriendship():
            return "friend"
    return ""


class Executor:
    def __init__(
        self,
        puppet: Puppet,
        reader: PuppetReader,
        max_message_chars: int,
        max_parts: int = 3,
        *,
        load_object: LoadObject | None = None,
        max_file_bytes: int = 25 * 1024 * 1024,
    ) -> None:
        self.puppet = puppet
        self.reader = reader
        self.max_message_chars = max_message_chars
        self.max_parts = max_parts
        self.load_object = load_object
        self.max_file_bytes = max_file_bytes

    async def plan(self, command: Command) -> list[Step]:
        match command:
            case SayText():
                return await self._plan_say(command)
            case SendFile():
                # Checked (size, SHA-256) before anything is sent: a file that cannot be right is dead-lettered.
                blob = await file_of(command, self.load_object, self.max_file_bytes)
                return [Step(command, conversation_of(command), file=blob)]
            case AddToRoom() | RemoveFromRoom() | ChangeRoomTopic() | AcceptFriendship():
                return [Step(command, conversation_of(command))]
        raise UnsupportedCommandError(f"no WeChat action for {type(command).__name__}")

    async def _plan_say(self, command: SayText) -> list[Step]:
        conversation = conversation_of(command)
        # At most `max_parts` messages: one long reply must not cost the account a burst of sends.
        chunks = bounded_parts(command.text, self.max_message_chars, self.max_parts) or [command.text]
        if command.mention_ids and command.room_id:
            names = [await self.reader.display_name(command.room_id, who) for who in command.mention_ids]
            chunks[0] = render_mentions(names, chunks[0])
        return [
            Step(
                command,
                conversation,
                index=index,
                total=len(chunks),
                text=chunk,
                # Mentions notify once: only the first message of a split text carries them.
                mention_ids=tuple(command.mention_ids) if index == 0 else (),
            )
            for index, chunk in enumerate(chunks)
        ]

    async def run(self, step: Step) -> None:
        match step.command:
            case SayText():
                await self.puppet.message_send_text(
                    step.conversation, step.text, list(step.mention_ids) or None
                )
            case SendFile() if step.file is not None:
                await self.puppet.message_send_file(step.conversation, file_box(step.file))
            case AddToRoom(room_id=room_id, contact_id=contact_id):
                await self._add(room_id, contact_id)
            case RemoveFromRoom(room_id=room_id, contact_id=contact_id, reason=reason):
                log.info("removing %s from %s (%s)", contact_id, room_id, reason or "no reason given")
                if puppet_service_calls.is_puppet_service(self.puppet):
                    await puppet_service_calls.room_del(self.puppet, room_id, contact_id)
                else:
                    await self.puppet.room_delete(room_id, contact_id)
            case ChangeRoomTopic(room_id=room_id, topic=topic):
                if puppet_service_calls.is_puppet_service(self.puppet):
                    await puppet_service_calls.room_topic(self.puppet, room_id, topic)
                else:
                    await self.puppet.room_topic(room_id, topic)
            case AcceptFriendship(friendship_id=friendship_id):
                await self.puppet.friendship_accept(friendship_id)
            case other:
                raise UnsupportedCommandError(f"no WeChat action for {type(other).__name__}")

    async def _add(self, room_id: str, contact_id: str) -> None:
        try:
            await self.puppet.room_add(room_id, contact_id)
        except Exception:
            room = await self.reader.room(room_id)
            if (room.member_count or 0) <= DIRECT_ADD_LIMIT:
                raise
            log.info(
                "direct add to %s (%s members) refused; inviting %s", room_id, room.member_count, contact_id
            )
            await self._invite(room_id, contact_id)

    async def _invite(self, room_id: str, contact_id: str) -> None:
        if puppet_service_calls.is_puppet_service(self.puppet):
            await puppet_service_calls.room_add(self.puppet, room_id, contact_id, invite_only=True)
            return
        if "invite_only" in inspect.signature(self.puppet.room_add).parameters:
            await self.puppet.room_add(room_id, contact_id, invite_only=True)
            return
        raise UnsupportedCommandError("this puppet cannot send room invitations")


class _FileBox(wechaty_puppet.FileBox):  # type: ignore[misc]  # python-wechaty ships no type information
    def to_json_str(self) -> str:
        """The JSON a 1.x puppet service reads (`type`, and the old `boxType`). python-wechaty's own serialiser
        reads its deprecated `mimeType` property, which calls the deprecated `Logger.warn`."""
        return json.dumps(
            {
                "type": 1,
                "boxType": 1,
                "name": self.name,
                "base64": self.base64.decode(),
                "mediaType": self.mediaType,
                "metadata": {},
            }
        )


def file_box(blob: FileBlob) -> Any:
    """python-wechaty's FileBox (base64 inside), as the puppet service and in-process puppets take it."""
    options = wechaty_puppet.file_box.FileBoxOptionsBase64(base64=base64.b64encode(blob.data), name=blob.name)
    box = _FileBox(options)
    box.mediaType = blob.mime_type
    return box


def describe(step: Step) -> dict[str, Any]:
    """For logs: what a step does, without message text (it may be private)."""
    return {
        "command": type(step.command).__name__,
        "id": step.command.id,
        "conversation": step.conversation,
        "part": f"{step.index + 1}/{step.total}",
    }
