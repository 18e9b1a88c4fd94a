"""What the bus told about accounts and rooms, kept in Redis: the console, the broadcasts' recipients and the alert
rules read it. Accounts: login state and the QR code to scan. Rooms: every room an account was seen in (from its
events), with topic and member count as last seen.

Rooms are learnt from events because the contract has no room list request yet: a room where nothing happened since
the ops service started is unknown until its first message, join, leave or rename.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from redis.asyncio import Redis

from schemas import GatewayStatus, Room
from services.ops import keys

ROOM_REFRESH = timedelta(minutes=10)
"""A room whose topic and member count did not change is written again at most this often (its last_seen)."""


def _account_key(bot_id: str) -> str:
    return f"{keys.ACCOUNTS}:{bot_id}"


@dataclass(frozen=True)
class Account:
    bot_id: str
    name: str = ""
    logged_in: bool = False
    scan_status: str = ""
    qrcode: str = ""
    last_event: str = ""
    logged_in_as: str = ""
    """For a gateway still named by its configured id (`pending`): the account it logged in as since."""

    @classmethod
    def from_hash(cls, bot_id: str, fields: dict[str, str]) -> Account:
        return cls(
            bot_id=bot_id,
            name=fields.get("name", ""),
            logged_in=fields.get("logged_in") == "1",
            scan_status=fields.get("scan_status", ""),
            qrcode=fields.get("qrcode", ""),
            last_event=fields.get("last_event", ""),
            logged_in_as=fields.get("logged_in_as", ""),
        )


@dataclass(frozen=True)
class RoomSeen:
    id: str
    bot_id: str
    topic: str = ""
    member_count: int | None = None
    owner_id: str | None = None
    last_seen: str = ""
    gone: bool = False
    """The account left or was removed."""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class AccountBook:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def _set(self, bot_id: str, **fields: str | int | float) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.sadd(keys.ACCOUNTS, bot_id)
            mapping: dict[Any, Any] = dict(fields)
            pipe.hset(_account_key(bot_id), mapping=mapping)
            await pipe.execute()

    async def seen(self, bot_id: str, now: datetime) -> None:
        await self._set(bot_id, last_event=now.isoformat())

    async def _newer_than_last_change(self, bot_id: str, at: datetime) -> bool:
        """Login and logout events may be handled out of order (a backlog, a retry): the later one wins."""
        last = await self._redis.hget(_account_key(bot_id), "changed_at")
        return last is None or datetime.fromisoformat(str(last)) <= at

    async def logged_in(self, bot_id: str, name: str, at: datetime) -> bool:
        """False when a later logout was already recorded."""
        if not await self._newer_than_last_change(bot_id, at):
            return False
        await self._set(
            bot_id,
            logged_in="1",
            name=name,
            scan_status="confirmed",
            qrcode="",
            last_event=at.isoformat(),
            changed_at=at.isoformat(),
        )
        return True

    async def logged_out(self, bot_id: str, at: datetime) -> bool:
        """False when a later login was already recorded."""
        if not await self._newer_than_last_change(bot_id, at):
            return False
        await self._set(bot_id, logged_in="0", last_event=at.isoformat(), changed_at=at.isoformat())
        return True

    async def scan(self, bot_id: str, status: str, qrcode: str, now: datetime) -> None:
        if status == "waiting":  # a gateway asking for a scan again is not logged in as anyone
            await self._set(bot_id, logged_in_as="", logged_in="0")
        await self._set(
            bot_id,
            scan_status=status,
            qrcode=qrcode if status == "waiting" else "",
            last_event=now.isoformat(),
        )

    async def status(self, asked_as: str, status: GatewayStatus) -> None:
        """What a gateway answered when asked as `asked_as`."""
        if status.bot_id != asked_as:
            await self._set(asked_as, logged_in="0", logged_in_as=status.bot_id, qrcode="")
        fields = {"logged_in": "1" if status.logged_in else "0"}
        if status.name:
            fields["name"] = status.name
        if status.logged_in:
            fields["qrcode"] = ""
        await self._set(status.bot_id, **fields)

    async def forget(self, bot_id: str) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.srem(keys.ACCOUNTS, bot_id)
            pipe.delete(_account_key(bot_id))
            await pipe.execute()

    async def all(self, also: Iterable[str] = ()) -> list[Account]:
        bot_ids = sorted({str(bot_id) for bot_id in await self._redis.smembers(keys.ACCOUNTS)} | set(also))
        async with self._redis.pipeline(transaction=False) as pipe:
            for bot_id in bot_ids:
                pipe.hgetall(_account_key(bot_id))
            hashes = await pipe.execute()
        return [Account.from_hash(bot_id, fields) for bot_id, fields in zip(bot_ids, hashes, strict=True)]

    async def logged_in_ids(self) -> list[str]:
        return [account.bot_id for account in await self.all() if account.logged_in]


class RoomBook:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._written: dict[tuple[str, str], tuple[str, int | None, str | None, datetime]] = {}

    async def observe(self, bot_id: str, room: Room, now: datetime) -> None:
        """A room the account is in; cheap when nothing changed (one write per room per ROOM_REFRESH)."""
        facts = (room.topic, room.member_count, room.owner_id)
        last = self._written.get((bot_id, room.id))
        if last is not None and last[:3] == facts and now - last[3] < ROOM_REFRESH:
            return
        seen = RoomSeen(room.id, bot_id, room.topic, room.member_count, room.owner_id, now.isoformat())
        if last is not None and room.member_count is None:
            seen = RoomSeen(room.id, bot_id, room.topic, last[1], room.owner_id, now.isoformat())
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hset(keys.rooms(bot_id), room.id, json.dumps(seen.to_json(), ensure_ascii=False))
            pipe.sadd(keys.ACCOUNTS, bot_id)  # an account seen in a room is an account to watch
            await pipe.execute()
        self._written[(bot_id, room.id)] = (*facts, now)

    async def left(self, bot_id: str, room_id: str, now: datetime) -> None:
        raw = await self._redis.hget(keys.rooms(bot_id), room_id)
        data = json.loads(raw) if raw else {"id": room_id, "bot_id": bot_id}
        data.update(gone=True, last_seen=now.isoformat())
        await self._redis.hset(keys.rooms(bot_id), room_id, json.dumps(data, ensure_ascii=False))
        self._written.pop((bot_id, room_id), None)

    async def rooms(self, bot_ids: Iterable[str]) -> list[RoomSeen]:
        found: list[RoomSeen] = []
        for bot_id in sorted(set(bot_ids)):
            for raw in (await self._redis.hgetall(keys.rooms(bot_id))).values():
                data = json.loads(raw)
                found.append(
                    RoomSeen(**{k: v for k, v in data.items() if k in RoomSeen.__dataclass_fields__})
                )
        return sorted(found, key=lambda room: (room.bot_id, room.topic, room.id))
