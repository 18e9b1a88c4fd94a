"""Per-replica cache of knowledge-base indexes, kept consistent with Redis.

Before each search the replica sweeps expired tags and reads the knowledge base's version counter (one GET);
if another replica changed the tags since the index was built, the index is rebuilt from Redis. Rebuilding
analyses no document twice: it takes the analyses of the documents its previous index of the room had, then the
analyses stored with the tags (analyses.py), and analyses only the rest (writing those back to Redis). A replica
that starts thus reads its rooms instead of analysing them, and a tag or delete costs milliseconds.

Bounded: at most `max_cached` indexes are kept, least recently used evicted first; an evicted knowledge base is
rebuilt from Redis on its next question. Large rebuilds run in a worker thread that touches no shared state: it
gets its own dict of the analyses it may reuse, and the finished index is published back on the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

from services.tagger import analyses
from services.tagger.decision import Decision, DecisionModel, decide, sure_without_dense
from services.tagger.dense import DenseIndex, Embedder, LanguageMeans, language_means
from services.tagger.index import Analysed, Document, KnowledgeIndex, TextAnalysis, analysed
from services.tagger.models import TagRecord
from services.tagger.quota import TagCounts
from services.tagger.retrieval import dense_index_of, rank
from services.tagger.store import TagStore

# Rebuilds above these sizes run in a worker thread so the event loop keeps serving (measured: one new tag in a
# room of 1,000 rebuilds in ~20 ms, of 5,000 in ~0.4 s, of 20,000 in ~0.6 s; a cold build of 1,000 in ~0.4 s).
INLINE_NEW_DOCS = 200
INLINE_TOTAL_DOCS = 2_000
DEFAULT_MAX_CACHED = 200


@dataclass(frozen=True)
class Snapshot:
    version: int
    index: KnowledgeIndex
    dense: DenseIndex
    counts: TagCounts  # for the tag limits
    # The records are not kept (their JSON would be ~0.4 KB a tag): an answer reads its one to three from Redis.


@dataclass(frozen=True)
class Answer:
    decision: Decision
    records: tuple[TagRecord, ...]  # the records behind decision.candidates, same order
    embedded: bool  # whether the question had to be embedded (not sure from the lexical side alone)


def _number(record: TagRecord) -> int:
    return int(record.id)


class KnowledgeCache:
    def __init__(
        self,
        store: TagStore,
        analysis: TextAnalysis,
        max_cached: int = DEFAULT_MAX_CACHED,
        means: LanguageMeans | None = None,
    ) -> None:
        self._store = store
        self._means = means if means is not None else language_means()
        self._analysis = analysis
        self._max_cached = max_cached
        self._snapshots: OrderedDict[str, Snapshot] = OrderedDict()  # least recently used first
        self._mark = analyses.fingerprint(analysis)  # of the analyses this replica makes and may reuse
        # kb -> (lock, tasks holding or awaiting it); an entry exists only while someone builds that kb
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @property
    def cached(self) -> tuple[str, ...]:
        """Knowledge bases with an index in memory, least recently used first."""
        return tuple(self._snapshots)

    def stored_analysis(self, doc: Document) -> bytes:
        """What to store with a new tag (store.NewTag.analysis) so that no replica needs to analyse it again."""
        return analyses.encode(self._mark, doc, analysed(self._analysis.document_terms(doc)))

    async def warm(self) -> int:
        """Build known knowledge bases' indexes (service start), as many as the cache holds; returns how many."""
        kbs = sorted(await self._store.knowledge_bases())[: self._max_cached]
        for kb in kbs:
            await self.snapshot(kb)
        return len(kbs)

    async def snapshot(self, kb: str, now: datetime | None = None) -> Snapshot:
        if now is not None:
            await self._store.sweep(kb, now)
        version = await self._store.version(kb)  # read before the records: a change in between rebuilds again
        if (cached := self._cached(kb, version)) is not None:
            return cached
        async with self._building(kb):
            if (cached := self._cached(kb, version)) is not None:
                return cached
            raw = await self._store.raw(kb)
            vectors = await self._store.vectors(kb)
            records = sorted((TagRecord.model_validate_json(value) for value in raw.values()), key=_number)
            for record in records:  # a record stored before vectors had their own hash
                if record.vector:
                    vectors.setdefault(record.id, record.vector)
            del raw
            docs = [record.document() for record in records]
            known = await self._known_analyses(kb, docs)
            missing = [doc for doc in docs if doc not in known]
            index, dense = await self._build(docs, vectors, known)  # adds the missing analyses to `known`
            del vectors  # the strings are not kept: the dense index holds the vectors as int8
            # Analysed now (a tag stored without its analysis, or by another analyser): stored for the next replica.
            await self._store.save_analyses(
                kb, {doc.id: analyses.encode(self._mark, doc, known[doc]) for doc in missing}
            )
            snapshot = Snapshot(
                version=version,
                index=index,
                dense=dense,
                counts=TagCounts.of(records, now or datetime.now(UTC)),
            )
            self._remember(kb, snapshot)
            return snapshot

    async def _known_analyses(self, kb: str, docs: list[Document]) -> dict[Document, Analysed]:
        """The analyses of `docs` that need not be made again: from the room's previous index, else from Redis."""
        known: dict[Document, Analysed] = {}
        previous = self._snapshots.get(kb)
        if previous is not None:
            for doc in docs:
                reused = previous.index.analysis_of(doc)
                if reused is not None:
                    known[doc] = reused
        unknown = [doc for doc in docs if doc not in known]
        if unknown:
            stored = await self._store.analyses(kb, [doc.id for doc in unknown])
            for doc in unknown:
                found = analyses.decode(self._mark, doc, stored.get(doc.id))
                if found is not None:
                    known[doc] = found
        return known

    def _cached(self, kb: str, version: int) -> Snapshot | None:
        cached = self._snapshots.get(kb)
        if cached is None or cached.version != version:
            return None
        self._snapshots.move_to_end(kb)
        return cached

    def _remember(self, kb: str, snapshot: Snapshot) -> None:
        self._snapshots[kb] = snapshot
        self._snapshots.move_to_end(kb)
        while len(self._snapshots) > self._max_cached:
            self._snapshots.popitem(last=False)

    @contextlib.asynccontextmanager
    async def _building(self, kb: str) -> AsyncIterator[None]:
        """One build per knowledge base at a time; the lock lives only while someone builds or waits."""
        lock, users = self._locks.get(kb, (asyncio.Lock(), 0))
        self._locks[kb] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[kb]
            if users == 1:
                del self._locks[kb]
            else:
                self._locks[kb] = (lock, users - 1)

    async def _build(
        self, docs: list[Document], vectors: dict[str, str], known: dict[Document, Analysed]
    ) -> tuple[KnowledgeIndex, DenseIndex]:
        """`known`: this build's own dict of reusable analyses (a worker thread may fill it: no one else uses it)."""

        def build() -> tuple[KnowledgeIndex, DenseIndex]:
            index = KnowledgeIndex(docs, self._analysis, known)
            return index, dense_index_of(docs, vectors, self._means)

        if len(docs) - len(known) > INLINE_NEW_DOCS or len(docs) > INLINE_TOTAL_DOCS:
            return await asyncio.to_thread(build)
        return build()

    def words(self, question: str) -> list[str]:
        """The words of a question that are searched for (谢谢, "hi" and "?" have none)."""
        return self._analysis.analyzer.words(question, search_mode=False)

    def has_content(self, question: str) -> bool:
        return bool(self.words(question))

    async def ask(
        self,
        kb: str,
        question: str,
        now: datetime,
        model: DecisionModel,
        *,
        embedder: Embedder | None = None,
        unprompted: bool = False,
    ) -> Answer:
        """Lexical first; the question is embedded only when the lexical side alone is not sure (and then off
        the event loop, unless its vector is cached)."""
        snapshot = await self.snapshot(kb, now)
        index = snapshot.index
        found = index.lexical(question)
        ranking = rank(index, question, found=found)
        embedded = False
        if embedder is None or not len(snapshot.dense) or sure_without_dense(ranking.signals, model):
            # the fast path answers only at zero wrong answers on tuning data: sure enough unprompted too
            floor = model.lexical.answer_at if unprompted else None
            decision = decide(ranking.candidates, ranking.signals, model.lexical, unprompted_at=floor)
        else:
            vector = embedder.cached(question)
            if vector is None:
                vector = await asyncio.to_thread(embedder.query, question)
            embedded = True
            ranking = rank(
                index,
                question,
                dense_index=snapshot.dense,
                query_vector=vector,
                found=found,
                dense_weight=model.dense_weight,
            )
            floor = max(model.full.answer_at, model.unprompted_at) if unprompted else None
            decision = decide(ranking.candidates, ranking.signals, model.full, unprompted_at=floor)
        chosen = await self._store.get_many(kb, [candidate.doc_id for candidate in decision.candidates])
        records = tuple(record for record in chosen if not record.expired(now))
        return Answer(decision=decision, records=records, embedded=embedded)
