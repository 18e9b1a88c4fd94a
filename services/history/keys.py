"""Every Redis key the history service uses, built here and nowhere else.

A room's keys share the `{room}` hash tag, so they land in one Redis Cluster slot and one Lua script may touch them
together.
"""

from __future__ import annotations

PREFIX = "qun:history"


def _room(room_id: str) -> str:
    return f"{PREFIX}:{{{room_id}}}"


def log(room_id: str) -> str:
    """Stream: the room's kept messages; entry id = WeChat time in ms, one field `m` = the packed message."""
    return f"{_room(room_id)}:log"


def contacts(room_id: str) -> str:
    """Hash: `#<contact id>` -> index; `<index>` -> `<contact id>\\x1f<name>`; `n` -> indexes handed out."""
    return f"{_room(room_id)}:who"


def off(room_id: str) -> str:
    """String: present while recording is switched off in the room."""
    return f"{_room(room_id)}:off"


def prefs(room_id: str) -> str:
    """Hash: per-room options (`llm`: summaries by the configured LLM, `board`: leaderboard in reports)."""
    return f"{_room(room_id)}:prefs"


def unanswered(room_id: str) -> str:
    """Hash: question key -> UnansweredRecord JSON."""
    return f"{_room(room_id)}:unanswered"


def listing(room_id: str) -> str:
    """String: JSON list of the question keys as numbered in the room's latest listing."""
    return f"{_room(room_id)}:listing"


def room_keys(room_id: str) -> tuple[str, ...]:
    """What switching recording off forgets."""
    return (log(room_id), contacts(room_id), unanswered(room_id), listing(room_id))


REPORTS_DUE = f"{PREFIX}:reports:due"
"""Sorted set: `<room>|<kind>` -> epoch ms when the next report is due (or when a replica's lease on it ends)."""

REPORTS_CONF = f"{PREFIX}:reports:conf"
"""Hash: `<room>|<kind>` -> ReportSchedule JSON (bot, zone, language, time of day)."""

REPORTS_LEASE = f"{PREFIX}:reports:lease"
"""Hash: `<room>|<kind>` -> token of the replica sending it now."""
