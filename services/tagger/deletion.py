"""Deleting a tag: who may, and an outcome that reads the same when the same chat event is delivered again.

The plumbing derives a reply's command id from its content, so a redelivered delete must reply exactly as the
first delivery did. The store keeps a tombstone naming the deleting event for a while (`TagStore.delete`); a
delivery that finds the tag gone but its own event on the tombstone answers "deleted" again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from schemas import Contact
from services.tagger.models import TagRecord
from services.tagger.store import TagStore

IsAdmin = Callable[[], Awaitable[bool]]


@dataclass(frozen=True)
class Deleted:
    record: TagRecord


@dataclass(frozen=True)
class Refused:
    record: TagRecord


@dataclass(frozen=True)
class NotFound:
    tag_id: str


Outcome = Deleted | Refused | NotFound


async def may_delete(record: TagRecord, requester: Contact, is_admin: IsAdmin) -> bool:
    """Whoever tagged it, the author of a verified quote, or an admin: by contact id, never by a name or alias
    (anyone can take a name). The admin check (a Redis read) only when needed."""
    if requester.id in {record.tagger_id, record.author_id} - {None}:
        return True
    return await is_admin()


async def delete_tag(
    store: TagStore,
    kb: str,
    tag_id: str,
    *,
    requester: Contact,
    event_id: str,
    now: datetime,
    is_admin: IsAdmin,
) -> Outcome:
    record = await store.get(kb, tag_id)
    if record is None or record.expired(now):
        return await _gone(store, kb, tag_id, event_id)
    if not await may_delete(record, requester, is_admin):
        return Refused(record)
    if await store.delete(kb, tag_id, event_id=event_id) is None:
        return await _gone(store, kb, tag_id, event_id)  # removed meanwhile (another replica, expiry)
    return Deleted(record)


async def _gone(store: TagStore, kb: str, tag_id: str, event_id: str) -> Outcome:
    tombstone = await store.tombstone(kb, tag_id)
    if tombstone is not None and tombstone.event_id == event_id:
        return Deleted(tombstone.record)  # this very event deleted it: the first delivery's reply again
    return NotFound(tag_id)
