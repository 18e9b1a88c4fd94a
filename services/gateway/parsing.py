"""Parsing WeChat message text once, for every service: quoted replies and the bot's @-mention.

Pure functions over plain strings; the gateway feeds them the raw text and the names the bot goes by.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

MENTION_SEPARATOR = "\u2005"
"""WeChat ends an inserted @-mention with a four-per-em space (a typed one ends with a plain space)."""

# The separator line between the quote and the reply: `- - - - - - - - - - - - - - -` (current clients)
# or `------` (older ones). Three dashes at least, single spaces allowed between them.
_SEPARATOR = r"[ \t]*-(?:[ ]?-){2,}[ \t]*"

# `「Name：text」` — current clients; the text may span lines, the colon is full-width (half-width seen too).
_BRACKET_QUOTE = re.compile(
    rf"\A「(?P<name>[^：:\n」]+)[：:](?P<text>.*?)」[ \t]*\r?\n{_SEPARATOR}(?:\r?\n(?P<reply>.*))?\Z",
    re.DOTALL,
)
# `"Name: text"` — older clients, straight or curly double quotes.
_DOUBLE_QUOTE = re.compile(
    rf"\A[\"“](?P<name>[^：:\n\"”]+)[：:](?P<text>.*?)[\"”][ \t]*\r?\n{_SEPARATOR}(?:\r?\n(?P<reply>.*))?\Z",
    re.DOTALL,
)


@dataclass(frozen=True)
class QuotedReply:
    """A message split into the quoted part and the reply itself."""

    talker_name: str
    quoted_text: str
    reply: str


def split_quote(raw: str) -> QuotedReply | None:
    """The quote block of a quoted reply, or None when the text quotes nothing."""
    for pattern in (_BRACKET_QUOTE, _DOUBLE_QUOTE):
        found = pattern.match(raw)
        if found:
            return QuotedReply(
                talker_name=found["name"].strip(),
                quoted_text=found["text"].strip(),
                reply=found["reply"] or "",
            )
    return None


def _mention_pattern(names: Iterable[str]) -> re.Pattern[str] | None:
    """`@<name>` ended by the mention separator, a space, a line break or the end, with the blanks after it.

    No space is needed before the `@`: Chinese text runs on (`你好@Bot\u2005在吗`). Longer names are tried
    first so `@Bot Helper` is not read as `@Bot` followed by `Helper`.
    """
    unique = sorted({name.strip() for name in names if name and name.strip()}, key=len, reverse=True)
    if not unique:
        return None
    alternatives = "|".join(re.escape(name) for name in unique)
    return re.compile(rf"@(?:{alternatives})(?:[{MENTION_SEPARATOR} \t]+|(?=\r?\n)|\Z)")


def mentions_of(text: str, names: Iterable[str]) -> int:
    """How many times the text @-mentions one of these names."""
    pattern = _mention_pattern(names)
    return 0 if pattern is None else len(pattern.findall(text))


def strip_mentions(text: str, names: Iterable[str]) -> str:
    """The text without @-mentions of these names, trimmed.

    A mention takes the blanks after it along, so `please @Bot do it` reads `please do it`.
    """
    pattern = _mention_pattern(names)
    stripped = text if pattern is None else pattern.sub("", text)
    return stripped.strip(f" \t\r\n{MENTION_SEPARATOR}")


@dataclass(frozen=True)
class ParsedText:
    """What services need from a message's text."""

    text: str
    """As shown in WeChat, with any quote block removed."""
    body: str
    """`text` without the bot's @-mention, trimmed. Commands are matched on it."""
    quote: QuotedReply | None
    mentions_bot: bool
    """The text @-mentions the bot by one of its names (WeChat's mention ids may still say more)."""


def parse_text(raw: str, bot_names: Iterable[str]) -> ParsedText:
    """Split the quote off and strip the bot's mention.

    `bot_names` are every name the bot may be mentioned by in this conversation: its WeChat name and its
    alias in the room (WeChat inserts the room alias when one is set).
    """
    names = [name for name in bot_names if name]
    quote = split_quote(raw)
    text = quote.reply if quote is not None else raw
    return ParsedText(
        text=text,
        body=strip_mentions(text, names),
        quote=quote,
        mentions_bot=mentions_of(text, names) > 0,
    )


def render_mentions(names: Iterable[str], text: str) -> str:
    """`@Alice\u2005@Bob\u2005text` — how WeChat shows a message that mentions people."""
    prefix = "".join(f"@{name}{MENTION_SEPARATOR}" for name in names if name)
    return f"{prefix}{text}"
