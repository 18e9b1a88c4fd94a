"""Matching chat commands on a message body, and choosing the reply language. Pure functions."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from schemas import ChatCommand
from services.shared.text import normalize

Lang = Literal["zh", "en"]

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


@dataclass(frozen=True)
class Bilingual:
    """One user-facing text, in Chinese and in English; `ctx.reply(text)` picks by the command's language."""

    zh: str
    en: str

    def pick(self, lang: Lang) -> str:
        return self.en if lang == "en" else self.zh


_LATIN = re.compile(r"[A-Za-z]")


def language_of(text: str) -> Lang:
    """Chinese if the text has any Chinese character; English if it has Latin letters; else (a bare mention, an
    emoji, digits) Chinese, the product's first language."""
    return "en" if not _CJK.search(text) and _LATIN.search(text) else "zh"


def _is_word_char(char: str) -> bool:
    return char.isalnum() and not _CJK.match(char)


@dataclass(frozen=True)
class Match:
    command: ChatCommand
    keyword: str
    args: str
    """The body after the keyword, stripped, with its original spelling."""


class CommandMatcher:
    """Matches bodies against a fixed set of commands; keywords are normalised and ordered once."""

    def __init__(self, commands: Iterable[ChatCommand]) -> None:
        self._candidates = sorted(
            ((normalize(keyword), keyword, command) for command in commands for keyword in command.keywords),
            key=lambda item: len(item[0]),
            reverse=True,
        )

    def match(self, body: str) -> Match | None:
        """The command whose keyword the body starts with; the longest keyword wins (`提醒列表` before `提醒`).

        An ASCII keyword must end at a word boundary (`tag` does not match `tags`); a Chinese one need not
        (`提醒明天9点` is `提醒` + `明天9点`).
        """
        normalized = normalize(body)
        for key, keyword, command in self._candidates:
            if not key or not normalized.startswith(key):
                continue
            rest = normalized[len(key) :]
            if rest and _is_word_char(key[-1]) and _is_word_char(rest[0]):
                continue
            return Match(command=command, keyword=keyword, args=_strip_prefix(body, len(key)))
        return None


def match_command(body: str, commands: Iterable[ChatCommand]) -> Match | None:
    return CommandMatcher(commands).match(body)


def _strip_prefix(body: str, normalized_length: int) -> str:
    """Cut the keyword off the original body (NFKC may change lengths, so walk the original)."""
    consumed, index = 0, 0
    stripped = body.lstrip()
    while index < len(stripped) and consumed < normalized_length:
        piece = normalize(stripped[: index + 1])
        consumed = len(piece)
        index += 1
    return stripped[index:].strip(" \t\n:：,，")


def duplicate_keywords(services: Sequence[tuple[str, Sequence[ChatCommand]]]) -> dict[str, list[str]]:
    """Keywords claimed by more than one service (or twice by one): {keyword: [service, ...]}."""
    owners: dict[str, list[str]] = {}
    for service, commands in services:
        for command in commands:
            for keyword in command.keywords:
                owners.setdefault(normalize(keyword), []).append(service)
    return {keyword: names for keyword, names in owners.items() if len(names) > 1}
