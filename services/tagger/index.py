"""In-memory BM25 index of one knowledge base, with a coverage score that says how much of a question is answered.

Five kinds of terms live in one inverted index, told apart by a prefix:
  w:<word>     jieba words (search mode) and stemmed English words
  g:<gloss>    the shared gloss space of CC-CEDICT (lexicon.py): 报销 carries g:reimburs, "reimbursed" too
  c:<concept>  entity concepts (a time, a link, a price) and the question words that ask for them; concepts of
               the optional hand-written override dictionary (data/synonyms.yaml)
  b:<bigram>   CJK character bigrams (so short Chinese questions match despite segmentation differences)
  p:<pinyin>   toneless pinyin of CJK bigrams (so the typo 报消 meets 报销)
BM25 ranks; coverage (the idf-weighted share of the question's words found in a document, through any of the
three) is the confidence the answer / suggest / don't-know decision is taken on, because raw BM25 scores are not
comparable between questions.
"""

from __future__ import annotations

import math
import re
import zlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from services.tagger.lexicon import Lexicon, pinyin_bigrams
from services.tagger.synonyms import MAX_PHRASE_WORDS, SynonymDictionary
from services.tagger.text import (
    QUESTION_WORD_IMPORTANCE,
    QUESTION_WORDS,
    Analyzer,
    bigrams,
    has_cjk,
    importance,
)

K1 = 1.2
B = 0.6
KEYWORD_TF = 3  # a tagger's keywords say what the message is about: count them as three mentions
WEIGHT = {"w": 1.0, "c": 0.8, "b": 0.35, "g": 0.5, "p": 0.15}
UNSEEN_WEIGHT = 0.7  # share of the maximal idf given to a question word the index has never seen
BIGRAM_CREDIT = 0.7  # a CJK word found only through its characters counts this much
GLOSS_CREDIT = 0.8  # a word found only through a translation (CC-CEDICT gloss) counts this much
PINYIN_CREDIT = 0.55  # a CJK word found only through its sound (a typo: 报消 for 报销) counts this much
MAX_UNIT_GLOSSES = 8
COVERAGE_PRIOR_DOCS = 50  # coverage weighs words as if the room had this many more tags: stable in tiny rooms
DICTIONARY_WORD_IMPORTANCE = 0.6  # floor: a word the dictionary knows is a subject word, however common
RERANK_DEPTH = 30  # BM25 candidates scored for coverage
BM25_SHARE = 0.1  # final rank = coverage + BM25_SHARE · bm25 / best bm25
DENSE_POSTINGS = 2000  # longer posting lists only add to documents that rarer terms found
DF_MEMO = 50_000  # document frequencies remembered per index (questions repeat their words)
UNCOVERED_BELOW = (
    0.5  # a question word found less surely than this (its characters only, by sound) is missing
)


_NUMBER = re.compile(r"\d")

# A message that states a time, a link or an address answers "when", "where is the link", "what's the email"
# even when it never says the word: such messages carry the concept the question words map to.
_ENTITIES = (
    (
        "c:time",
        re.compile(
            r"\d{1,2}\s*[:：]\s*\d{2}|\d{1,2}\s*点|\d{1,2}\s*(?:am|pm)\b|[上下]午|晚上|早上|中午|"
            r"(?:周|星期|礼拜)[一二三四五六日天]|\d{1,2}\s*月\s*\d{1,2}\s*[日号]|\d{4}-\d{1,2}-\d{1,2}|"
            r"\b(?:mon|tues|wednes|thurs|fri|satur|sun)day\b",
            re.IGNORECASE,
        ),
    ),
    ("c:website", re.compile(r"https?://|www\.|\b[a-z0-9-]+\.(?:com|dev|org|io|net|cn)\b", re.IGNORECASE)),
    ("c:size", re.compile(r"\d+(?:\.\d+)?\s*(?:[kmgt]i?b|[kmgt])\b|\d+\s*(?:兆|字节)", re.IGNORECASE)),
    (
        "c:duration",
        re.compile(
            r"\d+\s*(?:分钟|小时|个月|周|天)|\b\d+\s*(?:minutes?|mins?|hours?|hrs?|days?|weeks?|months?)\b",
            re.IGNORECASE,
        ),
    ),
    ("c:email", re.compile(r"[\w.+-]+@[\w-]+\.[a-z]{2,}", re.IGNORECASE)),
    (
        "c:date",
        re.compile(
            r"\d{1,2}\s*月\s*\d{1,2}\s*[日号]|\d{1,2}\s*[日号](?:前|之前|截止)|\d{4}-\d{1,2}-\d{1,2}|每月第?[一二三四1-4]|"
            r"\b\d{1,2}(?:st|nd|rd|th)\b|\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+\d{1,2}\b",
            re.IGNORECASE,
        ),
    ),
    (
        "c:path",
        re.compile(r"~?/[\w.-]+/|\b[\w-]+\.(?:toml|ya?ml|json|ini|conf|cfg|md|txt|env)\b", re.IGNORECASE),
    ),
    (
        "c:price",
        re.compile(
            r"\d+(?:\.\d+)?\s*(?:元|块|rmb|yuan|usd|美元|欧元)|[¥$€£]\s*\d+|\b\d+\s*(?:bucks|dollars?|euros?)\b",
            re.IGNORECASE,
        ),
    ),
    ("c:phone", re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)|\+\d[\d -]{7,}\d|(?<!\d)\d{3,4}-\d{7,8}(?!\d)")),
    (
        "c:city",
        re.compile(
            r"北京|上海|广州|深圳|杭州|成都|南京|武汉|西安|苏州|天津|重庆|厦门|长沙|香港|台北|"
            r"\b(?:beijing|shanghai|guangzhou|shenzhen|hangzhou|chengdu|nanjing|wuhan|xi'?an|suzhou|hong kong)\b",
            re.IGNORECASE,
        ),
    ),
    (
        "c:venue",
        re.compile(
            r"[路街道]\s*\d+\s*号|\d+\s*(?:楼|层)|\b\d+\s+\w+\s+(?:street|st|road|rd|avenue|ave)\b",
            re.IGNORECASE,
        ),
    ),
)


# Question words and the entity concepts above they ask for: grammar, not vocabulary, so they hold in any group
# and stay on when the override dictionary is off. Matched on the question's text (English phrases as words).
_ASKS = {
    "c:venue": r"where|哪里|在哪|哪儿|地址|地点|address|location",
    "c:time": r"when|what time|几点|什么时候|啥时候|何时|哪天|时间|whens|wen",
    "c:date": r"which day|what date|几号|哪天|哪一天|多少号|日期|date",
    "c:city": r"which city|what city|哪个城市|哪座城市",
    "c:website": r"link|链接|网址|url|website|网站|网页",
    "c:email": r"e-?mail|邮箱|邮件",
    "c:duration": r"how long|多久|多长时间|时长",
    "c:size": r"how big|多大|大小",
    "c:price": r"how much|多少钱|价格|price|cost|几块|卖多少|多少米",
    "c:phone": r"phone|电话|手机号|号码",
}
_ASK_PATTERNS = tuple(
    (concept, re.compile(r"(?<![a-z])(?:" + words + r")(?![a-z])", re.IGNORECASE))
    for concept, words in _ASKS.items()
)


def asked_entities(question: str) -> tuple[str, ...]:
    """The entity concepts a question asks for ("where" → c:venue, 多少钱 → c:price)."""
    return tuple(concept for concept, pattern in _ASK_PATTERNS if pattern.search(question))


@dataclass(frozen=True, slots=True)  # no __dict__: a room keeps one per tag
class Document:
    id: str
    text: str
    keywords: tuple[str, ...] = ()
    questions: tuple[str, ...] = ()  # FAQ question variants, indexed like the text


def digest(doc: Document) -> int:
    """32 bits of what is analysed (the text, keywords and question variants): an index keeps it instead of the
    document, to reuse the analysis of an unchanged tag in the next build."""
    parts = "\x1f".join([doc.text, "\x1e".join(doc.keywords), "\x1e".join(doc.questions)])
    return zlib.crc32(parts.encode())


@dataclass(frozen=True)
class Hit:
    doc_id: str
    score: float  # final ranking score
    coverage: float  # 0..1, share of the question found in the document
    bm25: float
    # The question's weightiest word appears nowhere in the knowledge base (no word, concept or bigram route):
    # whatever matched, the room knows nothing about what is being asked (the same for every hit of a question).
    unknown_subject: bool = False
    # This document lacks the question's weightiest word (by any route): it may share the phrasing, not the subject.
    misses_subject: bool = False
    # The importance (0..1, text.importance) of the most telling question word this document lacks, counted only
    # when question and document are in the same language (across languages a word may simply lack a
    # translation): a near miss ("打印机的墨盒在哪里领" against the message about the printer) lacks one.
    uncovered_same_language: float = 0.0


@dataclass(frozen=True)
class _Unit:
    """One word of the question and the ways a document may contain it."""

    word: str
    concepts: tuple[str, ...]
    grams: tuple[str, ...]
    importance: float
    glosses: tuple[str, ...] = ()  # g: terms
    sounds: tuple[str, ...] = ()  # p: terms


@dataclass(frozen=True)
class Query:
    terms: dict[str, float]
    units: tuple[_Unit, ...]

    @property
    def all_terms(self) -> set[str]:
        """Every term coverage may look for in a document."""
        found = set(self.terms)
        for unit in self.units:
            found.add("w:" + unit.word)
            found.update(unit.concepts)
            found.update(unit.grams)
            found.update(unit.glosses)
            found.update(unit.sounds)
        return found


@dataclass
class TextAnalysis:
    """Analyzer + lexicon (+ the optional override dictionary): text → index terms, question → query."""

    analyzer: Analyzer
    dictionary: SynonymDictionary  # the hand-written override (data/synonyms.yaml); may be empty
    lexicon: Lexicon = field(default_factory=Lexicon.empty)
    _unit_cache: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = field(default_factory=dict)

    def terms(self, text: str) -> Counter[str]:
        words = self.analyzer.words(text)
        counts: Counter[str] = Counter("w:" + word for word in words)
        counts.update(self.dictionary.expand(words))
        counts.update(concept for concept, pattern in _ENTITIES if pattern.search(text))
        for word in words:
            counts.update("g:" + gloss for gloss in self.lexicon.of(word))
        for run in self.analyzer.cjk_runs(text):
            counts.update("b:" + gram for gram in bigrams(run))
            counts.update("p:" + sound for sound in pinyin_bigrams(run))
        return counts

    def document_terms(self, doc: Document) -> Counter[str]:
        counts = self.terms(doc.text)
        for question in doc.questions:
            counts.update(self.terms(question))
        for keyword in doc.keywords:
            for term, count in self.terms(keyword).items():
                counts[term] += count * KEYWORD_TF
        return counts

    def _unit_routes(self, word: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(override-dictionary concepts, g: glosses) of a question word; a Chinese compound neither source knows
        takes its parts' (开发依赖 → 开发, 依赖)."""
        cached = self._unit_cache.get(word)
        if cached is None:
            concepts = list(self.dictionary.concepts_of(word))
            glosses = list(self.lexicon.of(word))
            if has_cjk(word) and len(word) > 1 and not (concepts and glosses):
                for part in self.analyzer.words(word):
                    if part != word:
                        if not concepts:
                            concepts.extend(self.dictionary.concepts_of(part))
                        if not self.lexicon.of(word):
                            glosses.extend(self.lexicon.of(part))
            if not glosses and has_cjk(word):  # unknown as a word: what its characters mean
                for char in word:
                    glosses.extend(self.lexicon.of(char)[:2])
            cached = (
                tuple(dict.fromkeys(concepts)),
                tuple("g:" + gloss for gloss in dict.fromkeys(glosses))[:MAX_UNIT_GLOSSES],
            )
            self._unit_cache[word] = cached
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
            if word in units or word in QUESTION_WORDS:
                continue
            cjk = has_cjk(word)
            grams = tuple("b:" + gram for gram in bigrams(word)) if cjk and len(word) > 1 else ()
            sounds = tuple("p:" + sound for sound in pinyin_bigrams(word)) if cjk and len(word) > 1 else ()
            concepts, glosses = self._unit_routes(word)
            concepts += tuple(phrase_concepts.get(position, ()))
            for concept in concepts:
                terms.setdefault(concept, WEIGHT["c"])
            for gloss in glosses:
                terms.setdefault(gloss, WEIGHT["g"])
            weight = importance(word)
            if concepts:
                weight = max(weight, DICTIONARY_WORD_IMPORTANCE)
            units[word] = _Unit(
                word=word, concepts=concepts, grams=grams, importance=weight, glosses=glosses, sounds=sounds
            )
        for concept in asked_entities(text):
            terms.setdefault(concept, WEIGHT["c"])
            units["?" + concept] = _Unit(
                word="?" + concept, concepts=(concept,), grams=(), importance=QUESTION_WORD_IMPORTANCE
            )
        return Query(terms=terms, units=tuple(units.values()))


Analysed = bytes
"""A document's analysis as kept between rebuilds (and stored with its tag, analyses.py): its terms' 32-bit keys,
sorted (uint32), then their counts (one byte each). Five bytes per term, no strings. Two terms
sharing a key (about one pair among 90,000 distinct terms) only blur those two; a question's term meets an
unrelated one in a tag about once in 500,000 tags."""

KEY = np.uint32  # stored analyses assume a little-endian machine (x86, ARM), as every deployment is


def _term_hash(term: str) -> int:
    """A term's 32-bit key (CRC-32 of its UTF-8: the same in every process, so analyses can be stored)."""
    return zlib.crc32(term.encode())


def analysed(terms: Counter[str]) -> Analysed:
    pairs = sorted((_term_hash(term), min(255, count)) for term, count in terms.items())
    hashes = np.asarray([key for key, _count in pairs], dtype=KEY)
    return hashes.tobytes() + bytes(count for _key, count in pairs)


def term_keys(analysis: Analysed) -> npt.NDArray[np.uint32]:
    """The sorted term keys of an analysis (a view, no copy)."""
    return np.frombuffer(analysis, dtype=KEY, count=len(analysis) // 5)


def term_counts(analysis: Analysed) -> bytes:
    return analysis[len(analysis) // 5 * 4 :]


@dataclass(frozen=True)
class Lexical:
    """The lexical side of one question: its analysis and BM25's ranking."""

    query: Query
    ranked: list[tuple[int, float]]  # (document number, BM25), best first
    bm25: npt.NDArray[np.float64]  # BM25 of every document by number (0: none of the question's terms)
    subject: _Unit | None
    unknown_subject: bool
    chinese: bool = False  # the question is Chinese
    # The keys of all_terms (sorted), each of all_terms with its key, and each unit's weight in this index: computed
    # once per question, read for every candidate.
    hashes: npt.NDArray[np.uint32] = field(default_factory=lambda: np.zeros(0, dtype=KEY))
    keyed: tuple[tuple[str, int], ...] = ()
    weights: tuple[float, ...] = ()


class KnowledgeIndex:
    """Immutable BM25 index over a set of documents. Rebuild on change (re-analysing only new documents when given
    the cache of earlier analyses), which keeps the index trivially consistent with Redis.

    Compact by design: a term is known by its 32-bit key (no strings kept), the postings of every term are one
    slice of two flat arrays (document numbers and BM25 impacts, sorted by term hash, then document), and each
    document's own sorted term hashes (for coverage of the candidates) are read from its analysis, which the
    index keeps (one bytes object per document) for the next rebuild. Of a document only its id, the digest of
    its contents (to know it unchanged in the next build) and its language are kept, not its text. A question is
    scored with numpy over the postings of its terms.
    """

    def __init__(
        self,
        docs: Iterable[Document],
        analysis: TextAnalysis,
        term_cache: dict[Document, Analysed] | None = None,
    ) -> None:
        """`term_cache` (earlier analyses) saves re-analysing documents that did not change; the analyses this
        build makes are added to it."""
        self._analysis = analysis
        docs = list(docs)
        self._ids: list[str] = [doc.id for doc in docs]
        self._digests = np.asarray([digest(doc) for doc in docs], dtype=np.uint32)
        self._chinese = np.asarray([has_cjk(doc.text) for doc in docs], dtype=np.bool_)
        self._positions: dict[str, int] | None = None
        self._n = len(docs)
        self._analyses: list[Analysed] = []  # per document: its sorted term keys, then their counts
        for doc in docs:
            cached = term_cache.get(doc) if term_cache is not None else None
            if cached is None:
                cached = analysed(analysis.document_terms(doc))
                if term_cache is not None:
                    term_cache[doc] = cached
            self._analyses.append(cached)
        lengths = np.asarray([len(blob) // 5 for blob in self._analyses], dtype=np.int64)
        hashes = np.concatenate([term_keys(blob) for blob in self._analyses] or [np.zeros(0, dtype=KEY)])
        counts = np.frombuffer(b"".join(term_counts(blob) for blob in self._analyses), dtype=np.uint8).astype(
            np.float32
        )
        docs_of = np.repeat(np.arange(self._n, dtype=np.int32), lengths)
        doc_length = np.zeros(self._n, dtype=np.float64)
        np.add.at(doc_length, docs_of, counts)
        avg = float(doc_length.mean()) if self._n else 1.0
        norm = (K1 * (1 - B + B * doc_length / (avg or 1.0))).astype(np.float32)
        impacts = counts * (K1 + 1) / (counts + norm[docs_of]) if len(counts) else counts
        order = np.lexsort((docs_of, hashes))  # by term, then document
        sorted_hashes = hashes[order]
        self._vocabulary, starts = np.unique(sorted_hashes, return_index=True)
        self._offsets = np.append(starts, len(sorted_hashes)).astype(np.int32)  # up to 2**31 postings
        self._post_docs = docs_of[order]
        self._post_impacts = impacts[order].astype(np.float16)  # three digits: plenty to rank by
        self._df_memo: dict[str, int] = {}  # document frequencies of recently asked terms

    def __len__(self) -> int:
        return self._n

    def doc_id(self, number: int) -> str:
        return self._ids[number]

    def analysis_of(self, doc: Document) -> Analysed | None:
        """The analysis this index made of `doc` (to reuse in the next build), None unless it holds `doc` as is."""
        number = self.position(doc.id)
        if number is None or int(self._digests[number]) != digest(doc):
            return None
        return self._analyses[number]

    @property
    def term_count(self) -> int:
        """Distinct terms in the index."""
        return len(self._vocabulary)

    @property
    def nbytes(self) -> int:
        """Bytes of the postings and vocabulary arrays (not the documents' own analyses)."""
        return int(
            self._vocabulary.nbytes
            + self._offsets.nbytes
            + self._post_docs.nbytes
            + self._post_impacts.nbytes
        )

    def _slot(self, term: str) -> int:
        """The term's place in the vocabulary, -1 when no document has it."""
        key = KEY(_term_hash(term))  # a numpy scalar of the array's type: no conversion of the array
        at = int(np.searchsorted(self._vocabulary, key))
        return at if at < len(self._vocabulary) and self._vocabulary[at] == key else -1

    def df(self, term: str) -> int:
        known = self._df_memo.get(term)
        if known is None:
            if len(self._df_memo) > DF_MEMO:
                self._df_memo.clear()
            slot = self._slot(term)
            known = self._df_memo[term] = (
                0 if slot < 0 else int(self._offsets[slot + 1] - self._offsets[slot])
            )
        return known

    def search(self, question: str, limit: int = 3) -> list[Hit]:
        """Lexical search alone: BM25 candidates re-scored by coverage."""
        found = self.lexical(question)
        hits = [self.hit(found, doc) for doc, _bm25 in found.ranked]
        hits.sort(key=lambda hit: hit.score, reverse=True)
        return hits[:limit]

    def lexical(self, question: str, depth: int = RERANK_DEPTH) -> Lexical:
        query = self._analysis.query(question)
        scores = self._bm25(query)
        scored = np.flatnonzero(scores)
        if len(scored) > depth:
            scored = scored[np.argpartition(-scores[scored], depth - 1)[:depth]]
        top = sorted(((int(doc), float(scores[doc])) for doc in scored), key=lambda item: (-item[1], item[0]))
        weights = tuple(self._unit_weight(unit) for unit in query.units)
        # The question's weightiest word: rare here or unknown here, and a subject word, not phrasing.
        subject = query.units[weights.index(max(weights))] if weights else None
        keyed = tuple((term, _term_hash(term)) for term in query.all_terms)
        return Lexical(
            query=query,
            ranked=top,
            bm25=scores,
            subject=subject,
            unknown_subject=subject is not None and not self._known(subject),
            chinese=has_cjk(question),
            hashes=np.asarray(sorted({key for _term, key in keyed}), dtype=KEY),
            keyed=keyed,
            weights=weights,
        )

    def hit(self, found: Lexical, doc: int) -> Hit:
        """How document number `doc` answers the question (any document, also one BM25 did not rank)."""
        mine = term_keys(self._analyses[doc])
        shared: set[int] = set()
        if len(mine) and len(found.hashes):
            at = np.minimum(np.searchsorted(mine, found.hashes), len(mine) - 1)
            shared = set(found.hashes[mine[at] == found.hashes].tolist())
        present = {term for term, key in found.keyed if key in shared}
        coverage = self._coverage(found, present)
        bm25 = float(found.bm25[doc]) if doc < len(found.bm25) else 0.0
        best = found.ranked[0][1] if found.ranked else 0.0
        same_language = bool(self._chinese[doc]) == found.chinese
        uncovered = max(
            (
                unit.importance
                for unit in found.query.units
                if not unit.word.startswith("?")
                and (same_language or _NUMBER.search(unit.word))  # numbers read the same in both languages
                and self._unit_found(unit, present) < UNCOVERED_BELOW
            ),
            default=0.0,
        )
        return Hit(
            doc_id=self._ids[doc],
            score=coverage + (BM25_SHARE * bm25 / best if best else 0.0),
            coverage=coverage,
            bm25=bm25,
            unknown_subject=found.unknown_subject,
            misses_subject=found.subject is not None and not self._covers(found.subject, present),
            uncovered_same_language=uncovered,
        )

    def position(self, doc_id: str) -> int | None:
        """The document number of an id (for the dense side, which ranks by number)."""
        if self._positions is None:
            self._positions = {doc_id: number for number, doc_id in enumerate(self._ids)}
        return self._positions.get(doc_id)

    def _bm25(self, query: Query) -> npt.NDArray[np.float64]:
        """BM25 of every document (0 where no term of the question occurs), term at a time, rarest first. A common
        term (a long posting list) only adds to the documents rarer terms found (a gather over its postings, no
        search): a question made of common words still ranks, and common words add no candidates."""
        scores = np.zeros(self._n, dtype=np.float64)
        slots = [(slot, weight) for term, weight in query.terms.items() if (slot := self._slot(term)) >= 0]
        slots.sort(key=lambda item: int(self._offsets[item[0] + 1] - self._offsets[item[0]]))
        anything = False
        for slot, weight in slots:
            start, stop = int(self._offsets[slot]), int(self._offsets[slot + 1])
            df = stop - start
            boost = weight * math.log(1 + (self._n - df + 0.5) / (df + 0.5))
            docs, impacts = self._post_docs[start:stop], self._post_impacts[start:stop]
            if df <= DENSE_POSTINGS or not anything:
                scores[docs] += boost * impacts.astype(np.float64)
                anything = True
                continue
            found = scores[docs] != 0  # the documents rarer terms found (scores only grow)
            scores[docs[found]] += boost * impacts[found].astype(np.float64)
        return scores

    def _smoothed_idf(self, term: str) -> float:
        df = self.df(term)
        return math.log(1 + (self._n + COVERAGE_PRIOR_DOCS - df + 0.5) / (df + 0.5))

    def _unit_weight(self, unit: _Unit) -> float:
        if self.df("w:" + unit.word):
            local = self._smoothed_idf("w:" + unit.word)
        else:
            seen = [self._smoothed_idf(term) for term in (*unit.concepts, *unit.glosses) if self.df(term)]
            # A dictionary word nobody here ever used (北京 in a room that only knows the Shanghai meetup) is
            # a subject the room knows nothing about: full weight. Other unseen words may be mere phrasing.
            discount = 1.0 if unit.concepts else UNSEEN_WEIGHT
            local = max(seen) if seen else discount * self._smoothed_idf("")
        return local * unit.importance

    def _known(self, unit: _Unit) -> bool:
        """Whether any document contains the word by a route coverage accepts (its bigrams: each somewhere)."""
        if self.df("w:" + unit.word) or any(self.df(term) for term in (*unit.concepts, *unit.glosses)):
            return True
        if unit.sounds and all(self.df(sound) for sound in unit.sounds):
            return True
        return bool(unit.grams) and all(self.df(gram) for gram in unit.grams)

    @staticmethod
    def _covers(unit: _Unit, doc_terms: set[str]) -> bool:
        """The document has the word itself, a concept or gloss of it, or all of its bigrams (by sight or sound)."""
        if "w:" + unit.word in doc_terms or any(
            term in doc_terms for term in (*unit.concepts, *unit.glosses)
        ):
            return True
        if unit.sounds and all(sound in doc_terms for sound in unit.sounds):
            return True
        return bool(unit.grams) and all(gram in doc_terms for gram in unit.grams)

    @staticmethod
    def _unit_found(unit: _Unit, doc_terms: set[str]) -> float:
        """0..1: how surely the document contains the word (itself or a concept: 1; a translation; characters)."""
        if "w:" + unit.word in doc_terms or any(concept in doc_terms for concept in unit.concepts):
            return 1.0
        best = GLOSS_CREDIT if any(gloss in doc_terms for gloss in unit.glosses) else 0.0
        if unit.grams:
            share = sum(1 for gram in unit.grams if gram in doc_terms) / len(unit.grams)
            best = max(best, BIGRAM_CREDIT * share)
        if unit.sounds:
            share = sum(1 for sound in unit.sounds if sound in doc_terms) / len(unit.sounds)
            best = max(best, PINYIN_CREDIT * share)
        return best

    def _coverage(self, found: Lexical, doc_terms: set[str]) -> float:
        total = sum(found.weights)
        covered = sum(
            weight * self._unit_found(unit, doc_terms)
            for unit, weight in zip(found.query.units, found.weights, strict=True)
        )
        return covered / total if total else 0.0
