"""Make chat text safe to paste into GitHub Markdown.

Chat text must not ping GitHub users (`@alice`), cross-reference issues (`#12`, `org/repo#12`, `GH-12`) — each
would notify strangers or litter other issues' timelines — or inject HTML. We keep the text readable: a
zero-width joiner after `@`/`#` breaks GitHub's autolinker without changing what people see, and `& < >`
become entities that Markdown renders as the original characters.
"""

from __future__ import annotations

import re

ZWJ = "\u200d"

_HTML = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
# GitHub mentions: `@` not preceded by a word character, followed by a login or org/team.
# GitHub's word characters are ASCII, so `你好@alice` is a mention too.
_MENTION = re.compile(r"(?<![A-Za-z0-9_`])@(?=[A-Za-z0-9])")
# Issue references: `#12`, `owner/repo#12`, `GH-12`.
_ISSUE_REF = re.compile(r"#(?=\d)")
_GH_REF = re.compile(r"(?<![A-Za-z0-9_])(GH)-(?=\d)", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def neutralise(text: str) -> str:
    """Bilingual as people wrote it, minus mentions, issue links, HTML and control characters."""
    return _unlink(_CONTROL.sub("", text).translate(_HTML))


def plain_title(text: str) -> str:
    """An issue title: one line, no links. Titles are shown as plain text, so no HTML escaping."""
    return " ".join(_unlink(_CONTROL.sub("", text)).split())


def _unlink(text: str) -> str:
    text = _MENTION.sub("@" + ZWJ, text)
    text = _ISSUE_REF.sub("#" + ZWJ, text)
    return _GH_REF.sub(lambda match: match[1] + ZWJ + "-", text)


def neutralise_inline(text: str) -> str:
    """Like `neutralise`, for one-line contexts (names, titles): newlines become spaces."""
    return " ".join(neutralise(text).split())


def as_block_quote(text: str) -> str:
    """Every line prefixed with `> ` so Markdown shows the text as a quote, blank lines included."""
    return "\n".join(f"> {line}".rstrip() for line in text.splitlines() or [""])
