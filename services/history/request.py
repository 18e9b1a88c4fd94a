"""What a summary request asks for: the stretch of time (`今天`, `最近2小时`, `刚才`, `last 3 hours`, `yesterday`,
`this week`, `最近50条`), and whether a message in plain words asks for a summary at all. Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from services.shared import Bilingual
from services.shared.text import normalize

_ZH_DIGITS = {
    "半": 0.5,
    "一": 1,
    "两": 2,
    "二": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
    "十": 10,
}
_NUMBER = (
    r"(\d+(?:\.\d+)?|[半一两二三四五六七八九十]+|an?|one|two|three|four|five|six|seven|eight|nine|ten|twelve)"
)
_EN_NUMBERS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "twelve": 12,
}  # fmt: skip
_UNITS = {
    "分钟": "minutes", "分": "minutes", "min": "minutes", "mins": "minutes", "minute": "minutes",
    "minutes": "minutes", "小时": "hours", "个小时": "hours", "钟头": "hours", "个钟头": "hours", "h": "hours",
    "hr": "hours", "hrs": "hours", "hour": "hours", "hours": "hours", "天": "days", "day": "days", "days": "days",
    "条": "messages", "条消息": "messages", "messages": "messages", "message": "messages", "msgs": "messages",
}  # fmt: skip
_AMOUNT = re.compile(
    _NUMBER
    + r"\s*(个小时|个钟头|条消息|分钟|小时|钟头|minutes|minute|messages|message|hours|hour|mins|min|msgs|hrs|hr|days|day|h|分|天|条)"
)


@dataclass(frozen=True)
class Stretch:
    since: datetime
    until: datetime
    label: Bilingual
    last_messages: int | None = None
    """Only the latest this many messages of the stretch (`最近50条`)."""


def _number(word: str) -> float | None:
    if word in _EN_NUMBERS:
        return _EN_NUMBERS[word]
    try:
        return float(word)
    except ValueError:
        pass
    if word == "十":
        return 10
    if len(word) == 2 and word[0] == "十":
        return 10 + _ZH_DIGITS.get(word[1], 0)
    if len(word) == 2 and word[1] == "十":
        return _ZH_DIGITS.get(word[0], 0) * 10
    return _ZH_DIGITS.get(word) if len(word) == 1 else None


def _midnight(now: datetime, zone: ZoneInfo, days_back: int = 0) -> datetime:
    local = now.astimezone(zone).date() - timedelta(days=days_back)
    return datetime.combine(local, time(0), zone)


def parse_stretch(  # noqa: PLR0911 - one return per kind of stretch reads best
    args: str, now: datetime, zone: ZoneInfo, retention: timedelta
) -> Stretch:
    """The stretch a summary covers; today when the words name none. Never longer than the retention."""
    text = normalize(args)
    earliest = now - retention
    if amount := _AMOUNT.search(text):
        value, unit = _number(amount.group(1)), _UNITS[amount.group(2)]
        if value and value > 0:
            if unit == "messages":
                count = max(1, min(int(value), 2000))
                return Stretch(
                    since=earliest,
                    until=now,
                    label=Bilingual(zh=f"最近 {count} 条", en=f"the last {count} messages"),
                    last_messages=count,
                )
            span = timedelta(**{unit: value})
            shown = f"{value:g}"
            zh_unit = {"minutes": "分钟", "hours": "小时", "days": "天"}[unit]
            en_unit = unit[:-1] if value == 1 else unit
            return Stretch(
                since=max(now - span, earliest),
                until=now,
                label=Bilingual(zh=f"最近{shown}{zh_unit}", en=f"the last {shown} {en_unit}"),
            )
    if re.search(r"昨天|昨日|yesterday", text):
        return Stretch(
            since=max(_midnight(now, zone, 1), earliest),
            until=_midnight(now, zone),
            label=Bilingual(zh="昨天", en="yesterday"),
        )
    if re.search(r"本周|这周|这个星期|这星期|this week|the week", text):
        local = now.astimezone(zone)
        return Stretch(
            since=max(_midnight(now, zone, local.weekday()), earliest),
            until=now,
            label=Bilingual(zh="本周", en="this week"),
        )
    if re.search(r"刚才|刚刚|前面|just now|recent|earlier|what did i miss|missed", text):
        return Stretch(
            since=max(now - timedelta(hours=1), earliest),
            until=now,
            label=Bilingual(zh="最近一小时", en="the last hour"),
        )
    if re.search(r"上午|morning", text):
        return Stretch(
            since=max(_midnight(now, zone), earliest),
            until=min(now, _midnight(now, zone) + timedelta(hours=12)),
            label=Bilingual(zh="今天上午", en="this morning"),
        )
    return Stretch(
        since=max(_midnight(now, zone), earliest), until=now, label=Bilingual(zh="今天", en="today")
    )


# -- does a message in plain words ask for a summary? ----------------------------------------------------------

_STRONG = re.compile(
    r"(聊|说|讨论|谈)了?(些)?(什么|啥|哪些)|错过了?(什么|啥|好多|哪些)|"
    r"(总结|概括|回顾|汇总|摘要)(一下|下)?.{0,6}(群聊|聊天|讨论|群里|刚才|刚刚|今天|最近|前面)|"
    r"(群聊|聊天|讨论|群里)(的)?(总结|概括|回顾|要点|摘要)|"
    r"^(帮我|帮忙|麻烦)?(简单)?(总结|概括|回顾)(一下|下)?[。!！]?$|"
    r"\b(summar(y|ize|ise)|recap|tl;?dr)\b.{0,30}\b(chat|today|hour|hours|morning|discussion|conversation|day|"
    r"here|room|group)\b|"
    r"\bcatch me up\b|\bwhat did (i|we) miss\b|\banything (important )?i missed\b|"
    r"\bwhat (did|have) (we|you guys|people|everyone|folks) (been )?(talk|discuss|chat|say)\w*\b|"
    r"\bwhat'?s been (going on|discussed|happening)\b|^(tl;?dr|recap|summar(y|ize|ise))\b"
)
_WEAK = re.compile(r"(总结|概括|回顾)一下|\b(summar(y|ize|ise)|recap)\b")
_NOT_ABOUT_CHAT = re.compile(r"报告|模板|会议?在|交|template|report|statistic|meeting|deadline")


def summary_confidence(body: str) -> float:
    """How surely a message addressed to the bot asks for a summary of the room's conversation (0 .. 1)."""
    text = normalize(body)
    if _STRONG.search(text):
        return 0.9
    if _WEAK.search(text) and not _NOT_ABOUT_CHAT.search(text):
        return 0.6
    return 0.0
