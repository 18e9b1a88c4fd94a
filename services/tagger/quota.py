"""Limits on stored tags at the source (TAGGER_MAX_TAGS_PER_ROOM, TAGGER_MAX_TAGS_PER_MEMBER). Pure.

A knowledge base's counts are taken once, when its index is built (`TagCounts.of`), so checking a new tag reads no
record: the records are kept as stored JSON and parsing 10,000 of them would cost ~0.2 s per tag.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import numpy.typing as npt

from services.tagger.models import TagRecord, content_hash


def _key(digest: str) -> int:
    return int(digest[:16], 16)  # 64 bits of the content hash: a dedupe key, not a secret


@dataclass(frozen=True)
class TagCounts:
    """What the limits need about a knowledge base's live tags (8 bytes a tag)."""

    texts: npt.NDArray[np.uint64] = field(default_factory=lambda: np.zeros(0, dtype=np.uint64))  # sorted keys
    by_tagger: Mapping[str, int] = field(default_factory=dict)

    @classmethod
    def of(cls, records: Iterable[TagRecord], now: datetime) -> TagCounts:
        live = [record for record in records if not record.expired(now)]
        return cls(
            texts=np.unique(np.asarray([_key(record.hash) for record in live], dtype=np.uint64)),
            by_tagger=Counter(record.tagger_id or "" for record in live),
        )

    @property
    def live(self) -> int:
        return len(self.texts)

    def has(self, text: str) -> bool:
        key = np.uint64(_key(content_hash(text)))
        at = int(np.searchsorted(self.texts, key))
        return at < len(self.texts) and self.texts[at] == key


@dataclass(frozen=True)
class OverQuota:
    limit: int
    per_member: bool  # False: the room's limit


def check(
    counts: TagCounts, *, text: str, tagger_id: str, per_room: int, per_member: int
) -> OverQuota | None:
    """None when the tag may be stored. Tagging a text again (an update) is always allowed."""
    if counts.has(text):
        return None
    if counts.live >= per_room:
        return OverQuota(per_room, per_member=False)
    if counts.by_tagger.get(tagger_id, 0) >= per_member:
        return OverQuota(per_member, per_member=True)
    return None
