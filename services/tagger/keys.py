"""Every Redis key the tagger uses, built here and nowhere else.

A knowledge base's keys share the `{kb}` hash tag, so they land in one Redis Cluster slot and the Lua upsert
may touch them together.
"""

from __future__ import annotations

PREFIX = "qun:tagger"


def _kb(kb: str) -> str:
    return f"{PREFIX}:{{{kb}}}"


def tags(kb: str) -> str:
    """Hash: tag id → TagRecord JSON."""
    return f"{_kb(kb)}:tags"


def hashes(kb: str) -> str:
    """Hash: content hash → tag id (same text twice updates)."""
    return f"{_kb(kb)}:hashes"


def expiry(kb: str) -> str:
    """Sorted set: tag id scored by expiry (epoch seconds); swept on read, so tests can move the clock."""
    return f"{_kb(kb)}:expiry"


def vectors(kb: str) -> str:
    """Hash: tag id → its e5 vector (dense.pack: int8 + scale, base64), apart from the record so that neither the
    record JSON nor the in-memory records carry it; each replica keeps it only inside its dense index."""
    return f"{_kb(kb)}:vectors"


def analyses(kb: str) -> str:
    """Hash: tag id → its text analysis (analyses.py: fingerprint, document digest, term keys and counts; bytes),
    so a replica that starts reads the analysis instead of making it again."""
    return f"{_kb(kb)}:analyses"


def sequence(kb: str) -> str:
    """Counter: the last tag id handed out."""
    return f"{_kb(kb)}:seq"


def version(kb: str) -> str:
    """Counter bumped on every change; replicas compare it to their cached index before each search."""
    return f"{_kb(kb)}:version"


def tombstone(kb: str, tag_id: str) -> str:
    """String, expiring: who deleted a tag (Tombstone JSON), so a redelivered delete replies as the first time."""
    return f"{_kb(kb)}:deleted:{tag_id}"


def knowledge_bases() -> str:
    """Set of every knowledge base that ever had a tag (indexes are warmed from it at start)."""
    return f"{PREFIX}:kbs"


def unprompted_rooms() -> str:
    """Set of room ids where an admin allowed answers to questions nobody addressed to the bot."""
    return f"{PREFIX}:unprompted"


def unprompted_changed() -> str:
    """Pub/sub channel: a room id whose auto-answer switch changed (replicas drop their cached value)."""
    return f"{PREFIX}:unprompted:changed"
