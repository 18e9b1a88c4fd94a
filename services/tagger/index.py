"""In-memory BM25 index of one knowledge base, with a coverage score that says how much of a question is answered.

Three kinds of terms live in one inverted index, told apart by a prefix:
  w:<word>     jieba words (search mode) and stemmed English words
  c:<concept>  bilingual dictionary concepts (so 聚会 meets "meetup")
  b:<bigram>   CJK character bigrams (so short Chinese questions match despite segmentation differences)
BM25 ranks; coverage (the idf-weighted share of the question's words found in a document, through any of the
three) is the confidence the answer / suggest / don't-know decision is taken on, because raw BM25 scores are not
comparable between questions.
"""

from __future__ import annotations

import heapq
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from services.tagger.synonyms import MAX_PHRASE_WORDS, SynonymDictionary
from services.tagger.text import Analyzer, bigrams, has_cjk, importance

K1 = 1.2
B = 0.6
KEYWORD_TF = 3  # a tagger's keywords say what the message is about: count them as three mentions
WEIGHT = {"w": 1.0, "c": 0.8, "b": 0.35}
UNSEEN_WEIGHT = 0.7  # share of the maximal idf given to a question word the index has never seen
BIGRAM_CREDIT = 0.7  # a CJK word found only through its characters counts this much
DICTIONARY_WORD_IMPORTANCE = 0.6
RERANK_DEPTH = 30
BM25_SHARE = 0.25  # final rank = coverage + BM25_SHARE · bm25 / best bm25


@dataclass(frozen=True)
class Document:
    id: str
    text: str
    keywords: tuple[str, ...] = ()
    questions: tuple[str, ...] = ()  # FAQ question variants, indexed like the text


@dataclass(frozen=True)
class Hit:
    doc_id: str
    score: float  # final ranking score
    coverage: float  # 0..1, share of the question found in the document
    bm25: float


@dataclass(frozen=True)
class _Unit:
    """One word of the question and the ways a document may contain it."""

    word: str
    concepts: tuple[str, ...]
    grams: tuple[str, ...]
    importance: float


@dataclass(frozen=True)
class Query:
    terms: dict[str, float]
    units: tuple[_Unit, ...]


@dataclass
class TextAnalysis:
    """Analyzer + dictionary: text → index terms, question → query."""

    analyzer: Analyzer
    dictionary: SynonymDictionary
    _concept_cache: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def terms(self, text: str) -> Counter[str]:
        words = self.analyzer.words(text)
        counts: Counter[str] = Counter("w:" + word for word in words)
        counts.update(self.dictionary.expand(words))
        for run in self.analyzer.cjk_runs(text):
            counts.update("b:" + gram for gram in bigrams(run))
        return counts

    def document_terms(self, doc: Document) -> Counter[str]:
        counts = self.terms(doc.text)
        for question in doc.questions:
            counts.update(self.terms(question))
        for keyword in doc.keywords:
            for term, count in self.terms(keyword).items():
                counts[term] += count * KEYWORD_TF
        return counts

    def _unit_concepts(self, word: str) -> tuple[str, ...]:
        cached = self._concept_cache.get(word)
        if cached is None:
            found = list(self.dictionary.concepts_of(word))
            if not found and has_cjk(word) and len(word) > 2:
                for part in self.analyzer.words(word):
                    if part != word:
                        found.extend(self.dictionary.concepts_of(part))
            cached = tuple(dict.fromkeys(found))
            self._concept_cache[word] = cached
        return cached

    def query(self, text: str) -> Query:
        terms: dict[str, float] = {}
        for term in self.terms(text):
            terms[term] = WEIGHT[term[0]]
            if term[0] == "w":
                terms[term] *= importance(term[2:])
        words = self.analyzer.words(text, search_mode=False)
        phrase_concepts: dict[int, list[str]] = {}
        for size in range(2, MAX_PHRASE_WORDS + 1):
            for start in range(len(words) - size + 1):
                for concept in self.dictionary.concepts_of(" ".join(words[start : start + size])):
                    for position in range(start, start + size):
                        phrase_concepts.setdefault(position, []).append(concept)
        units: dict[str, _Unit] = {}
        for position, word in enumerate(words):
            if word in units:
                continue
            grams = tuple("b:" + gram for gram in bigrams(word)) if has_cjk(word) and len(word) > 1 else ()
            concepts = self._unit_concepts(word) + tuple(phrase_concepts.get(position, ()))
            for concept in concepts:
                terms.setdefault(concept, WEIGHT["c"])
            weight = importance(word)
            if concepts:  # a word the dictionary knows is a subject word of this domain, however common
                weight = max(weight, DICTIONARY_WORD_IMPORTANCE)
            units[word] = _Unit(word=word, concepts=concepts, grams=grams, importance=weight)
        return Query(terms=terms, units=tuple(units.values()))


class KnowledgeIndex:
    """Immutable BM25 index over a set of documents. Rebuild on change: at a few thousand tags that takes
    milliseconds, and it keeps the index trivially consistent with Redis."""

    def __init__(
        self,
        docs: Iterable[Document],
        analysis: TextAnalysis,
        term_cache: dict[Document, Counter[str]] | None = None,
    ) -> None:
        """`term_cache` (shared between rebuilds) saves re-analysing documents that did not change."""
        self._analysis = analysis
        self._docs: list[Document] = list(docs)
        cache = term_cache if term_cache is not None else {}
        doc_terms = []
        for doc in self._docs:
            terms = cache.get(doc)
            if terms is None:
                terms = cache[doc] = analysis.document_terms(doc)
            doc_terms.append(terms)
        self._doc_term_sets: list[frozenset[str]] = [frozenset(terms) for terms in doc_terms]
        lengths = [sum(terms.values()) for terms in doc_terms]
        self._n = len(self._docs)
        avg = (sum(lengths) / self._n) if self._n else 1.0
        self._df: Counter[str] = Counter()
        postings: dict[str, list[tuple[int, float]]] = {}
        for index, (terms, length) in enumerate(zip(doc_terms, lengths, strict=True)):
            norm = K1 * (1 - B + B * length / avg)
            for term, tf in terms.items():
                self._df[term] += 1
                postings.setdefault(term, []).append((index, tf * (K1 + 1) / (tf + norm)))
        self._postings = postings

    def __len__(self) -> int:
        return self._n

    @property
    def documents(self) -> Sequence[Document]:
        return self._docs

    def idf(self, term: str) -> float:
        df = self._df.get(term, 0)
        return math.log(1 + (self._n - df + 0.5) / (df + 0.5))

    def search(self, question: str, limit: int = 3) -> list[Hit]:
        if not self._n:
            return []
        query = self._analysis.query(question)
        scores: dict[int, float] = {}
        for term, weight in query.terms.items():
            plist = self._postings.get(term)
            if not plist:
                continue
            boost = weight * self.idf(term)
            for doc, part in plist:
                scores[doc] = scores.get(doc, 0.0) + boost * part
        if not scores:
            return []
        top = heapq.nlargest(RERANK_DEPTH, scores.items(), key=lambda item: item[1])
        best = top[0][1]
        hits = []
        for doc, bm25 in top:
            coverage = self._coverage(query, self._doc_term_sets[doc])
            hits.append(
                Hit(
                    doc_id=self._docs[doc].id,
                    score=coverage + BM25_SHARE * bm25 / best,
                    coverage=coverage,
                    bm25=bm25,
                )
            )
        hits.sort(key=lambda hit: hit.score, reverse=True)
        return hits[:limit]

    def _unit_weight(self, unit: _Unit) -> float:
        if self._df.get("w:" + unit.word):
            local = self.idf("w:" + unit.word)
        else:
            seen = [self.idf(concept) for concept in unit.concepts if self._df.get(concept)]
            local = max(seen) if seen else UNSEEN_WEIGHT * self.idf("")
        return local * unit.importance

    def _coverage(self, query: Query, doc_terms: frozenset[str]) -> float:
        total = 0.0
        found = 0.0
        for unit in query.units:
            weight = self._unit_weight(unit)
            total += weight
            if "w:" + unit.word in doc_terms or any(concept in doc_terms for concept in unit.concepts):
                found += weight
            elif unit.grams:
                share = sum(1 for gram in unit.grams if gram in doc_terms) / len(unit.grams)
                found += weight * BIGRAM_CREDIT * share
        return found / total if total else 0.0
