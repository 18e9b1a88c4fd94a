"""Tag storage over redis.asyncio. Durable state lives here; every replica reads the same knowledge bases.

Changes bump a per-knowledge-base version counter, which is how another replica's cached index learns it is
stale. Expiry is a sorted set swept on read (not Redis TTLs): a tag vanishes at its time on the service clock,
and with it its dedupe entry and its place in the index.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from redis.asyncio import Redis
from redis.client import NEVER_DECODE

from services.tagger import analyses, keys
from services.tagger.models import TagRecord, Tombstone, content_hash

# How long a deleted tag's tombstone says which event deleted it. Redelivery (retries with backoff, a replica
# dying with the message unacked, a backlog after an outage) happens within minutes to hours: a day covers it.
TOMBSTONE_TTL_S = 24 * 3600
# Stored analyses are read and written this many at a time (~1.2 MB): Redis stays responsive.
ANALYSES_BATCH = 2_000

# Returns the id for a content hash, allocating the next one if the text is new, plus the stored record (or
# false). One script so two replicas tagging the same text at once agree on one id.
_CLAIM_ID = """
local id = redis.call('HGET', KEYS[1], ARGV[1])
if not id then
  id = tostring(redis.call('INCR', KEYS[2]))
  redis.call('HSET', KEYS[1], ARGV[1], id)
end
return {id, redis.call('HGET', KEYS[3], id)}
"""

# Stores analyses (ARGV: id, value, id, value…) of tags that still exist: one deleted meanwhile gets none.
_SAVE_ANALYSES = """
local saved = 0
for i = 1, #ARGV, 2 do
  if redis.call('HEXISTS', KEYS[1], ARGV[i]) == 1 then
    redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1])
    saved = saved + 1
  end
end
return saved
"""


@dataclass(frozen=True)
class NewTag:
    """What a tag command (or an FAQ import) supplies; the store decides id and timestamps."""

    text: str
    author_name: str
    room_id: str | None
    tagger_id: str | None
    tagger_name: str
    keywords: tuple[str, ...] = ()
    author_id: str | None = None  # only for a verified quote
    verified: bool = True  # False: a typed quote nobody vouched for (shown as the tagger's)
    vector: str | None = None
    # analyses.encode of the document analysed (kept only if it is the stored record's document, keywords merged)
    analysis: bytes | None = None
    questions: tuple[str, ...] = ()
    expires_at: datetime | None = None
    event_id: str | None = None  # the chat event behind it, so its redelivery reads as the first time


@dataclass(frozen=True)
class Saved:
    record: TagRecord
    # False: the same text was already tagged and has been updated. True again when the event that created it
    # is delivered a second time: its reply must read the same, so it carries the same command id.
    created: bool


class TagStore:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._claim = redis.register_script(_CLAIM_ID)
        self._save_analyses = redis.register_script(_SAVE_ANALYSES)

    async def save(self, kb: str, tag: NewTag, now: datetime) -> Saved:
        digest = content_hash(tag.text)
        tag_id, stored = await self._claim(
            keys=[keys.hashes(kb), keys.sequence(kb), keys.tags(kb)], args=[digest]
        )
        previous = TagRecord.model_validate_json(stored) if stored else None
        if previous is not None and previous.expired(now):
            previous = None  # an expired tag not swept yet: tagging it again starts afresh
        record = TagRecord(
            id=str(tag_id),
            kb=kb,
            room_id=tag.room_id,
            text=tag.text,
            author_name=tag.author_name,
            author_id=tag.author_id,
            verified=tag.verified,
            tagger_id=tag.tagger_id,
            tagger_name=tag.tagger_name,
            keywords=_merge(previous.keywords if previous else (), tag.keywords),
            questions=_merge(previous.questions if previous else (), tag.questions),
            created_at=previous.created_at if previous else now,
            updated_at=now,
            expires_at=tag.expires_at,
            hash=digest,
            created_by_event=previous.created_by_event if previous else tag.event_id,
        )
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(keys.tags(kb), record.id, record.model_dump_json(exclude_defaults=True))
            vector = tag.vector or (previous.vector if previous else None)
            if vector:
                pipe.hset(keys.vectors(kb), record.id, vector)
            if tag.analysis is not None and analyses.made_from(tag.analysis, record.document()):
                pipe.hset(keys.analyses(kb), record.id, tag.analysis)
            else:  # keywords merged, or no analysis given: the next build analyses it and stores that
                pipe.hdel(keys.analyses(kb), record.id)
            if record.expires_at is None:
                pipe.zrem(keys.expiry(kb), record.id)
            else:
                pipe.zadd(keys.expiry(kb), {record.id: record.expires_at.timestamp()})
            pipe.sadd(keys.knowledge_bases(), kb)
            pipe.incr(keys.version(kb))
            await pipe.execute()
        redelivered = (
            previous is not None and tag.event_id is not None and previous.created_by_event == tag.event_id
        )
        return Saved(record=record, created=previous is None or redelivered)

    async def get(self, kb: str, tag_id: str) -> TagRecord | None:
        raw = await self._redis.hget(keys.tags(kb), tag_id)
        return TagRecord.model_validate_json(raw) if raw else None

    async def delete(self, kb: str, tag_id: str, *, event_id: str | None = None) -> TagRecord | None:
        """Remove a tag, leaving a tombstone naming `event_id`; None if there was no such tag."""
        record = await self.get(kb, tag_id)
        if record is None:
            return None
        await self._remove(kb, [record], tombstone=Tombstone(event_id=event_id, record=record))
        return record

    async def get_many(self, kb: str, tag_ids: Sequence[str]) -> list[TagRecord]:
        """The records of `tag_ids` that exist, in that order."""
        if not tag_ids:
            return []
        raw = await self._redis.hmget(keys.tags(kb), list(tag_ids))
        return [TagRecord.model_validate_json(value) for value in raw if value]

    async def tombstone(self, kb: str, tag_id: str) -> Tombstone | None:
        """How a tag deleted within the last TOMBSTONE_TTL_S was deleted; None if it was not (or long ago)."""
        raw = await self._redis.get(keys.tombstone(kb, tag_id))
        return Tombstone.model_validate_json(raw) if raw else None

    async def all(self, kb: str) -> list[TagRecord]:
        raw = await self._redis.hgetall(keys.tags(kb))
        records = [TagRecord.model_validate_json(value) for value in raw.values()]
        return sorted(records, key=lambda record: int(record.id))

    async def raw(self, kb: str) -> dict[str, str]:
        """Tag id → the stored record JSON (parse with TagRecord.model_validate_json)."""
        return {
            str(tag_id): str(value) for tag_id, value in (await self._redis.hgetall(keys.tags(kb))).items()
        }

    async def vectors(self, kb: str) -> dict[str, str]:
        """Tag id → packed vector, for the tags that have one."""
        return {
            str(tag_id): str(value) for tag_id, value in (await self._redis.hgetall(keys.vectors(kb))).items()
        }

    async def analyses(self, kb: str, tag_ids: Sequence[str]) -> dict[str, bytes]:
        """Tag id → stored analysis (analyses.py, bytes), for those of `tag_ids` that have one."""
        found: dict[str, bytes] = {}
        for start in range(0, len(tag_ids), ANALYSES_BATCH):
            batch = tag_ids[start : start + ANALYSES_BATCH]
            values = await self._redis.execute_command(  # type: ignore[no-untyped-call]  # bytes, not decoded
                "HMGET", keys.analyses(kb), *batch, **{NEVER_DECODE: True}
            )
            found.update((tag_id, value) for tag_id, value in zip(batch, values, strict=True) if value)
        return found

    async def save_analyses(self, kb: str, analyses: dict[str, bytes]) -> int:
        """Store analyses made by a build, for the tags that still exist; returns how many were stored."""
        items = list(analyses.items())
        saved = 0
        for start in range(0, len(items), ANALYSES_BATCH):
            args = [
                part for tag_id, value in items[start : start + ANALYSES_BATCH] for part in (tag_id, value)
            ]
            saved += int(await self._save_analyses(keys=[keys.tags(kb), keys.analyses(kb)], args=args))
        return saved

    async def version(self, kb: str) -> int:
        return int(await self._redis.get(keys.version(kb)) or 0)

    async def knowledge_bases(self) -> set[str]:
        return {str(kb) for kb in await self._redis.smembers(keys.knowledge_bases())}

    async def sweep(self, kb: str, now: datetime) -> int:
        """Remove tags whose time has come; returns how many."""
        due = [
            str(tag_id)
            for tag_id in await self._redis.zrangebyscore(keys.expiry(kb), "-inf", now.timestamp())
        ]
        if not due:
            return 0
        raw = await self._redis.hmget(keys.tags(kb), due)
        records = [TagRecord.model_validate_json(value) for value in raw if value]
        await self._remove(kb, records, also_ids=due)
        return len(due)

    async def _remove(
        self,
        kb: str,
        records: Sequence[TagRecord],
        also_ids: Sequence[str] = (),
        tombstone: Tombstone | None = None,
    ) -> None:
        ids = list(dict.fromkeys([*(record.id for record in records), *also_ids]))
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hdel(keys.tags(kb), *ids)
            pipe.hdel(keys.vectors(kb), *ids)
            pipe.hdel(keys.analyses(kb), *ids)
            pipe.zrem(keys.expiry(kb), *ids)
            if records:
                pipe.hdel(keys.hashes(kb), *(record.hash for record in records))
            if tombstone is not None:  # in the same transaction: no delivery sees the tag gone without it
                pipe.set(
                    keys.tombstone(kb, tombstone.record.id), tombstone.model_dump_json(), ex=TOMBSTONE_TTL_S
                )
            pipe.incr(keys.version(kb))
            await pipe.execute()


def _merge(old: Sequence[str], new: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys([*old, *new]))
