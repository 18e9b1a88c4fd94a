"""Bilingual concept dictionary: words in either language that mean the same thing map to one concept token.

The dictionary (data/synonyms.yaml) is a list of groups; each group's terms are interchangeable. A Chinese question
about an English message then shares concept tokens with it, and so does a paraphrase in the same language.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import yaml

from services.shared.text import normalize
from services.tagger.text import STOPWORDS_EN, stem_en

MAX_PHRASE_WORDS = 3


def _term_key(term: str) -> str:
    """English terms are matched word by word after stemming; CJK terms as they are (jieba knows them)."""
    words = normalize(term).replace("-", " ").split()
    content = [word for word in words if word not in STOPWORDS_EN] or words
    return " ".join(stem_en(word) for word in content)


@dataclass(frozen=True)
class SynonymDictionary:
    """term key → concept ids (a term may belong to a few groups, e.g. 'group' as chat group and as team)."""

    concepts: dict[str, tuple[str, ...]]

    @classmethod
    def from_groups(cls, groups: Iterable[Sequence[str]]) -> SynonymDictionary:
        concepts: dict[str, list[str]] = {}
        for group in groups:
            terms = [str(term) for term in group if str(term).strip()]
            if len(terms) < 2:
                continue
            if terms[0].startswith("c:"):  # an explicit concept name, not a term
                concept, terms = terms[0], terms[1:]
            else:
                concept = "c:" + _term_key(terms[0])
            for term in terms:
                bucket = concepts.setdefault(_term_key(term), [])
                if concept not in bucket:
                    bucket.append(concept)
        return cls({key: tuple(value) for key, value in concepts.items()})

    @classmethod
    def load(cls, path: Path | None = None) -> SynonymDictionary:
        if path is None:
            text = (
                resources.files("services.tagger").joinpath("data/synonyms.yaml").read_text(encoding="utf-8")
            )
        else:
            text = path.read_text(encoding="utf-8")
        data = yaml.safe_load(text) or []
        return cls.from_groups(data)

    def terms(self) -> list[str]:
        """Every term, for teaching jieba the Chinese ones."""
        return list(self.concepts)

    def expand(self, words: Sequence[str]) -> list[str]:
        """Concept tokens for single words and for phrases of up to three adjacent words ('pull request')."""
        found: list[str] = []
        for size in range(1, MAX_PHRASE_WORDS + 1):
            for start in range(len(words) - size + 1):
                key = " ".join(words[start : start + size])
                found.extend(self.concepts.get(key, ()))
        return found

    def concepts_of(self, word: str) -> tuple[str, ...]:
        return self.concepts.get(word, ())
