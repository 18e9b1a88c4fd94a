"""Welcome rules: who is greeted, how the template is filled, when a batch is too old to send.

Batching itself lives in ``welcome_store`` (Redis) and ``welcome_flush`` (the sweeper); this module only holds
the decisions, so they can be tested without a clock or a server.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from services.shared.commands import language_of

DEFAULT_TEMPLATE = "欢迎 {names} 加入「{topic}」！先看看群公告，有问题随时问 🎉"
NAMES = "{names}"
TOPIC = "{topic}"
KNOWN_PLACEHOLDERS = frozenset({NAMES, TOPIC})
MAX_NAMES_SHOWN = 20
MAX_TEMPLATE_LENGTH = 500

_PLACEHOLDER = re.compile(r"\{[^{}]*\}")


@dataclass(frozen=True)
class Joiner:
    """Someone who joined a room."""

    id: str
    name: str


@dataclass(frozen=True)
class WelcomeMessage:
    """What to say in the room: text, and whom to @-mention."""

    text: str
    mention_ids: tuple[str, ...]


def newcomers(joiners: Iterable[Joiner], bot_id: str) -> tuple[Joiner, ...]:
    """The people to greet: the bot never greets itself, and nobody is greeted twice in one batch."""
    seen: set[str] = set()
    result: list[Joiner] = []
    for joiner in joiners:
        if joiner.id == bot_id or joiner.id in seen:
            continue
        seen.add(joiner.id)
        result.append(joiner)
    return tuple(result)


def join_names(names: list[str], *, chinese: bool) -> str:
    """``甲、乙、丙`` or ``A, B, C``; a very long list is cut with ``等 N 人`` / ``and N more``."""
    shown = names[:MAX_NAMES_SHOWN]
    rest = len(names) - len(shown)
    joined = ("、" if chinese else ", ").join(shown)
    if rest > 0:
        joined += f" 等 {len(names)} 人" if chinese else f" and {rest} more"
    return joined


def render_welcome(template: str | None, joiners: Iterable[Joiner], topic: str) -> WelcomeMessage:
    """Fill the room's template (or the default) for one batch of newcomers.

    Only ``{names}`` and ``{topic}`` are replaced, by plain substitution: a template is typed by an admin in chat,
    and ``str.format`` would let it reach attributes of the values. A template without ``{names}`` still greets
    people personally: they are @-mentioned instead (the gateway renders the mention, never us).
    """
    chosen = template or DEFAULT_TEMPLATE
    people = list(joiners)
    chinese = language_of(chosen) == "zh"
    shown_topic = topic or ("本群" if chinese else "this group")
    text = chosen.replace(TOPIC, shown_topic)
    if NAMES in chosen:
        text = text.replace(NAMES, join_names([p.name or p.id for p in people], chinese=chinese))
        return WelcomeMessage(text=text, mention_ids=())
    return WelcomeMessage(text=text, mention_ids=tuple(p.id for p in people))


def unknown_placeholders(template: str) -> list[str]:
    """Placeholders an admin typed that we would not fill (probably a typo, shown back to them)."""
    return [p for p in _PLACEHOLDER.findall(template) if p not in KNOWN_PLACEHOLDERS]


def flush_is_too_late(due_ms: int, now_ms: int, max_age_ms: int) -> bool:
    """A batch whose flush was due long ago (every replica was down) is dropped, like any stale event."""
    return now_ms - due_ms > max_age_ms
