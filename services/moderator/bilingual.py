"""A user-facing text in both languages; the plumbing picks one with ``ctx.lang``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Lang = Literal["zh", "en"]

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


@dataclass(frozen=True)
class Bilingual:
    """One reply, written in Chinese and in English."""

    zh: str
    en: str

    def in_(self, lang: Lang) -> str:
        """The text in ``lang``."""
        return self.zh if lang == "zh" else self.en


def language_of(text: str) -> Lang:
    """Chinese if the text has any Chinese character, else English (the contract's rule for commands)."""
    return "zh" if _CJK.search(text) else "en"
