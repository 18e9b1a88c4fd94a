import asyncio
from datetime import UTC, datetime, timedelta

from redis.asyncio import Redis

from services.tagger import keys
from services.tagger.store import TOMBSTONE_TTL_S, NewTag, TagStore

NOW = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
KB = "room:r1"


def new_tag(text: str = "周四晚上 8 点开周会", **extra: object) -> NewTag:
    fields: dict[str, object] = {
        "text": text,
        "author_name": "老王",
        "room_id": "r1",
        "tagger_id": "alice",
        "tagger_name": "Alice",
    }
    fields.update(extra)
    return NewTag(**fields)  # type: ignore[arg-type]


async def test_save_assigns_ids_and_keeps_every_field(redis: Redis) -> None:
    store = TagStore(redis)
    first = await store.save(KB, new_tag(keywords=("周会",)), NOW)
    second = await store.save(KB, new_tag("another message"), NOW)
    assert (first.created, first.record.id, second.record.id) == (True, "1", "2")
    stored = await store.get(KB, "1")
    assert stored == first.record
    assert (stored.author_name, stored.tagger_id, stored.keywords, stored.room_id) == (
        "老王",
        "alice",
        ("周会",),
        "r1",
    )


async def test_same_text_twice_updates_instead_of_duplicating(redis: Redis) -> None:
    store = TagStore(redis)
    await store.save(KB, new_tag(keywords=("周会",)), NOW)
    again = await store.save(
        KB,
        new_tag("周四晚上 8 点开周会 ", keywords=("meeting",), tagger_name="Bob"),
        NOW + timedelta(hours=1),
    )
    assert not again.created
    assert again.record.id == "1"
    assert again.record.keywords == ("周会", "meeting")
    assert again.record.created_at == NOW
    assert again.record.tagger_name == "Bob"
    assert len(await store.all(KB)) == 1


async def test_concurrent_tags_of_one_text_agree_on_one_id(redis: Redis) -> None:
    store = TagStore(redis)
    saved = await asyncio.gather(*(store.save(KB, new_tag(), NOW) for _ in range(10)))
    assert {s.record.id for s in saved} == {"1"}
    assert len(await store.all(KB)) == 1


async def test_expired_tags_are_swept_and_can_be_tagged_afresh(redis: Redis) -> None:
    store = TagStore(redis)
    await store.save(KB, new_tag(expires_at=NOW + timedelta(days=1)), NOW)
    await store.save(KB, new_tag("kept"), NOW)
    assert await store.sweep(KB, NOW + timedelta(hours=23)) == 0
    version = await store.version(KB)
    assert await store.sweep(KB, NOW + timedelta(days=1)) == 1
    assert [r.text for r in await store.all(KB)] == ["kept"]
    assert await store.version(KB) > version
    again = await store.save(KB, new_tag(), NOW + timedelta(days=2))
    assert again.created
    assert again.record.id == "3"


async def test_retagging_without_validity_makes_a_tag_permanent(redis: Redis) -> None:
    store = TagStore(redis)
    await store.save(KB, new_tag(expires_at=NOW + timedelta(days=1)), NOW)
    await store.save(KB, new_tag(), NOW)
    assert await store.sweep(KB, NOW + timedelta(days=5)) == 0
    assert await redis.zcard(keys.expiry(KB)) == 0


async def test_delete_removes_the_tag_and_its_dedupe_entry(redis: Redis) -> None:
    store = TagStore(redis)
    await store.save(KB, new_tag(), NOW)
    version = await store.version(KB)
    deleted = await store.delete(KB, "1")
    assert deleted is not None
    assert await store.get(KB, "1") is None
    assert await store.delete(KB, "1") is None
    assert await store.version(KB) > version
    assert (await store.save(KB, new_tag(), NOW)).created


async def test_knowledge_bases_are_isolated_and_listed(redis: Redis) -> None:
    store = TagStore(redis)
    await store.save("room:a", new_tag("only in a"), NOW)
    await store.save("room:b", new_tag("only in b"), NOW)
    assert [r.text for r in await store.all("room:a")] == ["only in a"]
    assert [r.id for r in await store.all("room:b")] == ["1"]
    assert await store.knowledge_bases() == {"room:a", "room:b"}


def test_keys_of_one_knowledge_base_share_a_cluster_slot() -> None:
    slot_tags = {
        key.split("{")[1].split("}")[0]
        for key in (
            keys.tags("k"),
            keys.hashes("k"),
            keys.expiry("k"),
            keys.sequence("k"),
            keys.version("k"),
            keys.tombstone("k", "1"),
        )
    }
    assert slot_tags == {"k"}


async def test_a_redelivered_tag_event_reads_as_created_again(redis: Redis) -> None:
    store = TagStore(redis)
    assert (await store.save("kb", new_tag(event_id="e1"), NOW)).created
    assert (await store.save("kb", new_tag(event_id="e1"), NOW)).created  # the same event again
    again = await store.save("kb", new_tag(event_id="e2"), NOW)  # someone tags the same text later
    assert not again.created
    assert again.record.created_by_event == "e1"


async def test_delete_leaves_a_tombstone_naming_the_event_for_a_while(redis: Redis) -> None:
    store = TagStore(redis)
    tag = (await store.save(KB, new_tag(), NOW)).record
    assert await store.tombstone(KB, tag.id) is None
    assert await store.delete(KB, tag.id, event_id="evt-1") == tag
    tombstone = await store.tombstone(KB, tag.id)
    assert tombstone is not None
    assert (tombstone.event_id, tombstone.record) == ("evt-1", tag)
    assert 0 < await redis.ttl(keys.tombstone(KB, tag.id)) <= TOMBSTONE_TTL_S
    assert await store.delete(KB, tag.id, event_id="evt-2") is None  # nothing left: the tombstone stays
    assert (await store.tombstone(KB, tag.id)) == tombstone


async def test_a_vector_is_stored_once_apart_from_the_record_and_goes_with_it(redis: Redis) -> None:
    store = TagStore(redis)
    saved = await store.save(KB, new_tag(vector="V" * 520), NOW)
    assert saved.record.vector is None
    assert "VVVV" not in (await redis.hget(keys.tags(KB), "1") or "")
    assert await store.vectors(KB) == {"1": "V" * 520}
    await store.save(KB, new_tag(keywords=("周会",)), NOW)  # tagged again without a vector: it stays
    assert await store.vectors(KB) == {"1": "V" * 520}
    await store.delete(KB, "1")
    assert await store.vectors(KB) == {}


async def test_a_record_stored_with_its_vector_inside_is_still_read(redis: Redis) -> None:
    import numpy as np

    from services.tagger.dense import pack
    from services.tagger.engine import shared_analysis
    from services.tagger.knowledge import KnowledgeCache
    from services.tagger.models import TagRecord, content_hash

    vector = np.zeros(384, dtype=np.float32)
    vector[0] = 1.0
    legacy = TagRecord(
        id="7",
        kb=KB,
        text="周四晚上 8 点开周会",
        author_name="老王",
        created_at=NOW,
        updated_at=NOW,
        hash=content_hash("周四晚上 8 点开周会"),
        vector=pack(vector),
    )
    await redis.hset(keys.tags(KB), "7", legacy.model_dump_json())
    snapshot = await KnowledgeCache(TagStore(redis), shared_analysis()).snapshot(KB)
    assert len(snapshot.dense) == 1


async def test_an_analysis_is_stored_with_its_tag_only_for_the_document_stored(redis: Redis) -> None:
    from services.tagger.analyses import encode
    from services.tagger.index import Document

    store = TagStore(redis)
    plain = Document(id="", text="周四晚上 8 点开周会")
    blob = encode(b"mark", plain, b"\x01\x00\x00\x00\x01")
    await store.save(KB, new_tag(analysis=blob), NOW)
    assert await store.analyses(KB, ["1", "2"]) == {"1": blob}
    # tagged again with a keyword: the stored document is no longer what was analysed
    merged = encode(b"mark", Document(id="", text="周四晚上 8 点开周会", keywords=("周会",)), b"")
    await store.save(KB, new_tag(keywords=("周会",), analysis=blob), NOW)
    assert await store.analyses(KB, ["1"]) == {}
    assert await store.save_analyses(KB, {"1": merged, "9": merged}) == 1  # tag 9 does not exist
    assert await store.analyses(KB, ["1", "9"]) == {"1": merged}
    await store.delete(KB, "1")
    assert await store.analyses(KB, ["1"]) == {}
