"""The digest of the notices a room's hourly budget held back: one short message, one line per notice at most."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from services.github_sync.budget import Held, HeldNotice
from services.github_sync.notices import NOTICE_TAG, Notice
from services.shared import Bilingual

LINE_LIMIT = 60
"""Characters per digest line."""
MAX_LINES = 8
"""Lines listed; the rest are counted."""
TEXT_LIMIT = 700
"""Characters of the whole digest, whatever the lines hold."""

_IDS = uuid.UUID("0d5b8a64-2f1e-4c8e-9a7d-3e6f1b2c4d58")


def _one_line(text: str) -> str:
    first = text.split("\n", 1)[0].removeprefix(NOTICE_TAG).strip()
    return first if len(first) <= LINE_LIMIT else first[: LINE_LIMIT - 1].rstrip() + "…"


def held_notice(delivery_id: str, notice: Notice) -> HeldNotice:
    """A notice as one digest line: its first line (what happened to which item), without the tag."""
    return HeldNotice(id=delivery_id, zh=_one_line(notice.zh), en=_one_line(notice.en))


def digest_text(held: Held) -> Bilingual:
    """`[GitHub] 另有 12 条更新：` and a line per notice, oldest first, at most MAX_LINES of them."""
    shown: Sequence[HeldNotice] = held.notices[:MAX_LINES]
    rest = held.total - len(shown)
    zh_lines = [f"{NOTICE_TAG} 另有 {held.total} 条更新："] + [f"· {notice.zh}" for notice in shown]
    en_lines = [f"{NOTICE_TAG} {held.total} more update{'s' if held.total != 1 else ''}:"] + [
        f"· {notice.en}" for notice in shown
    ]
    if rest > 0:
        zh_lines.append(f"……还有 {rest} 条")
        en_lines.append(f"… and {rest} more")
    return Bilingual(zh=_capped(zh_lines), en=_capped(en_lines))


def _capped(lines: list[str]) -> str:
    text = "\n".join(lines)
    return text if len(text) <= TEXT_LIMIT else text[: TEXT_LIMIT - 1].rstrip() + "…"


def digest_id(room_id: str, held: Held) -> str:
    """The same digest gets the same command id, whichever replica (or retry) sends it."""
    return uuid.uuid5(_IDS, f"{room_id}/{'/'.join(sorted(n.id for n in held.notices))}/{held.overflow}").hex
