"""Broadcasts: one message (a text, an image, or both) to many rooms, each room exactly once.

Choosing rooms is pure (`choose`). Delivery (`BroadcastRunner`) hands the messages to the gateway a few at a time
(`OPS_BROADCAST_WINDOW`) at `broadcast` priority, so the gateway's pacing and fairness decide when each goes out
and a cancel stops what was not handed over yet. Progress per room lives in Redis:

    waiting -> queued (stored in QUN_CMD, its stream sequence kept) -> done (the gateway acked it)
            -> cancelled / expired

Command ids are derived from the broadcast id and the room, so a runner that restarts (or a second one) publishes
the same ids again: JetStream's duplicate window and the gateway's memory of command ids drop the repeat. A
message counts as done when the gateway's consumer acknowledged it (its ack floor passed the message's sequence):
sent, or dropped by the gateway (too old, or dead-lettered on `qun.dlq.gateway`).
"""

from __future__ import annotations

import asyncio
import base64
import fnmatch
import hashlib
import json
import logging
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from redis.asyncio import Redis

from schemas import Command, SayText, SendFile, new_id
from schemas.commands import INLINE_FILE_LIMIT
from services.ops import keys
from services.ops.accounts import RoomSeen
from services.shared.text import normalize

log = logging.getLogger("qunbus.ops.broadcast")

_COMMAND_IDS = uuid.UUID("9d4e2c1b-7a3f-4b8e-a6d5-3c2b1a0f9e87")
TERMINAL = frozenset({"done", "cancelled", "expired"})
LEASE_S = 15.0
MAX_TEXT = 2000

RoomState = Literal["waiting", "queued", "done", "cancelled", "expired"]


class BroadcastError(ValueError):
    """The request cannot become a broadcast (said to the operator as is)."""


# -- choosing rooms (pure) -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Selection:
    room_ids: tuple[str, ...] = ()
    topic: str = ""
    """A pattern on room topics: `*` and `?` wildcards, or a plain substring; case and width do not matter."""
    list_name: str = ""
    bot_id: str = ""

    @property
    def empty(self) -> bool:
        return not (self.room_ids or self.topic or self.list_name)


def topic_matches(pattern: str, topic: str) -> bool:
    wanted, actual = normalize(pattern), normalize(topic)
    if any(char in wanted for char in "*?["):
        return fnmatch.fnmatchcase(actual, wanted)
    return wanted in actual


def choose(rooms: Iterable[RoomSeen], selection: Selection, saved: dict[str, list[str]]) -> list[RoomSeen]:
    """The rooms a selection names (union of ids, topic pattern and saved list), each once, in topic order.
    Rooms the account left are never chosen; an id the ops service never saw is an error."""
    if selection.empty:
        raise BroadcastError("choose rooms: by id, by topic pattern or by a saved list")
    known = [
        room for room in rooms if not room.gone and (not selection.bot_id or room.bot_id == selection.bot_id)
    ]
    by_id: dict[str, RoomSeen] = {}
    for room in known:
        by_id.setdefault(room.id, room)
    wanted_ids = list(selection.room_ids)
    if selection.list_name:
        if selection.list_name not in saved:
            raise BroadcastError(f"no saved room list named {selection.list_name!r}")
        wanted_ids += saved[selection.list_name]
    unknown = [room_id for room_id in wanted_ids if room_id not in by_id]
    if unknown:
        raise BroadcastError(f"rooms not known to the bot: {', '.join(sorted(set(unknown)))}")
    chosen = {room_id: by_id[room_id] for room_id in wanted_ids}
    if selection.topic:
        for room in by_id.values():
            if topic_matches(selection.topic, room.topic):
                chosen.setdefault(room.id, room)
    if not chosen:
        raise BroadcastError("no room matches")
    return sorted(chosen.values(), key=lambda room: (normalize(room.topic), room.id))


# -- the message ---------------------------------------------------------------------------------------------------

_IMAGE_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


def image_type(data: bytes) -> str | None:
    for magic, mime in _IMAGE_MAGIC:
        if data.startswith(magic):
            return mime
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


@dataclass(frozen=True)
class Image:
    name: str
    mime_type: str
    size: int
    sha256: str

    @classmethod
    def of(cls, name: str, data: bytes) -> Image:
        mime = image_type(data)
        if mime is None:
            raise BroadcastError("the file is not a PNG, JPEG, GIF or WebP image")
        if len(data) > INLINE_FILE_LIMIT:
            raise BroadcastError(f"images are at most {INLINE_FILE_LIMIT // 1024} KiB")
        return cls(name or "image", mime, len(data), hashlib.sha256(data).hexdigest())


@dataclass(frozen=True)
class Recipient:
    room_id: str
    bot_id: str
    topic: str
    member_count: int | None

    @classmethod
    def of(cls, room: RoomSeen) -> Recipient:
        return cls(room.id, room.bot_id, room.topic, room.member_count)


@dataclass(frozen=True)
class Broadcast:
    id: str
    text: str
    image: Image | None
    recipients: tuple[Recipient, ...]
    created_at: str
    deadline: str
    created_by: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Broadcast:
        image = data.get("image")
        return cls(
            id=data["id"],
            text=data["text"],
            image=Image(**image) if image else None,
            recipients=tuple(Recipient(**item) for item in data["recipients"]),
            created_at=data["created_at"],
            deadline=data["deadline"],
            created_by=data.get("created_by", ""),
        )

    def commands(self, recipient: Recipient, image_base64: str | None) -> list[Command]:
        """What one room gets: the image first, then the text. Ids are stable per broadcast and room."""
        deadline = datetime.fromisoformat(self.deadline)
        out: list[Command] = []
        if self.image is not None:
            if image_base64 is None:
                raise BroadcastError("the broadcast's image is gone from Redis")
            out.append(
                SendFile(
                    id=command_id(self.id, recipient.room_id, "file"),
                    room_id=recipient.room_id,
                    name=self.image.name,
                    mime_type=self.image.mime_type,
                    size=self.image.size,
                    sha256=self.image.sha256,
                    data_base64=image_base64,
                    priority="broadcast",
                    deadline=deadline,
                )
            )
        if self.text:
            out.append(
                SayText(
                    id=command_id(self.id, recipient.room_id, "say"),
                    room_id=recipient.room_id,
                    text=self.text,
                    priority="broadcast",
                    deadline=deadline,
                )
            )
        return out


def command_id(broadcast_id: str, room_id: str, kind: str) -> str:
    return uuid.uuid5(_COMMAND_IDS, f"{broadcast_id}/{room_id}/{kind}").hex


def new_broadcast(
    text: str,
    image: Image | None,
    rooms: Sequence[RoomSeen],
    *,
    now: datetime,
    deadline_s: float,
    created_by: str = "",
) -> Broadcast:
    text = text.strip()
    if not text and image is None:
        raise BroadcastError("a broadcast needs a text or an image")
    if len(text) > MAX_TEXT:
        raise BroadcastError(f"the text is longer than {MAX_TEXT} characters")
    return Broadcast(
        id=new_id()[:12],
        text=text,
        image=image,
        recipients=tuple(Recipient.of(room) for room in rooms),
        created_at=now.isoformat(),
        deadline=(now + timedelta(seconds=deadline_s)).isoformat(),
        created_by=created_by,
    )


# -- storage -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Progress:
    broadcast: Broadcast
    rooms: dict[str, dict[str, Any]]
    cancelled: bool
    finished: bool

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(("waiting", "queued", "done", "cancelled", "expired"), 0)
        for state in self.rooms.values():
            counts[state["state"]] = counts.get(state["state"], 0) + 1
        return counts

    def to_json(self) -> dict[str, Any]:
        return {
            **self.broadcast.to_json(),
            "cancelled": self.cancelled,
            "finished": self.finished,
            "counts": self.counts(),
            "rooms": [
                {**asdict(recipient), **self.rooms.get(recipient.room_id, {"state": "waiting"})}
                for recipient in self.broadcast.recipients
            ],
        }


class BroadcastStore:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def create(self, broadcast: Broadcast, image_data: bytes | None) -> None:
        keep_s = (
            int(
                (
                    datetime.fromisoformat(broadcast.deadline) - datetime.fromisoformat(broadcast.created_at)
                ).total_seconds()
            )
            + 30 * 86400
        )
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(
                keys.broadcast(broadcast.id), json.dumps(broadcast.to_json(), ensure_ascii=False), ex=keep_s
            )
            pipe.hset(
                keys.broadcast_rooms(broadcast.id),
                mapping={r.room_id: json.dumps({"state": "waiting"}) for r in broadcast.recipients},
            )
            pipe.expire(keys.broadcast_rooms(broadcast.id), keep_s)
            if image_data is not None:
                pipe.set(keys.broadcast_file(broadcast.id), base64.b64encode(image_data).decode(), ex=keep_s)
            pipe.zadd(
                keys.BROADCASTS, {broadcast.id: datetime.fromisoformat(broadcast.created_at).timestamp()}
            )
            pipe.sadd(keys.ACTIVE_BROADCASTS, broadcast.id)
            await pipe.execute()

    async def get(self, broadcast_id: str) -> Broadcast | None:
        raw = await self._redis.get(keys.broadcast(broadcast_id))
        return Broadcast.from_json(json.loads(raw)) if raw else None

    async def image(self, broadcast_id: str) -> str | None:
        value = await self._redis.get(keys.broadcast_file(broadcast_id))
        return str(value) if value is not None else None

    async def progress(self, broadcast_id: str) -> Progress | None:
        broadcast = await self.get(broadcast_id)
        if broadcast is None:
            return None
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(keys.broadcast_rooms(broadcast_id))
            pipe.exists(f"{keys.broadcast(broadcast_id)}:cancel")
            pipe.sismember(keys.ACTIVE_BROADCASTS, broadcast_id)
            rooms, cancelled, active = await pipe.execute()
        return Progress(
            broadcast,
            {room_id: json.loads(raw) for room_id, raw in rooms.items()},
            bool(cancelled),
            not active,
        )

    async def set_room(self, broadcast_id: str, room_id: str, **state: Any) -> None:
        await self._redis.hset(keys.broadcast_rooms(broadcast_id), room_id, json.dumps(state))

    async def cancel(self, broadcast_id: str) -> bool:
        if await self.get(broadcast_id) is None:
            return False
        await self._redis.set(f"{keys.broadcast(broadcast_id)}:cancel", "1", ex=30 * 86400)
        return True

    async def finish(self, broadcast_id: str) -> None:
        await self._redis.srem(keys.ACTIVE_BROADCASTS, broadcast_id)

    async def active(self) -> list[str]:
        return sorted(str(member) for member in await self._redis.smembers(keys.ACTIVE_BROADCASTS))

    async def recent(self, limit: int = 20) -> list[Progress]:
        ids = [str(member) for member in await self._redis.zrevrange(keys.BROADCASTS, 0, limit - 1)]
        found = [await self.progress(broadcast_id) for broadcast_id in ids]
        return [progress for progress in found if progress is not None]

    async def take_lease(self, broadcast_id: str, owner: str) -> bool:
        """Only one runner per broadcast; the lease is renewed while it runs and lapses if it dies."""
        key = keys.broadcast_lease(broadcast_id)
        if await self._redis.set(key, owner, nx=True, px=int(LEASE_S * 1000)):
            return True
        if await self._redis.get(key) == owner:
            await self._redis.pexpire(key, int(LEASE_S * 1000))
            return True
        return False

    async def release(self, broadcast_id: str, owner: str) -> None:
        key = keys.broadcast_lease(broadcast_id)
        if await self._redis.get(key) == owner:
            await self._redis.delete(key)

    # saved room lists

    async def lists(self) -> dict[str, list[str]]:
        raw = await self._redis.hgetall(keys.ROOM_LISTS)
        return {str(name): json.loads(value) for name, value in sorted(raw.items())}

    async def save_list(self, name: str, room_ids: Sequence[str]) -> None:
        if not name.strip() or not room_ids:
            raise BroadcastError("a room list needs a name and at least one room id")
        await self._redis.hset(keys.ROOM_LISTS, name.strip(), json.dumps(sorted(set(room_ids))))

    async def delete_list(self, name: str) -> bool:
        return bool(await self._redis.hdel(keys.ROOM_LISTS, name))


# -- delivery ------------------------------------------------------------------------------------------------------


Publish = Callable[[str, Command], Any]
"""(bot id, command) -> awaitable of the stream sequence JetStream stored it at."""
AckFloor = Callable[[str], Any]
"""bot id -> awaitable of the highest QUN_CMD sequence its gateway acknowledged with all before it (None: no
gateway consumer)."""


@dataclass
class BroadcastRunner:
    store: BroadcastStore
    publish: Publish
    ack_floor: AckFloor
    now: Callable[[], datetime]
    window: int = 3
    tick_s: float = 1.0
    owner: str = field(default_factory=new_id)

    async def run(self, broadcast_id: str, on_progress: Callable[[Progress], None] | None = None) -> bool:
        """Carry the broadcast to its end if this runner gets the lease; False if another runner has it."""
        if not await self.store.take_lease(broadcast_id, self.owner):
            return False
        try:
            while True:
                progress = await self.step(broadcast_id)
                if progress is None:
                    return True
                if on_progress is not None:
                    on_progress(progress)
                if progress.finished:
                    return True
                await asyncio.sleep(self.tick_s)
                if not await self.store.take_lease(broadcast_id, self.owner):
                    return False
        finally:
            await self.store.release(broadcast_id, self.owner)

    async def step(self, broadcast_id: str) -> Progress | None:
        """One round: confirm what the gateway acknowledged, hand over more, notice the end."""
        progress = await self.store.progress(broadcast_id)
        if progress is None:
            await self.store.finish(broadcast_id)
            return None
        broadcast = progress.broadcast
        rooms = dict(progress.rooms)
        now = self.now()
        expired = now > datetime.fromisoformat(broadcast.deadline)
        await self._confirm(broadcast, rooms, now, expired=expired)
        if progress.cancelled or expired:
            await self._close(broadcast, rooms, now, "cancelled" if progress.cancelled else "expired")
        else:
            await self._hand_over(broadcast, rooms, now)
        finished = all(rooms.get(r.room_id, {}).get("state") in TERMINAL for r in broadcast.recipients)
        result = Progress(broadcast, rooms, progress.cancelled, finished)
        if finished:
            await self.store.finish(broadcast_id)
            log.info("broadcast %s finished: %s", broadcast_id, result.counts())
        return result

    async def _set(
        self, broadcast: Broadcast, rooms: dict[str, dict[str, Any]], room_id: str, **state: Any
    ) -> None:
        rooms[room_id] = state
        await self.store.set_room(broadcast.id, room_id, **state)

    async def _confirm(
        self, broadcast: Broadcast, rooms: dict[str, dict[str, Any]], now: datetime, *, expired: bool
    ) -> None:
        """Queued rooms the gateway acknowledged are done; past the deadline the others expire."""
        floors: dict[str, int | None] = {}
        for recipient in broadcast.recipients:
            state = rooms.get(recipient.room_id, {"state": "waiting"})
            if state["state"] != "queued":
                continue
            if recipient.bot_id not in floors:
                floors[recipient.bot_id] = await self.ack_floor(recipient.bot_id)
            floor = floors[recipient.bot_id]
            if floor is not None and state["seq"] <= floor:
                await self._set(
                    broadcast, rooms, recipient.room_id, **{**state, "state": "done", "at": now.isoformat()}
                )
            elif expired:
                await self._set(
                    broadcast,
                    rooms,
                    recipient.room_id,
                    **{**state, "state": "expired", "at": now.isoformat()},
                )

    async def _close(
        self, broadcast: Broadcast, rooms: dict[str, dict[str, Any]], now: datetime, end: str
    ) -> None:
        for recipient in broadcast.recipients:
            if rooms.get(recipient.room_id, {"state": "waiting"})["state"] == "waiting":
                await self._set(broadcast, rooms, recipient.room_id, state=end, at=now.isoformat())

    async def _hand_over(self, broadcast: Broadcast, rooms: dict[str, dict[str, Any]], now: datetime) -> None:
        """Publish the next waiting rooms while fewer than `window` are with the gateway."""
        in_flight = sum(1 for state in rooms.values() if state["state"] == "queued")
        image = await self.store.image(broadcast.id) if broadcast.image else None
        for recipient in broadcast.recipients:
            if in_flight >= self.window:
                return
            if rooms.get(recipient.room_id, {"state": "waiting"})["state"] != "waiting":
                continue
            seq = 0
            for command in broadcast.commands(recipient, image):
                seq = await self.publish(recipient.bot_id, command)
            await self._set(broadcast, rooms, recipient.room_id, state="queued", seq=seq, at=now.isoformat())
            in_flight += 1
