"""Normalising chat text the way the contract matches commands: NFKC, case-folded, single spaces."""

from __future__ import annotations

from services.shared.text import normalize

__all__ = ["normalize", "strip_prefix"]


def strip_prefix(text: str, prefix: str) -> str | None:
    """The rest of normalised ``text`` after ``prefix`` (both normalised), or None if it does not start with it."""
    if not text.startswith(prefix):
        return None
    return text[len(prefix) :].strip()
