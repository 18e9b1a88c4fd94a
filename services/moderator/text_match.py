"""Normalising chat text the way the contract matches commands: NFKC, case-folded, single spaces."""

from __future__ import annotations

import re
import unicodedata

_SPACES = re.compile(r"\s+")


def normalize(text: str) -> str:
    """Full-width and half-width alike (``［弱］`` == ``[弱]``), case-insensitive, WeChat's mention spaces folded."""
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", text)).strip().casefold()


def strip_prefix(text: str, prefix: str) -> str | None:
    """The rest of normalised ``text`` after ``prefix`` (both normalised), or None if it does not start with it."""
    if not text.startswith(prefix):
        return None
    return text[len(prefix) :].strip()
