"""Per-room moderator settings and what the moderator knows about rooms (values only, no I/O)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class FloodPolicy(StrEnum):
    """What happens to a member who floods again after the warning."""

    WARN = "warn"
    """Only the warning; nothing further."""
    VOTE = "vote"
    """The bot opens a vote to remove them (its own detection counts as the first vote)."""
    REMOVE = "remove"
    """They are removed at once."""


@dataclass(frozen=True)
class FloodLimits:
    """A member may send ``max_messages`` per ``window_seconds``, each at most ``max_length`` characters."""

    max_messages: int
    window_seconds: int
    max_length: int


@dataclass(frozen=True)
class RoomConfig:
    """What an admin changed for one room; None means "the service-wide default"."""

    welcome_template: str | None = None
    kick_threshold: int | None = None
    flood_policy: FloodPolicy | None = None
    flood_limits: FloodLimits | None = None
    flood_grace_s: int | None = None
    """After a flood warning, how long nothing the member sends counts (they need time to read it)."""


@dataclass(frozen=True)
class RoomRecord:
    """A room as last seen in an event (the moderator's directory, used to resolve rooms named in DMs)."""

    id: str
    topic: str
    owner_id: str | None = None
    member_count: int = 0
