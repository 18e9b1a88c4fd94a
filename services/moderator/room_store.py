"""Per-room settings, the directory of rooms, and known members, in Redis."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable

from services.moderator import keys
from services.moderator.redis_types import StrRedis
from services.moderator.rooms import FloodLimits, FloodPolicy, RoomConfig, RoomRecord

_WELCOME = "welcome_template"
_THRESHOLD = "kick_threshold"
_FLOOD_POLICY = "flood_policy"
FLOOD_LIMITS_FIELD = "flood_limits"
"""The config field holding a room's own flood limits as JSON (``message_store``'s script reads it too)."""
FLOOD_GRACE_FIELD = "flood_grace_s"
"""The config field holding a room's own grace after a flood warning, in seconds (read by the script too)."""


def config_from_fields(fields: dict[str, str]) -> RoomConfig:
    """A room's settings from its config hash."""
    limits = fields.get(FLOOD_LIMITS_FIELD)
    policy = fields.get(_FLOOD_POLICY)
    threshold = fields.get(_THRESHOLD)
    grace = fields.get(FLOOD_GRACE_FIELD)
    return RoomConfig(
        welcome_template=fields.get(_WELCOME),
        kick_threshold=int(threshold) if threshold else None,
        flood_policy=FloodPolicy(policy) if policy else None,
        flood_limits=FloodLimits(**json.loads(limits)) if limits else None,
        flood_grace_s=int(grace) if grace else None,
    )


@functools.lru_cache(maxsize=1024)
def directory_entry(room: RoomRecord) -> str:
    """The directory's JSON value for a room; cached, as every room message writes the same few."""
    return json.dumps(
        {"topic": room.topic, "owner_id": room.owner_id, "member_count": room.member_count},
        ensure_ascii=False,
    )


class RoomDirectory:
    """Read and change what admins set per room; remember rooms and members seen in events."""

    def __init__(self, redis: StrRedis) -> None:
        self._redis = redis

    async def config(self, bot_id: str, room_id: str) -> RoomConfig:
        """The room's settings (defaults where nothing was set)."""
        raw = await self._redis.hgetall(keys.room_config(bot_id, room_id))
        return config_from_fields({str(k): str(v) for k, v in raw.items()})

    async def set_welcome(self, bot_id: str, room_id: str, template: str | None) -> None:
        """Set the welcome template, or go back to the default with None."""
        await self._set_or_clear(bot_id, room_id, _WELCOME, template)

    async def set_kick_threshold(self, bot_id: str, room_id: str, threshold: int | None) -> None:
        """Fix the number of votes that removes someone, or go back to the size-based default with None."""
        await self._set_or_clear(bot_id, room_id, _THRESHOLD, None if threshold is None else str(threshold))

    async def set_flood(
        self,
        bot_id: str,
        room_id: str,
        policy: FloodPolicy | None,
        limits: FloodLimits | None,
        grace_s: int | None = None,
    ) -> None:
        """Set whichever is given: the flood policy, the room's own limits, its grace after a warning."""
        if policy is not None:
            await self._set_or_clear(bot_id, room_id, _FLOOD_POLICY, policy.value)
        if limits is not None:
            encoded = json.dumps(
                {
                    "max_messages": limits.max_messages,
                    "window_seconds": limits.window_seconds,
                    "max_length": limits.max_length,
                }
            )
            await self._set_or_clear(bot_id, room_id, FLOOD_LIMITS_FIELD, encoded)
        if grace_s is not None:
            await self._set_or_clear(bot_id, room_id, FLOOD_GRACE_FIELD, str(grace_s))

    async def _set_or_clear(self, bot_id: str, room_id: str, field: str, value: str | None) -> None:
        key = keys.room_config(bot_id, room_id)
        if value is None:
            await self._redis.hdel(key, field)
        else:
            await self._redis.hset(key, field, value)

    async def remember_room(self, bot_id: str, room: RoomRecord) -> None:
        """Keep the directory entry fresh (topic and owner change)."""
        await self._redis.hset(keys.room_directory(bot_id), room.id, directory_entry(room))

    async def rooms(self, bot_id: str) -> list[RoomRecord]:
        """Every room the bot has seen, by topic."""
        raw = await self._redis.hgetall(keys.room_directory(bot_id))
        records = [RoomRecord(id=str(room_id), **json.loads(value)) for room_id, value in raw.items()]
        return sorted(records, key=lambda r: (r.topic, r.id))

    async def room(self, bot_id: str, room_id: str) -> RoomRecord | None:
        """One room of the directory."""
        value = await self._redis.hget(keys.room_directory(bot_id), room_id)
        return None if value is None else RoomRecord(id=room_id, **json.loads(value))

    async def add_members(self, bot_id: str, room_id: str, contact_ids: Iterable[str]) -> None:
        """Record people seen in the room (joined, or talking)."""
        ids = list(contact_ids)
        if ids:
            await self._redis.sadd(keys.room_members(bot_id, room_id), *ids)

    async def remove_members(self, bot_id: str, room_id: str, contact_ids: Iterable[str]) -> None:
        """Forget people who left or were removed."""
        ids = list(contact_ids)
        if ids:
            await self._redis.srem(keys.room_members(bot_id, room_id), *ids)

    async def is_member(self, bot_id: str, room_id: str, contact_id: str) -> bool:
        """Whether the person was seen in the room and not seen leaving."""
        return bool(await self._redis.sismember(keys.room_members(bot_id, room_id), contact_id))
