""" "Did you mean …": the live keywords closest to a message that starts with a mistyped one.

Members mistype keywords the way phones and input methods make them: a homophone picked from the candidate list
(`提型` for `提醒`, `帮主` for `帮助`), a near sound under the input method's fuzzy pinyin (`帮组`: z/zh), pinyin
left unconverted (`tixing`), or a slip of the fingers (`remnd`, `hepl`, `set langauge`). The message's start is
compared with every keyword:

- Chinese keywords (two characters or more) by their sound: the same syllables (toneless, any reading of a
  character), a fuzzy-pinyin neighbour, or, for four characters or more, one syllable more, less or different;
- other keywords (four letters or more) by edit distance with transpositions: one edit, two from eight letters on,
  spaces ignored; a word that is the keyword plus an ending (`deleted`, `helps`) is a real word, not a slip;
- unconverted pinyin against the sound of Chinese keywords.

The closer the match and the longer the keyword, the surer; what follows the keyword matters too: nothing at all
(`帮主`) makes it surer, a question (`帮主是谁？`) makes it a question for the services that answer questions.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache

from pypinyin import Style, lazy_pinyin, pinyin

from services.moderator.text_match import normalize

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_INFLECTIONS = ("s", "es", "d", "ed", "ing", "er", "ers", "ly", "ful")
_QUESTION = re.compile(
    r"[?？]|[吗呢么嘛]$|什么|为什么|怎么|怎样|如何|谁|哪|几|多少|是不是|有没有|能不能|可不可以|要不要"
    r"|\b(how|what|when|where|who|whom|why|which|whose|is|are|do|does|did|can|could|should|would|will)\b",
)
_FUZZY = (("zh", "z"), ("ch", "c"), ("sh", "s"), ("ang", "an"), ("eng", "en"), ("ing", "in"), ("l", "n"))


@dataclass(frozen=True)
class Keyword:
    """A keyword a member could mean, with what to say about it."""

    keyword: str
    command: str
    """The command's name (one suggestion per command)."""
    service: str
    usage_zh: str = ""
    usage_en: str = ""


@dataclass(frozen=True)
class Suggestion:
    keyword: Keyword
    confidence: float


def _is_cjk(text: str) -> bool:
    return bool(_CJK.search(text))


@cache
def _readings(char: str) -> frozenset[str]:
    """Every toneless pinyin reading of a character (the character itself when it has none)."""
    if not _CJK.match(char):
        return frozenset({char})
    return frozenset(pinyin(char, style=Style.NORMAL, heteronym=True)[0])


def _fuzzy(syllable: str) -> str:
    """The syllable as fuzzy-pinyin input methods treat it: zh=z, ch=c, sh=s, ang=an, eng=en, ing=in, l=n."""
    for full, short in _FUZZY[:3]:
        if syllable.startswith(full):
            syllable = short + syllable[len(full) :]
    for full, short in _FUZZY[3:6]:
        if syllable.endswith(full):
            syllable = syllable[: -len(full)] + short
    return "n" + syllable[1:] if syllable.startswith("l") else syllable


def _sounds_alike(a: str, b: str, *, fuzzy: bool) -> bool:
    ra, rb = _readings(a), _readings(b)
    if ra & rb:
        return True
    return fuzzy and bool({_fuzzy(s) for s in ra} & {_fuzzy(s) for s in rb})


def _syllable_distance(head: str, keyword: str) -> int:
    """Edit distance over characters, where characters that sound alike count as equal."""
    previous = list(range(len(keyword) + 1))
    for i, char in enumerate(head, start=1):
        current = [i]
        for j, other in enumerate(keyword, start=1):
            same = char == other or _sounds_alike(char, other, fuzzy=False)
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (0 if same else 1)))
        previous = current
    return previous[-1]


def edit_distance(a: str, b: str) -> int:
    """Damerau-Levenshtein (optimal string alignment): a swap of neighbours is one edit."""
    rows = [list(range(len(b) + 1))]
    for i in range(1, len(a) + 1):
        row = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            row[j] = min(rows[i - 1][j] + 1, row[j - 1] + 1, rows[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                row[j] = min(row[j], rows[i - 2][j - 2] + 1)
        rows.append(row)
    return rows[-1][-1]


def _chinese_match(text: str, keyword: str) -> tuple[float, str] | None:
    """(how sure, the rest of the message) when the text starts with something that sounds like `keyword`."""
    size = len(keyword)
    head = text[:size]
    if size < 2 or len(head) < size or head == keyword or " " in head or not _is_cjk(head):
        return None
    if all(_sounds_alike(a, b, fuzzy=False) for a, b in zip(head, keyword, strict=True)):
        return (0.7 if size == 2 else 0.8), text[size:]
    if all(_sounds_alike(a, b, fuzzy=True) for a, b in zip(head, keyword, strict=True)):
        return (0.6 if size == 2 else 0.7), text[size:]
    if size >= 4:  # long enough for one syllable more, less or different
        for length in (size - 1, size, size + 1):
            candidate = text[:length]
            if candidate != keyword and " " not in candidate and _syllable_distance(candidate, keyword) == 1:
                return 0.7, text[length:]
    return None


def _allowed_edits(letters: int) -> int:
    return 0 if letters < 4 else 1 if letters < 8 else 2


def _latin_match(text: str, keyword: str, sound: str) -> tuple[float, str] | None:
    """The same for a keyword in Latin letters, or for `sound`, the pinyin of a Chinese keyword typed as it is."""
    target = (sound or keyword).replace(" ", "")
    words = text.split(" ")
    spaces = keyword.count(" ")
    best: tuple[float, str] | None = None
    # A keyword of n words may have been typed as n - 1 (a space lost), n or n + 1 words (a space too many).
    for taken in {1} if sound else {max(1, spaces), spaces + 1, spaces + 2}:
        head = "".join(words[:taken])
        if not (head.isascii() and head.isalnum()) or " ".join(words[:taken]) == keyword:
            continue  # not a word; or the keyword itself (matched by the plumbing already, or not live)
        if abs(len(head) - len(target)) > _allowed_edits(len(target)):
            continue  # cheap: too different in length to be a slip
        sure = _latin_sureness(head, target, pinyin=bool(sound))
        if sure and (best is None or sure > best[0]):
            best = sure, " ".join(words[taken:])
    return best


def _latin_sureness(head: str, target: str, *, pinyin: bool) -> float:
    distance = edit_distance(head, target)
    if pinyin:
        return 0.8 if distance == 0 and len(target) >= 5 else 0.0
    if distance == 0:
        return 0.8  # spacing only: `forgetme`, `set time zone`
    if distance > _allowed_edits(len(target)) or _inflected(head, target):
        return 0.0
    if distance == 2:
        return 0.65
    return 0.6 if len(target) < 5 else 0.7 if len(target) < 8 else 0.8


def _inflected(head: str, target: str) -> bool:
    return any(head == target + ending or head + ending == target for ending in _INFLECTIONS)


@cache
def _sound_of(keyword: str) -> str:
    return "".join(lazy_pinyin(keyword, style=Style.NORMAL)) if _is_cjk(keyword) and len(keyword) >= 2 else ""


def _adjusted(sure: float, rest: str) -> float:
    rest = rest.strip(" ,，:：")
    if not rest:
        return min(0.9, sure + 0.1)
    if _QUESTION.search(rest):
        # `帮主是谁？`: a question, for the services that answer questions, unless the keyword matched is long
        # (a question seldom starts with a homophone of `添加问答`; its arguments may well hold one).
        return sure * (0.7 if sure >= 0.8 else 0.4)
    if len(rest) > 40:
        return sure * 0.8
    return sure


def suggestions(body: str, keywords: Iterable[Keyword], *, limit: int = 2) -> list[Suggestion]:
    """The keywords the body most likely meant, surest first, one per command (none: nothing is close)."""
    text = unicodedata.normalize("NFKC", normalize(body))
    if not text:
        return []
    found: dict[tuple[str, str], Suggestion] = {}
    for entry in keywords:
        keyword = normalize(entry.keyword)
        if _is_cjk(keyword):
            match = _chinese_match(text, keyword)
            sound = _sound_of(keyword)
            if match is None and sound and text[:1].isascii():
                match = _latin_match(text, keyword, sound)
        else:
            match = _latin_match(text, keyword, "") if len(keyword.replace(" ", "")) >= 4 else None
        if match is None:
            continue
        confidence = round(_adjusted(*match), 3)
        key = (entry.service, entry.command)
        if key not in found or confidence > found[key].confidence:
            found[key] = Suggestion(entry, confidence)
    ranked = sorted(found.values(), key=lambda s: (-s.confidence, -len(s.keyword.keyword), s.keyword.keyword))
    return ranked[:limit]


def best(found: Sequence[Suggestion]) -> float:
    """How sure the best suggestion is (0 when there is none)."""
    return found[0].confidence if found else 0.0
