"""Text as members type it, made comparable once. Pure functions.

`clean_body` is what the gateway does to every message's `body` before any service sees it (the raw text stays in
`MessageReceived.text`); `normalize` is the one comparison form (keywords, tags, passwords).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

MENTION_SEPARATOR = "\u2005"
"""WeChat ends an inserted @-mention with a four-per-em space (a typed one ends with a plain space)."""

_INVISIBLE = re.compile(
    "["
    "\u00ad"  # soft hyphen
    "\u034f"  # combining grapheme joiner
    "\u061c"  # Arabic letter mark
    "\u115f\u1160\u3164\uffa0"  # Hangul fillers (blank "letters")
    "\u17b4\u17b5"  # Khmer inherent vowels
    "\u180b-\u180f"  # Mongolian variation selectors and vowel separator
    "\u200b-\u200f"  # zero-width space, non-joiner, joiner; left-to-right and right-to-left marks
    "\u202a-\u202e"  # bidi embeddings and overrides
    "\u2060-\u2064"  # word joiner and invisible operators
    "\u2066-\u206f"  # bidi isolates and deprecated format characters
    "\ufe00-\ufe0f"  # variation selectors
    "\ufeff"  # byte order mark, zero-width no-break space
    "\ufff9-\ufffb"  # interlinear annotation
    "\U000e0000-\U000e007f"  # tags
    "\U000e0100-\U000e01ef"  # variation selectors supplement
    "]"
)
"""Characters that show as nothing: pasted text and some keyboards slip them into words (`提\u200b醒`)."""

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_BLANKS = re.compile(r"[^\S\n]+")
"""Runs of whitespace other than line breaks: NFKC already made odd spaces (ideographic, no-break, U+2005) plain."""

_TRAILING_STOP = re.compile(r"\A([A-Za-z0-9_]{1,16}|[\u3400-\u9fff\uf900-\ufaff]{1,4})[。．！？!?.]+\Z")
"""A lone command word followed by sentence punctuation: `帮助。`, `help!`, `ding?`. A Chinese word is at most four
characters: `周会是什么时候？` is a question, not a word, and keeps its question mark."""


def normalize(text: str) -> str:
    """Full-width and half-width alike (NFKC), case-insensitive, single spaces: the form for comparing."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def strip_invisible(text: str) -> str:
    """Without characters that show as nothing and control characters (line breaks and tabs stay)."""
    return _CONTROL.sub("", _INVISIBLE.sub("", text))


def tidy(text: str) -> str:
    """Invisible characters removed, NFKC (full-width letters and digits, odd spaces), single spaces per line,
    lines trimmed, line breaks unified."""
    text = unicodedata.normalize("NFKC", strip_invisible(text.replace("\r\n", "\n").replace("\r", "\n")))
    text = text.replace("\u2028", "\n").replace("\u2029", "\n")
    return "\n".join(_BLANKS.sub(" ", line).strip() for line in text.split("\n")).strip()


def mention_pattern(names: Iterable[str]) -> re.Pattern[str] | None:
    """`@<name>` ended by the mention separator, a space, a line break or the end, with the blanks after it.

    No space is needed before the `@`: Chinese text runs on (`你好@Bot\u2005在吗`). Longer names are tried first so
    `@Bot Helper` is not read as `@Bot` followed by `Helper`.
    """
    unique = sorted({name.strip() for name in names if name and name.strip()}, key=len, reverse=True)
    if not unique:
        return None
    alternatives = "|".join(re.escape(name) for name in unique)
    return re.compile(rf"[@＠](?:{alternatives})(?:[{MENTION_SEPARATOR} \t\u3000]+|(?=\r?\n)|\Z)")


def clean_body(text: str, bot_names: Iterable[str]) -> str:
    """What services match commands on: `tidy`, every @-mention of the bot removed (by any of its names, however
    often), and a trailing `。！？!?.` dropped after a lone word (`帮助？` is `帮助`).

    `bot_names` are the names the bot goes by in the conversation (its WeChat name, its room alias).
    """
    body = tidy(text)
    names = [tidy(name) for name in bot_names]
    pattern = mention_pattern(names)
    if pattern is not None:
        body = tidy(pattern.sub("", body))
    lone = _TRAILING_STOP.match(body)
    return lone.group(1) if lone else body
