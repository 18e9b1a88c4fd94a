"""Limits on stored tags at the source (TAGGER_MAX_TAGS_PER_ROOM, TAGGER_MAX_TAGS_PER_MEMBER). Pure."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from services.tagger.models import TagRecord, content_hash


@dataclass(frozen=True)
class OverQuota:
    limit: int
    per_member: bool  # False: the room's limit


def check(
    records: Iterable[TagRecord],
    *,
    text: str,
    tagger_id: str,
    now: datetime,
    per_room: int,
    per_member: int,
) -> OverQuota | None:
    """None when the tag may be stored. Tagging a text again (an update) is always allowed."""
    digest = content_hash(text)
    live = 0
    mine = 0
    for record in records:
        if record.expired(now):
            continue
        if record.hash == digest:
            return None
        live += 1
        mine += record.tagger_id == tagger_id
    if live >= per_room:
        return OverQuota(per_room, per_member=False)
    if mine >= per_member:
        return OverQuota(per_member, per_member=True)
    return None
