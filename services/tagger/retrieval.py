"""One question against one knowledge base: lexical and dense rankings fused, and the signals the decision reads.

Two first-stage rankings give the candidates: BM25 re-scored by coverage (index.py) and the e5 cosine over every
stored vector (dense.py), DEPTH each. They are fused linearly: coverage + DENSE_WEIGHT × the candidate's
(language-centred) cosine. The BM25 share of the lexical score is left out of the fusion: it favours messages in
the question's own language (their words meet at full weight, translations at half), which the cosine no longer
needs; and the raw cosine, unlike its z-score in the room, does not depend on how many tags the room has.
Measured on the six kinds of groups (tools/tagger_eval.py, left-out domains, no override dictionary): lexical alone
0.74 recall@1, e5 alone (language-centred) 0.82, fused with the z-score 0.84, with the cosine 0.87; a learned
per-candidate fusion (logistic over coverage, BM25, cosine, ranks and gaps) did not do better on left-out groups,
and reciprocal-rank fusion was worse. The signals describe the best candidate against the runner-up: how much of the question it covers, how it stands out in the dense space
(the room's cosines are all high with e5, so its distance from their mean counts, not the raw value), whether the
two rankings agree, and its margins. decision.py turns them into answer / suggest / don't know.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from services.tagger.dense import DenseIndex, FloatArray, LanguageMeans
from services.tagger.index import Document, Hit, KnowledgeIndex, Lexical
from services.tagger.text import has_cjk

DEPTH = 20  # candidates taken from each ranking
DENSE_WEIGHT = (
    3.0  # the default; the fitted one is stored with the decision model (tools/tagger_eval.py --fit)
)
MISSING_Z = -2.0  # a candidate without a vector counts as far below the room's mean


@dataclass(frozen=True)
class Candidate:
    hit: Hit
    lexical_rank: int | None  # 1-based, None when the lexical side did not rank it
    dense_rank: int | None
    dense: float | None  # cosine, None without vectors
    fused: float

    @property
    def doc_id(self) -> str:
        return self.hit.doc_id


@dataclass(frozen=True)
class Signals:
    """What the decision model reads about the best candidate (all 0 when there is none)."""

    coverage: float = 0.0  # share of the question found in it
    coverage_margin: float = 0.0  # over the runner-up
    misses_subject: float = 0.0  # 1: it lacks the question's weightiest word
    unknown_subject: float = 0.0  # 1: no message here has that word
    lexical_top: float = 0.0  # 1: first in the lexical ranking
    lexical_margin: float = 0.0  # its lexical score minus the next one's, relative
    uncovered: float = 0.0  # importance of the most telling question word it lacks (same language only)
    dense_z: float = 0.0  # (cosine - mean cosine of the room) / standard deviation
    dense_cosine: float = 0.0  # its (language-centred) cosine: unlike dense_z, it does not grow with the room
    dense_margin: float = 0.0  # cosine minus the runner-up's
    dense_top: float = 0.0  # 1: first in the dense ranking
    agree: float = 0.0  # 1: first in both rankings
    has_dense: float = 0.0  # 1: the dense side took part

    LEXICAL: ClassVar[tuple[str, ...]] = (
        "coverage",
        "coverage_margin",
        "misses_subject",
        "unknown_subject",
        "lexical_top",
        "lexical_margin",
        "uncovered",
    )
    # dense_z is left out of the decision: the best of more candidates stands further out (z of the best right
    # answer averaged 2.1 in rooms of 8 tags, 3.3 in a room of 44), so a model fitted on small rooms would answer
    # too readily in big ones; the centred cosine is the same in both (0.41).
    FULL: ClassVar[tuple[str, ...]] = (*LEXICAL, "dense_cosine", "dense_margin", "dense_top", "agree")

    def vector(self, names: Sequence[str]) -> FloatArray:
        return np.asarray([float(getattr(self, name)) for name in names], dtype=np.float32)


@dataclass(frozen=True)
class Ranking:
    candidates: tuple[Candidate, ...]  # best first
    signals: Signals


def passage_text(text: str, keywords: Sequence[str]) -> str:
    """What a tag's vector is computed from: its keywords first (they say what it is about), then the message."""
    return (" ".join(keywords) + " " + text).strip() if keywords else text


def dense_index_of(
    documents: Sequence[Document], vectors: Mapping[str, str], means: LanguageMeans | None
) -> DenseIndex:
    """The dense side of a knowledge base: its stored vectors (by document id), centred on their language's mean."""
    return DenseIndex(
        [vectors.get(doc.id) for doc in documents],
        chinese=[has_cjk(passage_text(doc.text, doc.keywords)) for doc in documents],
        means=means,
    )


def lexical_ranking(index: KnowledgeIndex, found: Lexical) -> list[Hit]:
    hits = [index.hit(found, doc) for doc, _bm25 in found.ranked]
    hits.sort(key=lambda hit: hit.score, reverse=True)
    return hits


def rank(
    index: KnowledgeIndex,
    question: str,
    *,
    dense_index: DenseIndex | None = None,
    query_vector: FloatArray | None = None,
    found: Lexical | None = None,
    dense_weight: float = DENSE_WEIGHT,
) -> Ranking:
    """Fuse the lexical ranking with the dense one (when a query vector is given) and read the signals."""
    found = found or index.lexical(question)
    lexical = lexical_ranking(index, found)[:DEPTH]
    by_doc: dict[str, Hit] = {hit.doc_id: hit for hit in lexical}
    lexical_rank = {hit.doc_id: place for place, hit in enumerate(lexical, 1)}
    dense_rank: dict[str, int] = {}
    cosines: dict[str, float] = {}
    mean = std = 0.0
    use_dense = dense_index is not None and query_vector is not None and len(dense_index) > 0
    if use_dense:
        assert dense_index is not None
        assert query_vector is not None
        query_vector = dense_index.query(query_vector, chinese=has_cjk(question))
        ranked, mean, std = dense_index.search(query_vector, DEPTH)
        for place, (number, cosine) in enumerate(ranked, 1):
            doc_id = index.doc_id(number)
            dense_rank[doc_id] = place
            cosines[doc_id] = cosine
            if doc_id not in by_doc:
                by_doc[doc_id] = index.hit(found, number)
        for doc_id in lexical_rank:
            position = index.position(doc_id) if doc_id not in cosines else None
            similar = dense_index.similarity(query_vector, position) if position is not None else None
            if similar is not None:
                cosines[doc_id] = similar
    candidates = []
    for doc_id, hit in by_doc.items():
        if hit.coverage == 0 and not use_dense:
            continue  # lexical only, and no word of the question in it: no evidence at all
        if use_dense:
            known = cosines.get(doc_id)
            fused = hit.coverage + dense_weight * (known if known is not None else mean + MISSING_Z * std)
        else:
            fused = hit.score
        candidates.append(
            Candidate(
                hit=hit,
                lexical_rank=lexical_rank.get(doc_id),
                dense_rank=dense_rank.get(doc_id),
                dense=cosines.get(doc_id),
                fused=fused,
            )
        )
    candidates.sort(key=lambda candidate: candidate.fused, reverse=True)
    return Ranking(tuple(candidates), _signals(candidates, lexical, mean, std, dense=use_dense))


def _signals(
    candidates: Sequence[Candidate], lexical: Sequence[Hit], mean: float, std: float, *, dense: bool
) -> Signals:
    if not candidates:
        return Signals(has_dense=float(dense))
    best = candidates[0]
    second = candidates[1] if len(candidates) > 1 else None
    scores = [hit.score for hit in lexical]
    lexical_margin = 0.0
    if best.lexical_rank == 1 and scores:
        lexical_margin = (scores[0] - (scores[1] if len(scores) > 1 else 0.0)) / (scores[0] or 1.0)
    signals = Signals(
        coverage=best.hit.coverage,
        coverage_margin=best.hit.coverage - (second.hit.coverage if second else 0.0),
        misses_subject=float(best.hit.misses_subject),
        unknown_subject=float(best.hit.unknown_subject),
        lexical_top=float(best.lexical_rank == 1),
        lexical_margin=lexical_margin,
        uncovered=best.hit.uncovered_same_language,
        has_dense=float(dense),
    )
    if not dense or best.dense is None:
        return signals
    # Alone in the room, it stands out from nothing: its margin is over an unrelated text (cosine 0 once centred).
    runner_up = second.dense if second is not None and second.dense is not None else (mean if second else 0.0)
    return Signals(
        **{name: getattr(signals, name) for name in Signals.LEXICAL},
        dense_z=(best.dense - mean) / (std or 1.0),
        dense_cosine=best.dense,
        dense_margin=best.dense - runner_up,
        dense_top=float(best.dense_rank == 1),
        agree=float(best.dense_rank == 1 and best.lexical_rank == 1),
        has_dense=1.0,
    )
