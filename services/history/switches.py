"""Reading `开|关` / `on|off` and an optional time of day from a command's arguments. Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time

from services.shared.text import normalize

_ON = frozenset({"开", "开启", "打开", "启用", "on", "enable", "yes"})
_OFF = frozenset({"关", "关闭", "停", "停止", "off", "disable", "no"})
_STATUS = frozenset({"", "状态", "status", "?", "？"})
_CLOCK = re.compile(r"(?<!\d)([01]?\d|2[0-3])[:：点]([0-5]\d)?(?!\d)")


@dataclass(frozen=True)
class Switch:
    on: bool | None
    """True / False, or None for 'show the status'."""
    at: time | None = None


def parse_switch(args: str) -> Switch | None:
    """`开` / `off` / `开 21:30` / `on 9:00` / `` (status). None when it is none of these."""
    text = normalize(args)
    at = None
    if clock := _CLOCK.search(text):
        at = time(int(clock.group(1)), int(clock.group(2) or 0))
        text = (text[: clock.start()] + text[clock.end() :]).strip()
    if text in _STATUS and at is None:
        return Switch(on=None)
    if text in _ON:
        return Switch(on=True, at=at)
    if text in _OFF and at is None:
        return Switch(on=False)
    return None
