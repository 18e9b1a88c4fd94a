"""Per-replica cache of knowledge-base indexes, kept consistent with Redis.

Before each search the replica sweeps expired tags and reads the knowledge base's version counter (one GET);
if another replica changed the tags since the index was built, the index is rebuilt from Redis. Rebuilding
re-analyses only documents it has not seen (analysis is cached per document), so a tag or delete in a room of a
few thousand tags costs milliseconds.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from services.tagger.decision import Decision, Thresholds, decide
from services.tagger.index import Document, KnowledgeIndex, TextAnalysis
from services.tagger.models import TagRecord
from services.tagger.reranker import Reranker
from services.tagger.store import TagStore

# Rebuilds above these sizes run in a worker thread so the event loop keeps serving (measured: one new tag in a
# room of 1,000 rebuilds in ~20 ms, of 5,000 in ~0.4 s, of 20,000 in ~0.6 s; a cold build of 1,000 in ~0.4 s).
INLINE_NEW_DOCS = 200
INLINE_TOTAL_DOCS = 2_000
TERM_CACHE_LIMIT = 50_000  # documents whose analysis is kept between rebuilds (~3 KB each)


@dataclass(frozen=True)
class Snapshot:
    version: int
    index: KnowledgeIndex
    records: dict[str, TagRecord]


@dataclass(frozen=True)
class Answer:
    decision: Decision
    records: tuple[TagRecord, ...]  # the records behind decision.hits, same order


class KnowledgeCache:
    def __init__(self, store: TagStore, analysis: TextAnalysis) -> None:
        self._store = store
        self._analysis = analysis
        self._snapshots: dict[str, Snapshot] = {}
        self._terms: dict[Document, Counter[str]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def warm(self) -> int:
        """Build every known knowledge base's index (service start); returns how many."""
        kbs = await self._store.knowledge_bases()
        for kb in kbs:
            await self.snapshot(kb)
        return len(kbs)

    async def snapshot(self, kb: str, now: datetime | None = None) -> Snapshot:
        if now is not None:
            await self._store.sweep(kb, now)
        version = await self._store.version(kb)  # read before the records: a change in between rebuilds again
        cached = self._snapshots.get(kb)
        if cached is not None and cached.version == version:
            return cached
        async with self._locks.setdefault(kb, asyncio.Lock()):
            cached = self._snapshots.get(kb)
            if cached is not None and cached.version == version:
                return cached
            records = await self._store.all(kb)
            docs = [record.document() for record in records]
            terms = self._terms if len(docs) <= TERM_CACHE_LIMIT else None
            new_docs = len(docs) - sum(doc in self._terms for doc in docs)
            if new_docs > INLINE_NEW_DOCS or len(docs) > INLINE_TOTAL_DOCS:
                index = await asyncio.to_thread(KnowledgeIndex, docs, self._analysis, terms)
            else:
                index = KnowledgeIndex(docs, self._analysis, terms)
            self._forget_unused(docs)
            snapshot = Snapshot(version=version, index=index, records={r.id: r for r in records})
            self._snapshots[kb] = snapshot
            return snapshot

    def has_content(self, question: str) -> bool:
        """Whether the text has any word to search for (谢谢, "hi" and "?" have none)."""
        return bool(self._analysis.analyzer.words(question, search_mode=False))

    async def ask(
        self,
        kb: str,
        question: str,
        now: datetime,
        thresholds: Thresholds,
        *,
        unprompted: bool = False,
        reranker: Reranker | None = None,
    ) -> Answer:
        snapshot = await self.snapshot(kb, now)
        hits = [
            hit
            for hit in snapshot.index.search(question, limit=5)
            if not snapshot.records[hit.doc_id].expired(now)
        ]
        if reranker is not None and hits:
            hits = reranker.rerank(question, [(hit, snapshot.records[hit.doc_id].text) for hit in hits])
        decision = decide(hits, thresholds, unprompted=unprompted)
        return Answer(decision=decision, records=tuple(snapshot.records[hit.doc_id] for hit in decision.hits))

    def _forget_unused(self, live: list[Document]) -> None:
        if len(self._terms) > 2 * len(live) + 1000:  # deleted and edited tags: drop their cached analysis
            keep = set(live)
            for kb_snapshot in self._snapshots.values():
                keep.update(kb_snapshot.index.documents)
            for doc in [doc for doc in self._terms if doc not in keep]:
                del self._terms[doc]
