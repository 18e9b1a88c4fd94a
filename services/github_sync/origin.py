"""A hidden marker on what we write to GitHub, so its webhook echo is not announced back to the same room."""

from __future__ import annotations

import hashlib
import re

_MARKER = re.compile(r"<!-- qunbus github-sync origin:(?P<digest>[0-9a-f]{16}) -->")


def room_digest(room_id: str) -> str:
    """Opaque stand-in for a room id: GitHub is public, WeChat room ids are not."""
    return hashlib.sha256(room_id.encode("utf-8")).hexdigest()[:16]


def origin_marker(room_id: str) -> str:
    return f"<!-- qunbus github-sync origin:{room_digest(room_id)} -->"


def origin_digest(body: str | None) -> str | None:
    """Digest of the room an issue or comment came from, if we wrote it."""
    match = _MARKER.search(body or "")
    return match["digest"] if match else None
