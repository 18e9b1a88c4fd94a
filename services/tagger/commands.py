"""Parsing the tagger's chat commands. Pure functions: text in, a typed request or a helpful error out.

The plumbing has already cut the leading keyword (标记 / tag / # / 问 ...) off the body; these functions read the
rest. `question_of` also looks at the body, only to tell whether the `问` the dispatcher matched was a keyword at all:
glued to a word (`问题是…`) it is the start of a plain question.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from services.shared import Bilingual
from services.shared.numbers import parse_cn_int
from services.shared.text import normalize
from services.tagger.text import STOPWORDS_ZH

MAX_KEYWORDS = 10
MAX_KEYWORD_LENGTH = 30

_NUMBER = r"(\d+|[一二两三四五六七八九十]{1,3})"
_DATE = r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
_ZH_UNITS = {"天": 1, "日": 1, "周": 7, "星期": 7, "个月": 30, "月": 30, "年": 365}
_EN_UNITS = {"day": 1, "week": 7, "month": 30, "year": 365}

_ZH_VALIDITY = re.compile(
    r"有效期?\s*(?:[:：为是至到]\s*)*(?:" + _DATE + r"|" + _NUMBER + r"\s*(个月|星期|天|日|周|月|年|小时))"
)
_ZH_VALIDITY_WORD = re.compile(r"有效期?")
_EN_FOR = re.compile(r"\b(?:valid\s+)?for\s+(\d+)\s+(day|week|month|year|hour)s?\b", re.IGNORECASE)
_EN_UNTIL = re.compile(r"\b(?:valid\s+)?(?:until|till|expires?(?:\s+on)?)\s+" + _DATE, re.IGNORECASE)
_EN_VALIDITY_WORD = re.compile(r"\b(?:until|till|expires?|valid\s+for)\b", re.IGNORECASE)
_KEYWORD_SPLIT = re.compile(r"[\s,，、;；#＃]+")

# 问 followed by these is a word (问题, 问候, 问答, 问卷, 问号), not the ask keyword; the dispatcher cannot tell.
_ASK_WORD = re.compile(r"^\s*问[题候答卷号]")
_PAGE = re.compile(r"^(?:第\s*(\d+)\s*页|page\s*(\d+)|p(\d+)|(\d+))$", re.IGNORECASE)
_RECENT = re.compile(
    r"^(?:最近|近|过去)\s*" + _NUMBER + r"\s*天$|^(?:last|past)\s+(\d+)\s+days?$", re.IGNORECASE
)
_RANGE = re.compile(
    r"^(从|from|since)?\s*" + _DATE + r"(?:(?:\s*(?:~|-|—|到|至|to|until|\.\.)\s*|\s+)" + _DATE + r")?$",
    re.IGNORECASE,
)
_TAG_ID = re.compile(r"^[#＃]?\s*(\d{1,9})\s*号?$")


@dataclass(frozen=True)
class ParseError(Bilingual):
    """A reply explaining what was wrong and how to say it, in both languages."""


@dataclass(frozen=True)
class TagRequest:
    keywords: tuple[str, ...]
    expires_at: datetime | None  # None: kept until deleted


@dataclass(frozen=True)
class BrowseRequest:
    keyword: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    page: int = 1


def _end_of_day(year: str, month: str, day: str, zone: ZoneInfo) -> datetime | None:
    try:
        last_day = date(int(year), int(month), int(day))
    except ValueError:
        return None
    return datetime.combine(last_day + timedelta(days=1), time(), tzinfo=zone)


def _start_of_day(year: str, month: str, day: str, zone: ZoneInfo) -> datetime | None:
    try:
        return datetime.combine(date(int(year), int(month), int(day)), time(), tzinfo=zone)
    except ValueError:
        return None


_VALIDITY_HELP = ParseError(
    zh="有效期没看懂。可以写「有效期 3天」「有效期 2周」或「有效期 2026-12-31」。",
    en="I could not read the validity. Try 'for 3 days', 'for 2 weeks' or 'until 2026-12-31'.",
)
_PAST_HELP = ParseError(
    zh="这个有效期已经过去了，请给一个将来的日期。", en="That date has already passed; give a future date."
)


def _validity(  # noqa: PLR0911 - one return per accepted form reads better than threading a result through
    text: str, now: datetime, zone: ZoneInfo
) -> tuple[datetime | None, str] | ParseError:
    """(expiry, text with the validity phrase removed), or an error if a validity phrase is there but unreadable."""
    if match := _ZH_VALIDITY.search(text):
        year, month, day, amount, unit = match.groups()
        if year:
            expires = _end_of_day(year, month, day, zone)
            if expires is None:
                return _VALIDITY_HELP
        else:
            count = parse_cn_int(amount)
            if count <= 0:
                return _VALIDITY_HELP
            expires = now + (
                timedelta(hours=count) if unit == "小时" else timedelta(days=count * _ZH_UNITS[unit])
            )
        rest = text[: match.start()] + " " + text[match.end() :]
    elif match := _EN_FOR.search(text):
        count, unit = int(match.group(1)), match.group(2).lower()
        if count <= 0:
            return _VALIDITY_HELP
        expires = now + (
            timedelta(hours=count) if unit == "hour" else timedelta(days=count * _EN_UNITS[unit])
        )
        rest = text[: match.start()] + " " + text[match.end() :]
    elif match := _EN_UNTIL.search(text):
        year, month, day = match.groups()
        expires = _end_of_day(year, month, day, zone)
        if expires is None:
            return _VALIDITY_HELP
        rest = text[: match.start()] + " " + text[match.end() :]
    elif _ZH_VALIDITY_WORD.search(text) or _EN_VALIDITY_WORD.search(text):
        return _VALIDITY_HELP
    else:
        return None, text
    if expires <= now:
        return _PAST_HELP
    return expires, rest


def keywords_of(text: str) -> tuple[str, ...]:
    """Keywords as the tagger typed them: split on spaces, commas, 、 and #; filler words (一下) dropped."""
    found: list[str] = []
    for raw in _KEYWORD_SPLIT.split(text):
        word = raw.strip(" .。!！:：")
        if not word or word in STOPWORDS_ZH or normalize(word) in found:
            continue
        found.append(normalize(word)[:MAX_KEYWORD_LENGTH])
    return tuple(found[:MAX_KEYWORDS])


def parse_tag(args: str, now: datetime, zone: ZoneInfo) -> TagRequest | ParseError:
    """`标记 发布 有效期 3天` → keywords (发布,), expiry now + 3 days. Keywords are optional."""
    validity = _validity(args, now, zone)
    if isinstance(validity, ParseError):
        return validity
    expires_at, rest = validity
    return TagRequest(keywords=keywords_of(rest), expires_at=expires_at)


def question_of(args: str, body: str) -> str:
    """The question of an ask command: the dispatcher's `args` (what follows 问 / ask / ? / ？), unless the 问 it
    matched begins a word (`问题是…`): then there was no keyword and the whole body is the question."""
    if _ASK_WORD.match(body):
        return body.strip()
    return args.strip()


def parse_browse(  # noqa: PLR0911 - one return per accepted form
    args: str, now: datetime, zone: ZoneInfo
) -> BrowseRequest | ParseError:
    """`浏览`, `浏览 2` (page), `浏览 最近7天`, `tags 2026-11-01 2026-11-30`, `浏览 聚会` (keyword)."""
    text = normalize(args)
    if not text:
        return BrowseRequest()
    if page_match := _PAGE.match(text):
        return BrowseRequest(page=max(1, int(next(group for group in page_match.groups() if group))))
    page = 1
    words = text.split(" ")
    if len(words) > 1 and (page_match := _PAGE.match(words[-1])):
        page = max(1, int(next(group for group in page_match.groups() if group)))
        text = " ".join(words[:-1])
    if recent := _RECENT.match(text):
        days = parse_cn_int(recent.group(1) or recent.group(2))
        if days <= 0:
            return ParseError(zh="天数要大于 0。", en="The number of days must be above 0.")
        return BrowseRequest(since=now - timedelta(days=days), page=page)
    if span := _RANGE.match(text):
        open_ended, y1, m1, d1, y2, m2, d2 = span.groups()
        since = _start_of_day(y1, m1, d1, zone)
        # one date alone is that day; "since <date>" runs to now
        until = _end_of_day(y2, m2, d2, zone) if y2 else None if open_ended else _end_of_day(y1, m1, d1, zone)
        if since is None or (until is not None and until <= since) or (y2 and until is None):
            return ParseError(
                zh="日期范围没看懂，例如「浏览 2026-11-01 2026-11-30」。",
                en="I could not read the dates; e.g. 'tags 2026-11-01 2026-11-30'.",
            )
        return BrowseRequest(since=since, until=until, page=page)
    return BrowseRequest(keyword=text.lstrip("#"), page=page)


def parse_delete(args: str) -> str | ParseError:
    """`删除 12`, `delete #12` → "12"."""
    if match := _TAG_ID.match(normalize(args)):
        return str(int(match.group(1)))
    return ParseError(
        zh="请写要删除的编号，例如「删除 12」（编号见标记时的确认或「浏览」）。",
        en="Give the id to delete, e.g. 'delete 12' (ids are in the tag confirmation or in 'tags').",
    )


# Asking the bot to keep a quoted message in plain words: a verb of keeping, an optional object ("this one"),
# politeness around it. 记一下 / 帮我记住 / 收藏这条 / 存一下 / 记下来 / save this / remember this one / bookmark that.
_KEEP_ZH = re.compile(
    r"^(?:请|麻烦|帮忙|帮我|给我|替我|你)*\s*(?:记一下|记下来|记下|记住|记着|记录一下|记录|收藏|保存|存一下|存下来|存下|存着|"
    r"留着|备忘|记)\s*(?:一下|下来|下)?\s*(?:这条|这个|这句|这句话|这条消息|它|吧|哈|啊|呀|哦)*\s*$"
)
_KEEP_EN = re.compile(
    r"^(?:please\s+|pls\s+|can you\s+|could you\s+)*(?:save|remember|keep|bookmark|note|pin|store|memori[sz]e)"
    r"(?:\s+(?:this|that|it)(?:\s+(?:one|message|msg))?)?(?:\s+(?:for later|please|pls))*\s*$",
    re.IGNORECASE,
)


def keep_phrase_confidence(body: str, *, quoted: bool) -> float:
    """How surely a message addressed to the bot asks it to keep the quoted message (0 without a quote)."""
    if not quoted:
        return 0.0
    text = normalize(body).strip(" .。!！~～")
    if _KEEP_ZH.match(text) or _KEEP_EN.match(text):
        return 0.9
    return 0.0


def tag_number(args: str) -> int | None:
    """`标记 3` without a quote: the number of an unanswered question (from the history service's list)."""
    match = _TAG_ID.match(normalize(args))
    return int(match.group(1)) if match else None


_FAQ_PAIR = re.compile(
    r"^\s*(?:问|q|question)\s*[:：]\s*(?P<q>.+?)\s*(?:答|a|answer)\s*[:：]\s*(?P<a>.+?)\s*$",
    re.IGNORECASE | re.DOTALL,
)


def parse_faq_pair(args: str) -> tuple[str, str] | None:
    """`问：周会几点？ 答：周四晚8点` / `Q: when is the meeting? A: Thursday 8pm` → (question, answer)."""
    match = _FAQ_PAIR.match(args)
    if match is None:
        return None
    question, answer = match.group("q").strip(), match.group("a").strip()
    return (question, answer) if question and answer else None
