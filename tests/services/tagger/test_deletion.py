from datetime import UTC, datetime, timedelta

import pytest
from redis.asyncio import Redis

from schemas import Contact
from services.tagger.deletion import Deleted, NotFound, Outcome, Refused, delete_tag, may_delete
from services.tagger.models import TagRecord
from services.tagger.store import NewTag, TagStore

NOW = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
KB = "room:r1"
ALICE = Contact(id="alice", name="Alice")
BOB = Contact(id="bob", name="Bob")


class AdminCheck:
    def __init__(self, *, admin: bool) -> None:
        self.admin = admin
        self.asked = 0

    async def __call__(self) -> bool:
        self.asked += 1
        return self.admin


async def tagged(store: TagStore, **extra: object) -> TagRecord:
    fields: dict[str, object] = {
        "text": "每周四晚上 8 点开周会",
        "author_name": "老王",
        "room_id": "r1",
        "tagger_id": ALICE.id,
        "tagger_name": ALICE.name,
    }
    fields.update(extra)
    return (await store.save(KB, NewTag(**fields), NOW)).record  # type: ignore[arg-type]


def record(**extra: object) -> TagRecord:
    fields: dict[str, object] = {
        "id": "1",
        "kb": KB,
        "text": "t",
        "author_name": "老王",
        "tagger_id": "alice",
        "created_at": NOW,
        "updated_at": NOW,
        "hash": "h",
    }
    fields.update(extra)
    return TagRecord.model_validate(fields)


@pytest.mark.parametrize(
    ("requester", "allowed"),
    [
        (ALICE, True),  # tagged it
        (Contact(id="wang", name="Wang"), True),  # the verified quote's author, by id
        (Contact(id="mallory", name="老王"), False),  # someone else with the author's name gains nothing
        (Contact(id="mallory", name="M", alias="老王"), False),  # ... nor with it as a room alias
        (Contact(id="eve", name="Alice", alias="Alice"), False),  # ... nor with the tagger's name
        (BOB, False),
    ],
)
async def test_the_tagger_or_the_author_need_no_admin_check(requester: Contact, allowed: bool) -> None:
    is_admin = AdminCheck(admin=False)
    assert await may_delete(record(author_id="wang"), requester, is_admin) is allowed
    assert is_admin.asked == (0 if allowed else 1)


async def test_an_admin_may_delete_anything_and_nobody_matches_a_missing_tagger() -> None:
    anonymous = Contact(id="x", name="", alias="")
    assert await may_delete(record(tagger_id=None, author_name=""), anonymous, AdminCheck(admin=True))
    assert not await may_delete(record(tagger_id=None, author_name=""), anonymous, AdminCheck(admin=False))


async def delete_as(
    store: TagStore,
    tag_id: str,
    *,
    event_id: str = "evt-1",
    requester: Contact = ALICE,
    now: datetime = NOW,
    admin: bool = False,
) -> Outcome:
    return await delete_tag(
        store, KB, tag_id, requester=requester, event_id=event_id, now=now, is_admin=AdminCheck(admin=admin)
    )


async def test_the_same_event_deleting_twice_reads_as_the_first_time(redis: Redis) -> None:
    store = TagStore(redis)
    tag = await tagged(store)
    first = await delete_as(store, tag.id, event_id="evt-1")
    again = await delete_as(store, tag.id, event_id="evt-1")  # redelivered after the tag is gone
    other = await delete_as(store, tag.id, event_id="evt-2")  # someone else's later delete
    assert first == again == Deleted(tag)
    assert other == NotFound(tag.id)
    assert await store.get(KB, tag.id) is None


async def test_a_refused_delete_keeps_the_tag(redis: Redis) -> None:
    store = TagStore(redis)
    tag = await tagged(store)
    assert await delete_as(store, tag.id, requester=BOB) == Refused(tag)
    assert await store.get(KB, tag.id) == tag


async def test_expired_or_unknown_tags_are_not_found(redis: Redis) -> None:
    store = TagStore(redis)
    tag = await tagged(store, expires_at=NOW + timedelta(days=1))
    expired = await delete_as(store, tag.id, now=NOW + timedelta(days=1), admin=True)
    assert expired == NotFound(tag.id)
    assert await delete_as(store, "99", admin=True) == NotFound("99")
