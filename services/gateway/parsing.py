"""Parsing WeChat message text once, for every service: quoted replies, the bot's @-mention, the cleaned body.

Pure functions over plain strings; the gateway feeds them the raw text and the names the bot goes by.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from services.shared.text import MENTION_SEPARATOR, clean_body, mention_pattern, strip_invisible, tidy

__all__ = [
    "MENTION_SEPARATOR",
    "ParsedText",
    "QuotedReply",
    "mentions_of",
    "parse_text",
    "render_mentions",
    "split_quote",
]

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


def mentions_of(text: str, names: Iterable[str]) -> int:
    """How many times the text @-mentions one of these names (invisible characters and odd widths aside)."""
    pattern = mention_pattern(tidy(name) for name in names)
    return 0 if pattern is None else len(pattern.findall(tidy(text)))


@dataclass(frozen=True)
class ParsedText:
    """What services need from a message's text."""

    text: str
    """As shown in WeChat, with any quote block removed."""
    body: str
    """`text` cleaned once for every service (`services.shared.text.clean_body`): no invisible characters, NFKC,
    single spaces, no @-mention of the bot, no `。！？` after a lone command word. Commands are matched on it."""
    quote: QuotedReply | None
    mentions_bot: bool
    """The text @-mentions the bot by one of its names (WeChat's mention ids may still say more)."""


def parse_text(raw: str, bot_names: Iterable[str]) -> ParsedText:
    """Split the quote off and strip the bot's mention.

    `bot_names` are every name the bot may be mentioned by in this conversation: its WeChat name and its
    alias in the room (WeChat inserts the room alias when one is set).
    """
    names = [name for name in bot_names if name]
    quote = split_quote(raw) or split_quote(strip_invisible(raw))
    text = quote.reply if quote is not None else raw
    return ParsedText(
        text=text,
        body=clean_body(text, names),
        quote=quote,
        mentions_bot=mentions_of(text, names) > 0,
    )


def render_mentions(names: Iterable[str], text: str) -> str:
    """`@Alice\u2005@Bob\u2005text` — how WeChat shows a message that mentions people."""
    prefix = "".join(f"@{name}{MENTION_SEPARATOR}" for name in names if name)
    return f"{prefix}{text}"
