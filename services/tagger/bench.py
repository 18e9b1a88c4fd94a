"""Search latency at scale: the tagger's index against a naive scan, on the same synthetic room.

`run_search_bench(n_tags)` builds one knowledge base of `n_tags` tags (the evaluation facts plus generated
community-chat messages mixing Chinese and English words drawn from jieba's dictionary and the bilingual
dictionary), asks the evaluation questions, and times
  - the index: BM25 over words, concepts and bigrams, then coverage scoring of the top candidates;
  - the baseline: the predecessor's character-count cosine against every row (precomputed vectors).
Used by `make bench`; also `python -m services.tagger.bench 100000`.
"""

from __future__ import annotations

import math
import random
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

from services.tagger.engine import shared_analysis
from services.tagger.index import Document, KnowledgeIndex

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


if __name__ == "__main__":
    import json

    print(json.dumps(run_search_bench(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000), indent=2))
