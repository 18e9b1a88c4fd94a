"""A local WeChat world held in memory: rooms, contacts and a message log.

Everything a person can do in a group chat (speak, @-mention, quote, join, leave, rename, ask for friendship, write
to the bot directly) is an operation here, and so is everything the bot can do through its puppet. Text is rendered
exactly as WeChat delivers it, so the gateway parses simulator messages with the same code as real ones.

The world is synchronous and has no I/O; observers (the puppet, the live HTTP stream) subscribe to `WorldEvent`s.
"""

from __future__ import annotations

import hashlib
import itertools
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

#: WeChat puts U+2005 (four-per-em space) after "@Name" when a member is picked from the @ list.
AT_SEPARATOR = "\u2005"
#: The separator WeChat puts between a quoted message and the reply.
QUOTE_SEPARATOR = "- - - - - - - - - - - - - - -"
#: The separator older WeChat versions used.
LEGACY_QUOTE_SEPARATOR = "------"
#: Above this many members WeChat refuses a direct add and sends the contact an invitation instead.
DIRECT_ADD_LIMIT = 40

QuoteStyle = Literal["current", "legacy"]
MessageKind = Literal["text", "system", "file"]
#: Files the bot sent are kept in memory for the page; the oldest go beyond this many.
KEPT_FILES = 200
#: Async callable the demo launcher passes in to feed the admin panel (services, bus, dead letters, outbound).
AdminSource = Callable[[], Awaitable[Mapping[str, object]]]


class WorldError(ValueError):
    """An operation the simulated WeChat refuses."""


class UnknownRoomError(WorldError):
    pass


class UnknownContactError(WorldError):
    pass


class UnknownMessageError(WorldError):
    pass


class NotPermittedError(WorldError):
    """The actor lacks the right (e.g. the bot removing someone without being owner or admin)."""


@dataclass(frozen=True)
class Person:
    """A WeChat contact as the bot's account sees it."""

    id: str
    name: str
    friend: bool = True


@dataclass(frozen=True)
class Member:
    """A person inside one room; `alias` is the name they set for themselves in that room."""

    id: str
    name: str
    alias: str | None = None

    @property
    def display_name(self) -> str:
        return self.alias or self.name


@dataclass(frozen=True)
class RoomView:
    id: str
    topic: str
    owner_id: str
    admin_ids: tuple[str, ...]
    members: tuple[Member, ...]

    @property
    def member_ids(self) -> tuple[str, ...]:
        return tuple(member.id for member in self.members)


@dataclass(frozen=True)
class QuotedText:
    """What a quoted reply shows of the quoted message: WeChat keeps only the author's name and the text."""

    talker_name: str
    text: str


@dataclass(frozen=True)
class SentFile:
    """What the bot sent as an image or a file (the bytes are kept by the world, see `SimulatorWorld.file_data`)."""

    name: str
    mime_type: str
    size: int
    sha256: str

    @property
    def is_image(self) -> bool:
        return self.mime_type.startswith("image/")


@dataclass(frozen=True)
class ChatMessage:
    """One message in the log. `text` is what WeChat delivers; `reply` is the part after any quote block."""

    seq: int
    id: str
    kind: MessageKind
    room_id: str | None
    talker_id: str
    talker_name: str
    to_id: str | None
    text: str
    reply: str
    mention_ids: tuple[str, ...]
    quote: QuotedText | None
    timestamp: float
    from_bot: bool
    quote_id: str | None = None
    """The id of the quoted message when it was picked in the chat (a quote typed by hand has none)."""
    file: SentFile | None = None
    """For `kind == "file"`: the image or file."""


@dataclass(frozen=True)
class FriendRequest:
    id: str
    contact_id: str
    hello: str
    timestamp: float
    accepted: bool = False


@dataclass(frozen=True)
class Invitation:
    """A room invitation the bot sent because the room was too big for a direct add."""

    id: str
    room_id: str
    contact_id: str
    inviter_id: str
    timestamp: float
    accepted: bool = False


@dataclass(frozen=True)
class MessagePosted:
    message: ChatMessage


@dataclass(frozen=True)
class MembersJoined:
    room_id: str
    invitee_ids: tuple[str, ...]
    inviter_id: str
    timestamp: float


@dataclass(frozen=True)
class MembersLeft:
    """`remover_id` equals the leaver's id when someone left on their own (WeChat names no remover then)."""

    room_id: str
    leaver_ids: tuple[str, ...]
    remover_id: str
    timestamp: float


@dataclass(frozen=True)
class TopicChanged:
    room_id: str
    old_topic: str
    new_topic: str
    changer_id: str
    timestamp: float


@dataclass(frozen=True)
class FriendshipRequested:
    request: FriendRequest


@dataclass(frozen=True)
class InvitationSent:
    invitation: Invitation


WorldEvent = MessagePosted | MembersJoined | MembersLeft | TopicChanged | FriendshipRequested | InvitationSent
Listener = Callable[[WorldEvent], None]


@dataclass
class _Room:
    id: str
    topic: str
    owner_id: str
    admin_ids: list[str]
    member_ids: list[str]
    aliases: dict[str, str] = field(default_factory=dict)


def render_mentions(names: Iterable[str]) -> str:
    """The prefix WeChat writes for mentions picked from the @ list: "@Name\u2005" each."""
    return "".join(f"@{name}{AT_SEPARATOR}" for name in names)


def render_quote(quote: QuotedText, reply: str, style: QuoteStyle = "current") -> str:
    """A quoted reply as WeChat delivers it: the quoted message on top, a separator, then the reply."""
    if style == "legacy":
        return f'"{quote.talker_name}: {quote.text}"\n{LEGACY_QUOTE_SEPARATOR}\n{reply}'
    return f"「{quote.talker_name}：{quote.text}」\n{QUOTE_SEPARATOR}\n{reply}"


class SimulatorWorld:
    """A WeChat account (the bot) with its rooms, contacts and message log."""

    def __init__(
        self,
        bot_id: str = "qunbot",
        bot_name: str = "QunBot",
        *,
        seed: bool = True,
        admin_source: AdminSource | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.bot_id = bot_id
        self.bot_name = bot_name
        #: Feeds the page's admin panel; the demo launcher may set it after construction.
        self.admin_source = admin_source
        self._clock = clock
        # Message ids must be unique per process: python-wechaty drops a message id it has seen in any instance.
        self._id_prefix = uuid.uuid4().hex[:8]
        self._ids = itertools.count(1)
        self._contacts: dict[str, Person] = {bot_id: Person(bot_id, bot_name)}
        self._rooms: dict[str, _Room] = {}
        self._log: list[ChatMessage] = []
        self._friend_requests: dict[str, FriendRequest] = {}
        self._invitations: dict[str, Invitation] = {}
        self._files: dict[str, bytes] = {}
        self._listeners: list[Listener] = []
        if seed:
            seed_demo_world(self)

    async def serve(self, host: str = "127.0.0.1", port: int = 8700) -> None:
        """Serve the HTTP API and the chat page until cancelled (see services/simulator/README.md)."""
        from services.simulator.http import serve  # noqa: PLC0415 - keeps this domain module free of the HTTP stack

        await serve(self, host, port)

    # ----------------------------------------------------------------------------------------------------------------
    # Observers

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call `listener` for every event from now on; returns a function that unsubscribes."""
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    def _publish(self, event: WorldEvent) -> None:
        for listener in list(self._listeners):
            listener(event)

    # ----------------------------------------------------------------------------------------------------------------
    # Building the world

    def add_contact(self, name: str, *, contact_id: str | None = None, friend: bool = True) -> Person:
        person = Person(contact_id or self._new_id("wxid"), name, friend)
        if person.id in self._contacts:
            raise WorldError(f"contact {person.id} already exists")
        self._contacts[person.id] = person
        return person

    def add_room(
        self,
        topic: str,
        *,
        owner_id: str,
        member_ids: Iterable[str],
        room_id: str | None = None,
        admin_ids: Iterable[str] = (),
        aliases: Mapping[str, str] | None = None,
    ) -> RoomView:
        """Create a room silently (seeding); the bot is always a member."""
        members = [self.contact(contact_id).id for contact_id in member_ids]
        if self.bot_id not in members:
            members.insert(0, self.bot_id)
        if owner_id not in members:
            members.append(self.contact(owner_id).id)
        room = _Room(
            id=room_id or f"{self._new_id('')[1:]}@chatroom",
            topic=topic,
            owner_id=owner_id,
            admin_ids=list(admin_ids),
            member_ids=members,
            aliases=dict(aliases or {}),
        )
        self._rooms[room.id] = room
        return self.room(room.id)

    # ----------------------------------------------------------------------------------------------------------------
    # Queries

    def contacts(self) -> list[Person]:
        return list(self._contacts.values())

    def contact(self, contact_id: str) -> Person:
        try:
            return self._contacts[contact_id]
        except KeyError:
            raise UnknownContactError(f"no contact {contact_id}") from None

    def rooms(self) -> list[RoomView]:
        return [self.room(room_id) for room_id in self._rooms]

    def room(self, room_id: str) -> RoomView:
        room = self._room(room_id)
        members = tuple(
            Member(contact_id, self._contacts[contact_id].name, room.aliases.get(contact_id))
            for contact_id in room.member_ids
        )
        return RoomView(room.id, room.topic, room.owner_id, tuple(room.admin_ids), members)

    def member(self, room_id: str, contact_id: str) -> Member:
        for member in self.room(room_id).members:
            if member.id == contact_id:
                return member
        raise NotPermittedError(f"{contact_id} is not a member of {room_id}")

    def display_name(self, room_id: str | None, contact_id: str) -> str:
        """The name shown for a contact: their room alias inside a room, else their WeChat name."""
        if room_id is not None:
            alias = self._room(room_id).aliases.get(contact_id)
            if alias:
                return alias
        return self.contact(contact_id).name

    def messages(
        self,
        *,
        room_id: str | None = None,
        contact_id: str | None = None,
        after: int = 0,
        from_bot: bool | None = None,
    ) -> list[ChatMessage]:
        """The log, oldest first. `contact_id` selects the direct conversation between that contact and the bot."""
        selected = [message for message in self._log if message.seq > after]
        if room_id is not None:
            selected = [message for message in selected if message.room_id == room_id]
        if contact_id is not None:
            selected = [
                message
                for message in selected
                if message.room_id is None and contact_id in (message.talker_id, message.to_id)
            ]
        if from_bot is not None:
            selected = [message for message in selected if message.from_bot == from_bot]
        return selected

    def message(self, message_id: str) -> ChatMessage:
        for message in self._log:
            if message.id == message_id:
                return message
        raise UnknownMessageError(f"no message {message_id}")

    def bot_sent(self) -> list[ChatMessage]:
        """What the bot said, anywhere: the assertion point for tests."""
        return self.messages(from_bot=True)

    def friend_requests(self) -> list[FriendRequest]:
        return list(self._friend_requests.values())

    def friend_request(self, friendship_id: str) -> FriendRequest:
        try:
            return self._friend_requests[friendship_id]
        except KeyError:
            raise UnknownContactError(f"no friend request {friendship_id}") from None

    def invitations(self) -> list[Invitation]:
        return list(self._invitations.values())

    # ----------------------------------------------------------------------------------------------------------------
    # What people do

    def say(
        self,
        room_id: str,
        talker_id: str,
        text: str,
        *,
        mention_ids: Iterable[str] = (),
        quote_id: str | None = None,
        quote: QuotedText | None = None,
        quote_style: QuoteStyle = "current",
    ) -> ChatMessage:
        """A member speaks in a room.

        `mention_ids` are rendered in front of the text as WeChat does; "@Name" typed inside the text is recognised
        as a mention of the member with that display name (as if picked from WeChat's @ list). `quote_id` quotes an
        earlier message of the room (or pass `quote` directly).
        """
        self.member(room_id, talker_id)
        picked = list(dict.fromkeys(mention_ids))
        for contact_id in picked:
            self.member(room_id, contact_id)
        reply = render_mentions(self.display_name(room_id, contact_id) for contact_id in picked) + text
        reply, typed = self._recognise_typed_mentions(room_id, reply)
        mentioned = tuple(dict.fromkeys([*picked, *typed]))
        if quote_id is not None:
            quote = self._quote_of(room_id, quote_id)
        full_text = render_quote(quote, reply, quote_style) if quote else reply
        return self._post(
            kind="text",
            room_id=room_id,
            talker_id=talker_id,
            to_id=None,
            text=full_text,
            reply=reply,
            mention_ids=mentioned,
            quote=quote,
            quote_id=quote_id,
        )

    def direct_message(self, contact_id: str, text: str) -> ChatMessage:
        """A contact writes to the bot privately."""
        self.contact(contact_id)
        return self._post(
            kind="text", room_id=None, talker_id=contact_id, to_id=self.bot_id, text=text, reply=text
        )

    def join(
        self,
        room_id: str,
        *,
        contact_id: str | None = None,
        name: str | None = None,
        inviter_id: str | None = None,
    ) -> Member:
        """Someone joins (invited by `inviter_id`, default the owner). Pass a known `contact_id` or a new `name`."""
        room = self._room(room_id)
        person = self._existing_or_new(contact_id, name, friend=False)
        inviter = inviter_id or room.owner_id
        self.member(room_id, inviter)
        if person.id in room.member_ids:
            raise WorldError(f"{person.name} is already in {room.topic}")
        self._add_member(room, person.id, inviter)
        return self.member(room_id, person.id)

    def leave(self, room_id: str, contact_id: str, *, remover_id: str | None = None) -> None:
        """Someone leaves, or is removed by `remover_id` (who must be the owner or an admin)."""
        room = self._room(room_id)
        self.member(room_id, contact_id)
        if remover_id is not None and remover_id != contact_id:
            self._require_manager(room, remover_id)
        self._remove_member(room, contact_id, remover_id or contact_id)

    def change_topic(self, room_id: str, topic: str, *, changer_id: str) -> None:
        room = self._room(room_id)
        self.member(room_id, changer_id)
        self._set_topic(room, topic, changer_id)

    def request_friendship(
        self, *, contact_id: str | None = None, name: str | None = None, hello: str = ""
    ) -> FriendRequest:
        """Someone asks to become the bot's friend; a new `name` creates the contact."""
        person = self._existing_or_new(contact_id, name, friend=False)
        request = FriendRequest(self._new_id("fr"), person.id, hello, self._clock())
        self._friend_requests[request.id] = request
        self._publish(FriendshipRequested(request))
        return request

    def accept_invitation(self, invitation_id: str) -> Member:
        """The invited contact accepts a room invitation the bot sent."""
        try:
            invitation = self._invitations[invitation_id]
        except KeyError:
            raise WorldError(f"no invitation {invitation_id}") from None
        if invitation.accepted:
            raise WorldError(f"invitation {invitation_id} was already accepted")
        self._invitations[invitation_id] = replace(invitation, accepted=True)
        room = self._room(invitation.room_id)
        if invitation.contact_id not in room.member_ids:
            self._add_member(room, invitation.contact_id, invitation.inviter_id)
        return self.member(room.id, invitation.contact_id)

    # ----------------------------------------------------------------------------------------------------------------
    # What the bot does (called by the puppet)

    def bot_send_text(self, conversation_id: str, text: str, mention_ids: Iterable[str] = ()) -> ChatMessage:
        """The bot sends text to a room or a contact. The text arrives already rendered (python-wechaty renders
        "@Name" itself); `mention_ids` are recorded as they were passed."""
        mentioned = tuple(dict.fromkeys(mention_ids))
        if conversation_id in self._rooms:
            self.member(conversation_id, self.bot_id)  # a bot that left or was removed cannot speak there
            for contact_id in mentioned:
                self.member(conversation_id, contact_id)
            room_id: str | None = conversation_id
            to_id = None
        else:
            self.contact(conversation_id)
            room_id, to_id = None, conversation_id
        return self._post(
            kind="text",
            room_id=room_id,
            talker_id=self.bot_id,
            to_id=to_id,
            text=text,
            reply=text,
            mention_ids=mentioned,
        )

    def bot_send_file(self, conversation_id: str, name: str, mime_type: str, data: bytes) -> ChatMessage:
        """The bot sends an image (`image/*`) or a file to a room or a contact."""
        sent = SentFile(name, mime_type, len(data), hashlib.sha256(data).hexdigest())
        if conversation_id in self._rooms:
            self.member(conversation_id, self.bot_id)
            room_id: str | None = conversation_id
            to_id = None
        else:
            self.contact(conversation_id)
            room_id, to_id = None, conversation_id
        label = f"[图片 image] {name}" if sent.is_image else f"[文件 file] {name}"
        message = self._post(
            kind="file",
            room_id=room_id,
            talker_id=self.bot_id,
            to_id=to_id,
            text=label,
            reply=label,
            file=sent,
        )
        self._files[message.id] = data
        while len(self._files) > KEPT_FILES:
            del self._files[next(iter(self._files))]
        return message

    def file_data(self, message_id: str) -> tuple[SentFile, bytes]:
        message = self.message(message_id)
        if message.file is None or message_id not in self._files:
            raise UnknownMessageError(f"no file {message_id}")
        return message.file, self._files[message_id]

    def bot_add_member(self, room_id: str, contact_id: str) -> Invitation | None:
        """Add a contact; a room above `DIRECT_ADD_LIMIT` members gets an invitation instead (returned)."""
        room = self._room(room_id)
        self.contact(contact_id)
        if contact_id in room.member_ids:
            raise WorldError(f"{contact_id} is already in {room.topic}")
        if len(room.member_ids) <= DIRECT_ADD_LIMIT:
            self._add_member(room, contact_id, self.bot_id)
            return None
        invitation = Invitation(self._new_id("inv"), room_id, contact_id, self.bot_id, self._clock())
        self._invitations[invitation.id] = invitation
        name = self.contact(contact_id).name
        self._system(room_id, f'"{self.bot_name}"邀请"{name}"加入群聊，等待对方确认')
        self._publish(InvitationSent(invitation))
        return invitation

    def bot_remove_member(self, room_id: str, contact_id: str) -> None:
        room = self._room(room_id)
        self._require_manager(room, self.bot_id)
        self.member(room_id, contact_id)
        if contact_id == room.owner_id:
            raise NotPermittedError("the room owner cannot be removed")
        self._remove_member(room, contact_id, self.bot_id)

    def bot_set_topic(self, room_id: str, topic: str) -> None:
        self._set_topic(self._room(room_id), topic, self.bot_id)

    def bot_accept_friendship(self, friendship_id: str) -> None:
        request = self.friend_request(friendship_id)
        self._friend_requests[friendship_id] = replace(request, accepted=True)
        self._contacts[request.contact_id] = replace(self._contacts[request.contact_id], friend=True)
        name = self._contacts[request.contact_id].name
        self._post(
            kind="system",
            room_id=None,
            talker_id=request.contact_id,
            to_id=self.bot_id,
            text=f"你已添加了{name}，现在可以开始聊天了。",
            reply="",
        )

    # ----------------------------------------------------------------------------------------------------------------
    # Internals

    def _room(self, room_id: str) -> _Room:
        try:
            return self._rooms[room_id]
        except KeyError:
            raise UnknownRoomError(f"no room {room_id}") from None

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}_{self._id_prefix}{next(self._ids)}"

    def _existing_or_new(self, contact_id: str | None, name: str | None, *, friend: bool) -> Person:
        if contact_id is not None:
            return self.contact(contact_id)
        if not name or not name.strip():
            raise WorldError("give a contact_id or a name")
        return self.add_contact(name.strip(), friend=friend)

    def _require_manager(self, room: _Room, actor_id: str) -> None:
        if actor_id != room.owner_id and actor_id not in room.admin_ids:
            name = self.display_name(room.id, actor_id)
            raise NotPermittedError(f"{name} is neither owner nor admin of {room.topic}")

    def _add_member(self, room: _Room, contact_id: str, inviter_id: str) -> None:
        room.member_ids.append(contact_id)
        inviter_name = "你" if inviter_id == self.bot_id else self.display_name(room.id, inviter_id)
        self._system(room.id, f'"{inviter_name}"邀请"{self.display_name(room.id, contact_id)}"加入了群聊')
        self._publish(MembersJoined(room.id, (contact_id,), inviter_id, self._clock()))

    def _remove_member(self, room: _Room, contact_id: str, remover_id: str) -> None:
        name = self.display_name(room.id, contact_id)
        room.member_ids.remove(contact_id)
        room.aliases.pop(contact_id, None)
        if contact_id in room.admin_ids:
            room.admin_ids.remove(contact_id)
        if remover_id == contact_id:
            self._system(room.id, f'"{name}"退出了群聊')
        else:
            self._system(room.id, f'"{self.display_name(room.id, remover_id)}"将"{name}"移出了群聊')
        self._publish(MembersLeft(room.id, (contact_id,), remover_id, self._clock()))

    def _set_topic(self, room: _Room, topic: str, changer_id: str) -> None:
        topic = topic.strip()
        if not topic:
            raise WorldError("a room topic cannot be empty")
        old_topic, room.topic = room.topic, topic
        changer = "你" if changer_id == self.bot_id else self.display_name(room.id, changer_id)
        self._system(room.id, f'"{changer}"修改群名为"{topic}"')
        self._publish(TopicChanged(room.id, old_topic, topic, changer_id, self._clock()))

    def _recognise_typed_mentions(self, room_id: str, text: str) -> tuple[str, list[str]]:
        """Turn "@Name" typed by hand into a real mention: WeChat offers the @ list as you type."""
        members = sorted(self.room(room_id).members, key=lambda member: -len(member.display_name))
        names = {member.display_name: member.id for member in members}
        names.update({member.name: member.id for member in members if member.name not in names})
        pattern = "|".join(re.escape(name) for name in sorted(names, key=len, reverse=True))
        found: list[str] = []

        def mark(match: re.Match[str]) -> str:
            found.append(names[match.group(1)])
            return f"@{self.display_name(room_id, names[match.group(1)])}{AT_SEPARATOR}"

        rendered = re.sub(rf"@({pattern})(?:[ {AT_SEPARATOR}]|$)", mark, text)
        return rendered, found

    def _quote_of(self, room_id: str, message_id: str) -> QuotedText:
        quoted = self.message(message_id)
        if quoted.room_id != room_id or quoted.kind != "text":
            raise WorldError("only a text message of the same room can be quoted")
        return QuotedText(quoted.talker_name, quoted.reply)

    def _system(self, room_id: str, text: str) -> None:
        self._post(kind="system", room_id=room_id, talker_id=self.bot_id, to_id=None, text=text, reply=text)

    def _post(
        self,
        *,
        kind: MessageKind,
        room_id: str | None,
        talker_id: str,
        to_id: str | None,
        text: str,
        reply: str,
        mention_ids: tuple[str, ...] = (),
        quote: QuotedText | None = None,
        quote_id: str | None = None,
        file: SentFile | None = None,
    ) -> ChatMessage:
        message = ChatMessage(
            seq=len(self._log) + 1,
            id=self._new_id("msg"),
            kind=kind,
            room_id=room_id,
            talker_id=talker_id,
            talker_name=self.display_name(room_id, talker_id),
            to_id=to_id,
            text=text,
            reply=reply,
            mention_ids=mention_ids,
            quote=quote,
            timestamp=self._clock(),
            from_bot=talker_id == self.bot_id and kind in {"text", "file"},
            quote_id=quote_id,
            file=file,
        )
        self._log.append(message)
        self._publish(MessagePosted(message))
        return message


OSS_ROOM_ID = "20000000001@chatroom"
TEST_ROOM_ID = "20000000002@chatroom"


def seed_demo_world(world: SimulatorWorld) -> None:
    """Two rooms with a handful of members each: a Chinese-speaking open-source group and an English test room."""
    people = {
        "wxid_zhangwei": "张伟",
        "wxid_lina": "李娜",
        "wxid_wangfang": "王芳",
        "wxid_bob": "Bob",
        "wxid_carol": "Carol",
        "wxid_dave": "Dave",
        "wxid_erin": "Erin",
    }
    for contact_id, name in people.items():
        world.add_contact(name, contact_id=contact_id)
    # The bot administers both rooms so that moderation (removing members) works in the demo.
    world.add_room(
        "开源交流群",
        room_id=OSS_ROOM_ID,
        owner_id="wxid_zhangwei",
        admin_ids=[world.bot_id],
        member_ids=["wxid_zhangwei", "wxid_lina", "wxid_wangfang", "wxid_bob"],
        aliases={"wxid_lina": "娜娜@前端"},
    )
    world.add_room(
        "Test Room",
        room_id=TEST_ROOM_ID,
        owner_id="wxid_carol",
        admin_ids=[world.bot_id],
        member_ids=["wxid_carol", "wxid_dave", "wxid_erin", "wxid_zhangwei"],
    )
