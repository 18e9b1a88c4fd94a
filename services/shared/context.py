"""What a handler gets: its service's settings and resources, the time, and ways to answer. Nothing more: Redis and
other resources come through the service's own `deps`; room preferences are read here and written only by the
service that owns them (the moderator)."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Generic, TypeVar
from zoneinfo import ZoneInfo

from schemas import Command, Event, MessageReceived, Payload, Request, Room, SayText, ServiceInfo, new_id
from services.shared.commands import Bilingual, Lang
from services.shared.rooms import AdminCheck, RoomPrefs, RoomStore
from services.shared.settings import QunSettings

if TYPE_CHECKING:
    from services.shared.bus import BusConnection
    from services.shared.registry import LiveRegistry

S = TypeVar("S", bound=QunSettings)
D = TypeVar("D")
R = TypeVar("R", bound=Payload)

log = logging.getLogger("qunbus")

_COMMAND_IDS = uuid.UUID("6f1c1a52-4a0f-4c59-9f55-5b1f3c0d2a11")


class Clock:
    """Wall clock plus an offset: tests and demos move time forward without sleeping."""

    def __init__(self, offset_s: float = 0.0) -> None:
        self.offset = timedelta(seconds=offset_s)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def monotonic(self) -> float:
        return time.monotonic() + self.offset.total_seconds()


def pick_text(lang: Lang, text: str | Bilingual | None, zh: str | None, en: str | None) -> str:
    """The reply in the wanted language, falling back to whichever exists."""
    if isinstance(text, Bilingual):
        return text.pick(lang)
    chosen = text if text is not None else (zh if lang == "zh" else en) or zh or en
    if not chosen:
        raise ValueError("a reply needs text=, or zh= and/or en=")
    return chosen


class UndeclaredPublishError(RuntimeError):
    """A service published a type it did not declare in `QunService(publishes=...)` (its NATS user may not)."""


class HeldOutput:
    """Stands in for the bus while a speculative fallback runs: what it sends or emits is kept until `release()`
    (it won the claims) or dropped (it did not); requests (reads) go through."""

    def __init__(self, bus: BusConnection | HeldOutput) -> None:
        self._bus = bus
        self._held: list[tuple[str, Command | Event]] = []

    async def send(self, bot_id: str, command: Command) -> None:
        self._held.append((bot_id, command))

    async def emit(self, event: Event) -> None:
        self._held.append(("", event))

    async def request(self, bot_id: str, request: Request, timeout: float) -> Payload:
        return await self._bus.request(bot_id, request, timeout)

    async def release(self) -> None:
        for bot_id, payload in self._held:
            if isinstance(payload, Command):
                await self._bus.send(bot_id, payload)
            else:
                await self._bus.emit(payload)
        self._held.clear()


@dataclass
class AppContext(Generic[S, D]):
    """Everything a background task or HTTP route may use; one per running service instance."""

    service: str
    settings: S
    deps: D
    _bus: BusConnection | HeldOutput
    _registry: LiveRegistry
    _rooms: RoomStore
    _admins: AdminCheck
    _clock: Clock
    _publishes: frozenset[type[Payload]]

    def now(self) -> datetime:
        return self._clock.now()

    def _check(self, kind: type[Payload]) -> None:
        if kind not in self._publishes:
            raise UndeclaredPublishError(f"{self.service} publishes {kind.__name__}: add it to `publishes=`")

    async def send_to(self, bot_id: str, command: Command) -> None:
        """Publish a command to that bot's gateway and wait until JetStream stored it."""
        self._check(type(command))
        await self._bus.send(bot_id, command)

    async def emit(self, event: Event) -> None:
        """Publish an event this service observed (on `qun.evt.<bot>.<suffix>`), deduplicated by its id."""
        self._check(type(event))
        await self._bus.emit(event)

    async def request(self, bot_id: str, request: Request, timeout: float = 2.0) -> Payload:
        """Ask the live service that answers `request`; TimeoutError when none does within `timeout`."""
        self._check(type(request))
        return await self._bus.request(bot_id, request, timeout)

    async def say_to(
        self,
        bot_id: str,
        *,
        room_id: str | None = None,
        contact_id: str | None = None,
        text: str | Bilingual | None = None,
        zh: str | None = None,
        en: str | None = None,
        lang: Lang = "zh",
        mention_ids: Sequence[str] = (),
        command_id: str | None = None,
        priority: str = "notice",
        deadline: datetime | None = None,
    ) -> None:
        """Send a text outside of any event (background tasks); pass a stable `command_id` to make retries safe."""
        say = SayText.model_validate(
            {
                "room_id": room_id,
                "contact_id": contact_id,
                "text": pick_text(lang, text, zh, en),
                "mention_ids": list(mention_ids),
                "id": command_id or new_id(),
                "priority": priority,
                "deadline": deadline,
            }
        )
        await self.send_to(bot_id, say)

    async def room(self, room_id: str) -> RoomPrefs:
        """A room's preferences (services switched off, language, time zone, admins), cached per process."""
        return await self._rooms.prefs(room_id)

    async def discover(self, max_age_s: float = 0.0) -> list[ServiceInfo]:
        """Live services, one entry per name: the registry as this replica sees it (refreshed in the background
        and whenever a service starts or stops)."""
        del max_age_s  # the registry is kept fresh; kept for callers that pass it
        return self._registry.services


@dataclass
class Context(AppContext[S, D], Generic[S, D]):
    """Per event. Replies go back where the event came from, in the event's language."""

    event: Event = field(kw_only=True)
    lang: Lang = field(kw_only=True, default="zh")
    zone: ZoneInfo = field(kw_only=True, default=ZoneInfo("UTC"))
    """The room's time zone (its override, else QUN_TIMEZONE); QUN_TIMEZONE for direct messages."""
    stale: bool = field(kw_only=True, default=False)
    erase: bool = field(kw_only=True, default=False)
    """Set by `erase_event()`: the dispatcher deletes the event from the stream once it is handled."""

    @property
    def bot_id(self) -> str:
        return self.event.bot_id

    def erase_event(self) -> None:
        """The event carries a secret (a room password in a direct message): once it is handled, the plumbing
        erases it from the event stream (overwritten, not just unlinked), so it does not rest there for days.
        Needs the right to delete messages from QUN_EVT (`nats_publish` in the declaration)."""
        self.erase = True

    def stable_id(self, command: Command) -> str:
        """The id of `command` as issued for this event: the same event re-issuing the same command gets the same
        id, which JetStream and the gateway drop as a duplicate; a different command never shares it."""
        content = command.model_dump_json(exclude={"id"})
        return uuid.uuid5(
            _COMMAND_IDS, f"{self.service}/{self.event.id}/{command.subject_suffix}/{content}"
        ).hex

    async def send(self, command: Command) -> None:
        """Publish a command to this event's gateway, with a stable id unless the handler chose one (e.g. one
        welcome for a batch of joins). Chat output for a stale event is dropped; other commands still go out."""
        if "id" not in command.model_fields_set:
            command = command.model_copy(update={"id": self.stable_id(command)})
        if self.stale and isinstance(command, SayText):
            log.info("stale event %s: reply dropped", self.event.id)
            return
        await self.send_to(self.bot_id, command)

    async def say(
        self,
        *,
        room_id: str | None = None,
        contact_id: str | None = None,
        text: str | Bilingual | None = None,
        zh: str | None = None,
        en: str | None = None,
        mention_ids: Sequence[str] = (),
    ) -> None:
        say = SayText(
            room_id=room_id,
            contact_id=contact_id,
            text=pick_text(self.lang, text, zh, en),
            mention_ids=list(mention_ids),
            reply_to=self.event.id,
        )
        await self.send(say)

    async def reply(
        self,
        text: str | Bilingual | None = None,
        *,
        zh: str | None = None,
        en: str | None = None,
        mention_ids: Sequence[str] = (),
    ) -> None:
        """Answer in the room the event came from, or to the sender of a direct message."""
        room, contact = origin(self.event)
        await self.say(
            room_id=room,
            contact_id=None if room else contact,
            text=text,
            zh=zh,
            en=en,
            mention_ids=mention_ids,
        )

    async def is_admin(self, contact_id: str | None = None, room: Room | None = None) -> bool:
        """Whether `contact_id` (default: the sender) is an admin of `room` (default: the event's room)."""
        event_room = getattr(self.event, "room", None)
        who = contact_id or origin(self.event)[1]
        if who is None:
            return False
        return await self._admins.is_admin(
            who, room or (event_room if isinstance(event_room, Room) else None)
        )


def origin(event: Event) -> tuple[str | None, str | None]:
    """(room id, sender id) of an event."""
    room = getattr(event, "room", None)
    sender = event.talker.id if isinstance(event, MessageReceived) else None
    return (room.id if isinstance(room, Room) else None), sender
