"""Make chat text safe to paste into GitHub Markdown.

Chat text must not ping GitHub users (`@alice`), cross-reference issues (`#12`, `org/repo#12`, `GH-12`, a link to
an issue or pull request) — each would notify strangers or litter other issues' timelines — load remote images
(GitHub fetches them, telling their host who reads the issue), or inject HTML. Links stay links. We keep the text
readable: a zero-width joiner after `@`/`#` breaks GitHub's autolinker without changing what people see; `& < >`
become entities that Markdown renders as the original characters; `![…](…)` becomes an ordinary link (`\\!` is
shown as `!`); `<img src=…>` becomes its address; a link to an issue or pull request is shown as code.
"""

from __future__ import annotations

import re

ZWJ = "\u200d"

_HTML = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
# GitHub mentions: `@` followed by a login or org/team, unless an e-mail address (a letter or digit before `@`).
# GitHub's word characters are ASCII, so `你好@alice` is a mention too.
_MENTION = re.compile(r"(?<![A-Za-z0-9])@(?=[A-Za-z0-9])")
# Issue references: `#12`, `owner/repo#12`, `GH-12`.
_ISSUE_REF = re.compile(r"#(?=\d)")
_GH_REF = re.compile(r"(?<![A-Za-z0-9_])(GH)-(?=\d)", re.IGNORECASE)
# Control characters (newline and tab stay) and bidirectional overrides and isolates.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u202a-\u202e\u2066-\u2069]")
# A web address as GitHub's autolinker sees one; trailing punctuation is the sentence's, not the address's.
_URL = re.compile(r"(?:https?://|www\.)[^\s<>\"'`\[\]()]+", re.IGNORECASE)
_TRAILING = ".,;:!?*_~"
# An address GitHub turns into a cross-reference: an issue, pull request or discussion, on any host (Enterprise).
_ITEM_URL = re.compile(
    r"(?:https?://|www\.)[^/\s]+/[^/\s]+/[^/\s]+/(?:issues|pull|pulls|discussions)/\d", re.IGNORECASE
)
_IMG_TAG = re.compile(r"<img\b[^>]*?\bsrc\s*=\s*[\"']?([^\"'\s>]+)[\"']?[^>]*>", re.IGNORECASE)


def neutralise(text: str) -> str:
    """As people wrote it, links kept, minus mentions, issue references, images, HTML and control characters."""
    text = _IMG_TAG.sub(lambda match: f" {match[1]} ", _CONTROL.sub("", text))
    parts: list[str] = []
    position = 0
    for found in _URL.finditer(text):
        url = found[0].rstrip(_TRAILING)
        parts.append(_prose(text[position : found.start()]))
        parts.append(f"`{url}`" if _ITEM_URL.match(url) else url)
        position = found.start() + len(url)
    parts.append(_prose(text[position:]))
    return "".join(parts)


def _prose(text: str) -> str:
    return _unlink(text.translate(_HTML)).replace("![", "\\![")


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
