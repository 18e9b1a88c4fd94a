"""Welcome batches in Redis, shared by every replica.

How a batch lives (see also ``welcome_flush``):

1. ``open_or_join`` (one Lua script, atomic): skips an event already seen (redelivery); otherwise appends the
   newcomers to the room's *open* batch, opening one if none is open. Opening a batch puts its id in the
   ``due`` sorted set, scored with the time it is to be sent (first join + the batching window).
2. Any replica's sweeper takes due batch ids and *claims* one with ``SET NX PX`` (a lease), so exactly one
   replica works on a batch at a time.
3. ``seal`` (atomic) closes the batch to new joiners (the next join opens a new batch) and returns who to greet.
4. The claimer publishes the greeting with a command id derived from the batch id, then ``finish`` deletes the
   batch and its ``due`` entry.

Nothing is lost if the claimer dies: until ``finish`` the batch stays in ``due``, its lease expires, and another
replica redoes steps 2–4. If it died after publishing, the second publish carries the same ``Nats-Msg-Id`` and
JetStream's duplicate window drops it, so the room sees one message.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from services.moderator import keys
from services.moderator.redis_types import StrRedis
from services.moderator.welcome import Joiner

_OPEN_OR_JOIN = """
if not redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[5]) then return false end
local batch = redis.call('GET', KEYS[2])
local meta_prefix, joiners_prefix = ARGV[9], ARGV[10]
if not batch then
  batch = ARGV[2]
  local due = tonumber(ARGV[3]) + tonumber(ARGV[4])
  redis.call('SET', KEYS[2], batch, 'PX', ARGV[5])
  redis.call('HSET', meta_prefix .. batch, 'bot_id', ARGV[6], 'room_id', ARGV[7], 'due_ms', due)
  redis.call('ZADD', KEYS[3], due, batch)
end
redis.call('HSET', meta_prefix .. batch, 'topic', ARGV[8])
redis.call('PEXPIRE', meta_prefix .. batch, ARGV[5])
for i = 11, #ARGV do redis.call('RPUSH', joiners_prefix .. batch, ARGV[i]) end
redis.call('PEXPIRE', joiners_prefix .. batch, ARGV[5])
return batch
"""

_SEAL = """
if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
return redis.call('LRANGE', KEYS[1], 0, -1)
"""

_FINISH = """
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('ZREM', KEYS[3], ARGV[1])
if redis.call('GET', KEYS[4]) == ARGV[2] then redis.call('DEL', KEYS[4]) end
return 1
"""


@dataclass(frozen=True)
class SealedBatch:
    """A batch closed to new joiners, ready to be greeted."""

    batch_id: str
    bot_id: str
    room_id: str
    topic: str
    due_ms: int
    joiners: tuple[Joiner, ...]


class WelcomeStore:
    """Thin Redis layer for welcome batches; the rules are in ``welcome``."""

    def __init__(self, redis: StrRedis) -> None:
        self._redis = redis
        self._open_or_join = redis.register_script(_OPEN_OR_JOIN)
        self._seal = redis.register_script(_SEAL)
        self._finish = redis.register_script(_FINISH)

    async def open_or_join(
        self,
        *,
        bot_id: str,
        room_id: str,
        topic: str,
        event_id: str,
        new_batch_id: str,
        joiners: tuple[Joiner, ...],
        now_ms: int,
        window_ms: int,
        retain_ms: int,
    ) -> str | None:
        """Add ``joiners`` to the room's open batch; the batch id, or None if this event was already added."""
        encoded = [json.dumps({"id": j.id, "name": j.name}, ensure_ascii=False) for j in joiners]
        result = await self._open_or_join(
            keys=[keys.welcome_seen(bot_id, event_id), keys.welcome_open(bot_id, room_id), keys.WELCOME_DUE],
            args=[
                event_id,
                new_batch_id,
                now_ms,
                window_ms,
                retain_ms,
                bot_id,
                room_id,
                topic,
                keys.WELCOME_BATCH_PREFIX,
                keys.WELCOME_JOINERS_PREFIX,
                *encoded,
            ],
        )
        return None if result is None else str(result)

    async def due_batches(self, now_ms: int, limit: int = 50) -> list[str]:
        """Ids of batches whose greeting is due (including ones a dead replica had claimed)."""
        due = await self._redis.zrangebyscore(keys.WELCOME_DUE, "-inf", now_ms, start=0, num=limit)
        return [str(batch_id) for batch_id in due]

    async def claim(self, batch_id: str, owner: str, lease_ms: int) -> bool:
        """Take the lease on a batch; False if another replica holds it."""
        return bool(await self._redis.set(keys.welcome_flush_claim(batch_id), owner, nx=True, px=lease_ms))

    async def seal(self, batch_id: str) -> SealedBatch | None:
        """Close the batch to new joiners and read it; None if it is already gone (finished or expired)."""
        meta = {str(k): str(v) for k, v in (await self._redis.hgetall(keys.welcome_batch(batch_id))).items()}
        if not meta:
            return None
        raw = await self._seal(
            keys=[keys.welcome_joiners(batch_id), keys.welcome_open(meta["bot_id"], meta["room_id"])],
            args=[batch_id],
        )
        joiners = tuple(Joiner(id=d["id"], name=d["name"]) for d in (json.loads(r) for r in raw))
        return SealedBatch(
            batch_id=batch_id,
            bot_id=meta["bot_id"],
            room_id=meta["room_id"],
            topic=meta.get("topic", ""),
            due_ms=int(meta["due_ms"]),
            joiners=joiners,
        )

    async def finish(self, batch_id: str, owner: str) -> None:
        """Forget a greeted (or dropped) batch and release its lease."""
        await self._finish(
            keys=[
                keys.welcome_batch(batch_id),
                keys.welcome_joiners(batch_id),
                keys.WELCOME_DUE,
                keys.welcome_flush_claim(batch_id),
            ],
            args=[batch_id, owner],
        )
