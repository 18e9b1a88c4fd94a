import asyncio
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from redis.asyncio import Redis

from services.tagger import index, keys, knowledge
from services.tagger.decision import DecisionModel, Verdict
from services.tagger.engine import shared_analysis
from services.tagger.knowledge import KnowledgeCache
from services.tagger.store import NewTag, TagStore

NOW = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
KB = "room:r1"
T = DecisionModel.load()


def meeting(**extra: object) -> NewTag:
    return NewTag(
        text="每周四晚上 8 点在腾讯会议开社区周会",
        author_name="老王",
        room_id="r1",
        tagger_id="alice",
        tagger_name="Alice",
        **extra,  # type: ignore[arg-type]
    )


async def test_a_tag_is_answerable_at_once(redis: Redis) -> None:
    store = TagStore(redis)
    cache = KnowledgeCache(store, shared_analysis())
    assert (await cache.ask(KB, "周会几点", NOW, T)).decision.verdict is Verdict.UNKNOWN
    await store.save(KB, meeting(), NOW)
    answer = await cache.ask(KB, "周会几点", NOW, T)
    assert answer.decision.verdict is Verdict.ANSWER
    assert answer.records[0].author_name == "老王"


async def test_a_replica_sees_changes_made_through_another(redis: Redis) -> None:
    replica_a = KnowledgeCache(TagStore(redis), shared_analysis())
    replica_b = KnowledgeCache(TagStore(redis), shared_analysis())
    await replica_b.ask(KB, "周会几点", NOW, T)  # b builds (and caches) an empty index
    saved = await TagStore(redis).save(KB, meeting(), NOW)
    assert (await replica_b.ask(KB, "weekly meeting time?", NOW, T)).records[0].id == saved.record.id
    await replica_a.ask(KB, "周会", NOW, T)
    await TagStore(redis).delete(KB, saved.record.id)
    assert (await replica_a.ask(KB, "周会几点", NOW, T)).decision.verdict is Verdict.UNKNOWN


async def test_unchanged_knowledge_base_reuses_its_index(redis: Redis) -> None:
    store = TagStore(redis)
    await store.save(KB, meeting(), NOW)
    cache = KnowledgeCache(store, shared_analysis())
    first = await cache.snapshot(KB, NOW)
    assert await cache.snapshot(KB, NOW) is first


async def test_expired_tags_stop_answering(redis: Redis) -> None:
    store = TagStore(redis)
    await store.save(KB, meeting(expires_at=NOW + timedelta(days=3)), NOW)
    cache = KnowledgeCache(store, shared_analysis())
    assert (await cache.ask(KB, "周会几点", NOW + timedelta(days=2), T)).decision.verdict is Verdict.ANSWER
    later = await cache.ask(KB, "周会几点", NOW + timedelta(days=3, seconds=1), T)
    assert later.decision.verdict is Verdict.UNKNOWN
    assert await store.all(KB) == []


async def test_warm_builds_every_known_knowledge_base(redis: Redis) -> None:
    store = TagStore(redis)
    await store.save("room:a", meeting(), NOW)
    await store.save("room:b", meeting(), NOW)
    cache = KnowledgeCache(store, shared_analysis())
    assert await cache.warm() == 2


async def test_large_rebuilds_run_off_the_event_loop_with_the_same_result(
    redis: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = TagStore(redis)
    await store.save(KB, meeting(), NOW)
    monkeypatch.setattr(knowledge, "INLINE_TOTAL_DOCS", 0)
    threads: list[str] = []
    real_build = index.KnowledgeIndex

    def build(*args: Any) -> Any:
        threads.append(threading.current_thread().name)
        return real_build(*args)

    monkeypatch.setattr(knowledge, "KnowledgeIndex", build)
    answer = await KnowledgeCache(store, shared_analysis()).ask(KB, "周会几点", NOW, T)
    assert answer.decision.verdict is Verdict.ANSWER
    assert threads
    assert threads[0] != threading.main_thread().name


async def test_warm_builds_no_more_than_the_cache_holds(redis: Redis) -> None:
    store = TagStore(redis)
    for kb in ("room:a", "room:b", "room:c"):
        await store.save(kb, meeting(), NOW)
    cache = KnowledgeCache(store, shared_analysis(), max_cached=2)
    assert await cache.warm() == 2
    assert len(cache.cached) == 2


async def test_least_recently_used_indexes_are_evicted_and_rebuilt_on_demand(redis: Redis) -> None:
    store = TagStore(redis)
    for kb in ("room:a", "room:b", "room:c"):
        await store.save(kb, meeting(), NOW)
    cache = KnowledgeCache(store, shared_analysis(), max_cached=2)
    first_a = await cache.snapshot("room:a")
    await cache.snapshot("room:b")
    assert await cache.snapshot("room:a") is first_a  # a hit makes room:a the most recent
    await cache.snapshot("room:c")
    assert cache.cached == ("room:a", "room:c")  # room:b, least recently used, went
    answer = await cache.ask("room:b", "周会几点", NOW, T)  # rebuilt from Redis
    assert answer.decision.verdict is Verdict.ANSWER
    assert cache.cached == ("room:c", "room:b")


async def test_concurrent_questions_build_one_index_and_leave_no_lock_behind(
    redis: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = TagStore(redis)
    await store.save(KB, meeting(), NOW)
    builds: list[int] = []
    real_build = index.KnowledgeIndex

    def build(*args: Any) -> Any:
        builds.append(1)
        return real_build(*args)

    monkeypatch.setattr(knowledge, "KnowledgeIndex", build)
    cache = KnowledgeCache(store, shared_analysis())
    snapshots = await asyncio.gather(*(cache.snapshot(KB) for _ in range(5)))
    assert len(builds) == 1
    assert all(snapshot is snapshots[0] for snapshot in snapshots)
    assert cache._locks == {}


async def test_a_worker_thread_builds_on_a_private_dict_published_on_the_loop(
    redis: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = TagStore(redis)
    await store.save(KB, meeting(), NOW)
    repo = NewTag(
        text="代码仓库在 GitHub 上", author_name="Lily", room_id="r1", tagger_id=None, tagger_name=""
    )
    await store.save(KB, repo, NOW)
    monkeypatch.setattr(knowledge, "INLINE_TOTAL_DOCS", 0)
    cache = KnowledgeCache(store, shared_analysis())
    handed: list[tuple[bool, object]] = []
    real_build = index.KnowledgeIndex

    def build(*args: Any) -> Any:
        handed.append((threading.current_thread() is threading.main_thread(), args[2]))
        return real_build(*args)

    monkeypatch.setattr(knowledge, "KnowledgeIndex", build)
    await cache.snapshot(KB)
    [(on_loop, analyses)] = handed
    assert not on_loop
    assert isinstance(analyses, dict)
    assert set(analyses) == {record.document() for record in await store.all(KB)}  # filled by the build


async def test_a_starting_replica_reads_the_stored_analyses_instead_of_analysing(
    redis: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = TagStore(redis)
    first = KnowledgeCache(store, shared_analysis())
    doc = index.Document(id="", text=meeting().text)
    await store.save(KB, meeting(analysis=first.stored_analysis(doc)), NOW)  # analysed when tagged
    repo = NewTag(
        text="代码仓库在 GitHub 上", author_name="Lily", room_id="r1", tagger_id=None, tagger_name=""
    )
    await store.save(KB, repo, NOW)  # stored without its analysis (an FAQ import, an older tag)
    assert set(await store.analyses(KB, ["1", "2"])) == {"1"}
    await first.snapshot(KB)  # analyses tag 2 once and stores it
    assert set(await store.analyses(KB, ["1", "2"])) == {"1", "2"}

    analysed: list[str] = []
    real = shared_analysis().document_terms

    def counted(doc: index.Document) -> Any:
        analysed.append(doc.text)
        return real(doc)

    monkeypatch.setattr(shared_analysis(), "document_terms", counted)
    restarted = KnowledgeCache(store, shared_analysis())
    answer = await restarted.ask(KB, "周会几点", NOW, T)
    assert answer.decision.verdict is Verdict.ANSWER
    assert analysed == []
    # stored by an analyser that has changed since (another fingerprint): made again and stored again
    await redis.hset(keys.analyses(KB), "2", b"old!" + (await store.analyses(KB, ["2"]))["2"][4:])
    await KnowledgeCache(store, shared_analysis()).snapshot(KB)
    assert analysed == [repo.text]
    assert (await store.analyses(KB, ["2"]))["2"][:4] != b"old!"
