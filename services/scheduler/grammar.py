"""The pieces of a time expression, in Chinese and English, as regexes that each fill slots of a `TimeSpec`.

Both languages live in one table so that mixed input ("周五 at 5pm") works. The input is already NFKC-normalised
and lower-cased by the caller, so full-width digits and colons need no special cases here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from services.scheduler.recurrence import WORKDAYS, Frequency
from services.scheduler.timespec import Clock, DateRef, DayOffset, Fill, Period, Repeat, WeekdayRef, WeekMode
from services.shared.numbers import CN_NUMBER, EN_NUMBER, parse_cn_int, parse_en_number


class InvalidTimeError(ValueError):
    """A piece that is clearly meant as a time but names an impossible one (25点, 13月, 9:75)."""

    piece: str = ""
    """The text of the piece, once the scanner knows it."""
    start: int = 0
    end: int = 0
    """Where the piece stands in the scanned text, once the scanner knows it."""


class NotThisPieceError(Exception):
    """The regex matched but the builder sees it is not this piece (the scanner just tries the others)."""


class NeedsContextError(Exception):
    """A piece that is a time only next to other time pieces: 一点 alone is "a little" (早一点, 一点点), but
    下午一点 and 明天一点 are one o'clock. The scanner accepts it only after another piece."""

    def __init__(self, fill: Fill) -> None:
        super().__init__("needs context")
        self.fill = fill


@dataclass(frozen=True)
class Piece:
    pattern: re.Pattern[str]
    build: Callable[[re.Match[str]], Fill]


PIECES: list[Piece] = []


def piece(pattern: str) -> Callable[[Callable[[re.Match[str]], Fill]], Callable[[re.Match[str]], Fill]]:
    def register(build: Callable[[re.Match[str]], Fill]) -> Callable[[re.Match[str]], Fill]:
        PIECES.append(Piece(re.compile(pattern, re.IGNORECASE), build))
        return build

    return register


# Numbers in a time are short: bounded repeats keep a long run of digits from making every scan quadratic.
N = CN_NUMBER.replace("]+", "]{1,6}")
EN = EN_NUMBER.replace(r"\d+(?:\.\d+)?", r"\d{1,6}(?:\.\d{1,3})?")
AFTER = "(?:后|以后|之后)"
WEEK = "(?:周|星期|礼拜)"
CN_WEEKDAY = "[一二三四五六日天七]"
_CN_WEEKDAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6, "七": 6}
EN_WEEKDAY = r"(?:mon(?:day)?|tue(?:s(?:day)?)?|wed(?:nesday)?|thu(?:r(?:s(?:day)?)?)?|fri(?:day)?|sat(?:urday)?|sun(?:day)?)s?"
_EN_WEEKDAYS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}
EN_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?"
    r"|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_EN_MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
ORDINAL = r"(?:st|nd|rd|th)"
_NOT_A_CLOCK = r"(?![0-9零〇一二两三四五六七八九十]*[点时:])"
"""After a weekday in a list: "每周四三点" is Thursday at 3, not Thursday and Wednesday."""

# A list of Chinese weekdays after 每周 / 每两周: 一三五, 一、三, 一到五, 周一至周五.
CN_WEEKDAY_LIST = (
    rf"(?:{WEEK}?(?:{CN_WEEKDAY}|[1-7](?![0-9点时:]))(?:(?:到|至|-|~){WEEK}?{CN_WEEKDAY})?)"
    rf"(?:[、,和及与]?(?:{WEEK}(?:{CN_WEEKDAY}|[1-7])|{CN_WEEKDAY}{_NOT_A_CLOCK}))*"
)
EN_WEEKDAY_LIST = rf"{EN_WEEKDAY}(?:\s*(?:,|and|&|/|to|through|-)\s*(?:and\s+)?{EN_WEEKDAY})*"


def _cn_weekdays(text: str) -> tuple[int, ...]:
    """'一三五' -> (0, 2, 4); '周一到周五' -> (0..4); digits 1..7 count Monday as 1."""
    days: list[int] = []
    tokens = re.findall(rf"{CN_WEEKDAY}|[1-7]|到|至|-|~", re.sub(WEEK, "", text))
    index = 0
    while index < len(tokens):
        day = _cn_weekday(tokens[index])
        if index + 2 < len(tokens) and tokens[index + 1] in "到至-~":
            days.extend(_day_range(day, _cn_weekday(tokens[index + 2])))
            index += 3
        else:
            days.append(day)
            index += 1
    return tuple(sorted(set(days)))


def _cn_weekday(token: str) -> int:
    return int(token) - 1 if token.isdigit() else _CN_WEEKDAYS[token]


def _en_weekdays(text: str) -> tuple[int, ...]:
    names = re.findall(r"[a-z]+|-", text.lower())
    days: list[int] = []
    index = 0
    words = [word for word in names if word[:3] in _EN_WEEKDAYS or word in {"to", "through", "-"}]
    while index < len(words):
        day = _EN_WEEKDAYS[words[index][:3]]
        if index + 2 < len(words) and words[index + 1] in {"to", "through", "-"}:
            days.extend(_day_range(day, _EN_WEEKDAYS[words[index + 2][:3]]))
            index += 3
        else:
            days.append(day)
            index += 1
    return tuple(sorted(set(days)))


def _day_range(first: int, last: int) -> list[int]:
    if last < first:
        raise InvalidTimeError("weekday range runs backwards")
    return list(range(first, last + 1))


def _number(match: re.Match[str], group: str) -> int | None:
    text = match.group(group)
    return None if text is None else parse_cn_int(text)


# ---------------------------------------------------------------- Chinese: repeats


@piece(r"每天|每日|天天|每一天")
def _zh_daily(match: re.Match[str]) -> Fill:
    return Fill(repeat=Repeat(Frequency.DAILY))


@piece(rf"每(?:隔)?(?P<n>{N})天")
def _zh_every_n_days(match: re.Match[str]) -> Fill:
    return Fill(repeat=Repeat(Frequency.DAILY, interval=_interval(_number(match, "n"))))


@piece(r"每个?工作日|工作日(?:每天)?|每逢工作日|每周工作日")
def _zh_workdays(match: re.Match[str]) -> Fill:
    return Fill(repeat=Repeat(Frequency.WEEKLY, weekdays=WORKDAYS, workdays=True))


@piece(
    rf"(?:每(?:(?P<n>[0-9两二三四五六七八九十]+)个?)?{WEEK}|(?P<other>隔周))的?(?P<days>{CN_WEEKDAY_LIST})?"
)
def _zh_weekly(match: re.Match[str]) -> Fill:
    interval = 2 if match.group("other") else _interval(_number(match, "n"))
    days = _cn_weekdays(match.group("days")) if match.group("days") else ()
    return Fill(repeat=Repeat(Frequency.WEEKLY, weekdays=days, interval=interval))


@piece(rf"{WEEK}(?P<first>{CN_WEEKDAY})(?:到|至|-|~){WEEK}?(?P<last>{CN_WEEKDAY})(?:每天)?")
def _zh_weekday_range(match: re.Match[str]) -> Fill:
    days = _day_range(_cn_weekday(match.group("first")), _cn_weekday(match.group("last")))
    return Fill(repeat=Repeat(Frequency.WEEKLY, weekdays=tuple(days)))


@piece(
    rf"每(?:(?P<n>[0-9两二三四五六七八九十]+)个|个)?月的?(?:(?P<day>{N})(?:号|日)|(?P<last>最后一天|月底|月末))"
)
def _zh_monthly(match: re.Match[str]) -> Fill:
    day = 31 if match.group("last") else _month_day(_number(match, "day"))
    return Fill(repeat=Repeat(Frequency.MONTHLY, month_day=day, interval=_interval(_number(match, "n"))))


# ---------------------------------------------------------------- Chinese: days


_ZH_DAYS: dict[str, tuple[int, Period | None]] = {
    "今天": (0, None),
    "今日": (0, None),
    "今儿": (0, None),
    "今早": (0, Period.MORNING),
    "今晚": (0, Period.EVENING),
    "今夜": (0, Period.EVENING),
    "明天": (1, None),
    "明日": (1, None),
    "明儿": (1, None),
    "明早": (1, Period.MORNING),
    "明晚": (1, Period.EVENING),
    "后天": (2, None),
    "大后天": (3, None),
    "昨天": (-1, None),
}


@piece("|".join(sorted(_ZH_DAYS, key=len, reverse=True)))
def _zh_named_day(match: re.Match[str]) -> Fill:
    days, period = _ZH_DAYS[match.group()]
    return Fill(day=DayOffset(days), period=period)


@piece(rf"(?P<n>{N})(?P<unit>天|个?{WEEK}){AFTER}")
def _zh_days_later(match: re.Match[str]) -> Fill:
    count = parse_cn_int(match.group("n"))
    return Fill(day=DayOffset(count if match.group("unit") == "天" else 7 * count, relative=True))


_ZH_WEEK_MODES: dict[str, WeekMode] = {
    "": "upcoming",
    "这": "this_week",
    "这个": "this_week",
    "本": "this_week",
    "下": "next_week",
    "下个": "next_week",
    "下下": "week_after_next",
    "下下个": "week_after_next",
}


@piece(r"每个?周末|每逢周末")
def _zh_weekends(match: re.Match[str]) -> Fill:
    return Fill(repeat=Repeat(Frequency.WEEKLY, weekdays=(5, 6)))


@piece(r"(?P<mode>这个?|本|下下个?|下个?)?周末")
def _zh_weekend(match: re.Match[str]) -> Fill:
    """周末 / 下周末: the Saturday of that weekend."""
    return Fill(day=WeekdayRef(5, _ZH_WEEK_MODES[match.group("mode") or ""]))


@piece(rf"(?P<mode>这个?|本|下下个?|下个?)?{WEEK}(?P<day>{CN_WEEKDAY}|[1-7](?![0-9点时:]))")
def _zh_weekday(match: re.Match[str]) -> Fill:
    mode = _ZH_WEEK_MODES[match.group("mode") or ""]
    return Fill(day=WeekdayRef(_cn_weekday(match.group("day")), mode))


@piece(
    rf"(?:(?P<year>\d{{4}}|[零〇一二三四五六七八九]{{4}})年|(?P<rel>今年|明年))?"
    rf"(?P<month>{N})月(?P<day>{N})(?:日|号)?"
)
def _zh_date(match: re.Match[str]) -> Fill:
    year = _number(match, "year")
    return Fill(
        day=DateRef(
            day=_month_day(_number(match, "day")),
            month=_month(_number(match, "month")),
            year=year,
            year_offset=1 if match.group("rel") == "明年" else 0,
        )
    )


@piece(rf"(?:(?P<rel>本|这个|下个?)月)?(?P<day>{N})(?:号|日)")
def _zh_day_of_month(match: re.Match[str]) -> Fill:
    offset = 1 if (match.group("rel") or "").startswith("下") else 0
    return Fill(day=DateRef(day=_month_day(_number(match, "day")), month_offset=offset))


@piece(r"(?:on\s+)?(?P<year>\d{4})[-/.](?P<month>\d{1,2})[-/.](?P<day>\d{1,2})(?![0-9])")
def _iso_date(match: re.Match[str]) -> Fill:
    return Fill(
        day=DateRef(
            day=_month_day(int(match.group("day"))),
            month=_month(int(match.group("month"))),
            year=int(match.group("year")),
        )
    )


# ---------------------------------------------------------------- Chinese: part of day and clock


_ZH_PERIODS: dict[str, Period] = {
    "凌晨": Period.EARLY_MORNING,
    "早上": Period.MORNING,
    "早晨": Period.MORNING,
    "清晨": Period.MORNING,
    "上午": Period.MORNING,
    "早": Period.MORNING,
    "中午": Period.NOON,
    "午间": Period.NOON,
    "下午": Period.AFTERNOON,
    "午后": Period.AFTERNOON,
    "傍晚": Period.EVENING,
    "晚上": Period.EVENING,
    "晚间": Period.EVENING,
    "夜里": Period.EVENING,
    "夜晚": Period.EVENING,
    "夜间": Period.EVENING,
    "半夜": Period.EVENING,
    "深夜": Period.EVENING,
    "晚": Period.EVENING,
}


# A lone 早 / 晚 only counts right before a number ("周五晚8点"), so "早点睡" and "早一点" stay text.
@piece(
    "|".join(word for word in sorted(_ZH_PERIODS, key=len, reverse=True) if len(word) > 1)
    + r"|[早晚](?!一点)(?=[0-9零一二两三四五六七八九十])"
)
def _zh_period(match: re.Match[str]) -> Fill:
    return Fill(period=_ZH_PERIODS[match.group()])


@piece(
    rf"(?P<hour>{N})[点时]钟?"
    rf"(?:(?P<half>半)|(?P<quarter>一刻)|(?P<three_quarters>三刻)|整|(?P<minute>\d{{2}}|[零〇一二三四五六七八九十]+|\d(?=分))分?)?"
)
def _zh_clock(match: re.Match[str]) -> Fill:
    if match.group("half"):
        minute = 30
    elif match.group("quarter"):
        minute = 15
    elif match.group("three_quarters"):
        minute = 45
    else:
        minute = _number(match, "minute") or 0
    hour_text = match.group("hour")
    fill = Fill(clock=_clock(parse_cn_int(hour_text), minute, zero_padded=hour_text.startswith("0")))
    if hour_text == "一" and match.group() == "一点":
        raise NeedsContextError(fill)
    return fill


@piece(r"(?:at\s+|@\s*)?(?P<hour>\d{1,2}):(?P<minute>\d{2})(?:\s*o'?clock)?(?![0-9])")
def _colon_clock(match: re.Match[str]) -> Fill:
    hour_text = match.group("hour")
    return Fill(
        clock=_clock(int(hour_text), int(match.group("minute")), zero_padded=hour_text.startswith("0"))
    )


# ---------------------------------------------------------------- Chinese: relative


@piece(
    rf"过?(?:(?P<hours>{N})个?(?P<and_half>半)?(?:小时|钟头)|(?P<half_hour>半)个?(?:小时|钟头))"
    rf"(?:(?P<minutes>{N})分钟?)?{AFTER}"
)
def _zh_hours_later(match: re.Match[str]) -> Fill:
    minutes = 30 if match.group("half_hour") else 60 * (_number(match, "hours") or 0)
    minutes += 30 if match.group("and_half") else 0
    minutes += _number(match, "minutes") or 0
    return Fill(delta=timedelta(minutes=minutes))


@piece(rf"过?(?:(?P<minutes>{N})\s*(?:分钟?|mins?)|(?P<quarter>一刻钟))(?:(?P<seconds>{N})秒钟?)?{AFTER}")
def _zh_minutes_later(match: re.Match[str]) -> Fill:
    minutes = 15 if match.group("quarter") else _number(match, "minutes") or 0
    return Fill(delta=timedelta(minutes=minutes, seconds=_number(match, "seconds") or 0))


@piece(rf"过?(?P<seconds>{N})秒钟?{AFTER}")
def _zh_seconds_later(match: re.Match[str]) -> Fill:
    return Fill(delta=timedelta(seconds=_number(match, "seconds") or 0))


@piece(
    rf"过(?:(?P<hours>{N})个?(?:小时|钟头)|(?P<minutes>{N})分钟|(?P<quarter>一刻钟)|(?P<half>半)个?(?:小时|钟头))"
)
def _zh_after_a_while(match: re.Match[str]) -> Fill:
    minutes = 15 if match.group("quarter") else 30 if match.group("half") else _number(match, "minutes") or 0
    return Fill(delta=timedelta(hours=_number(match, "hours") or 0, minutes=minutes))


# ---------------------------------------------------------------- English: repeats


@piece(r"every\s*day|daily|each\s+day")
def _en_daily(match: re.Match[str]) -> Fill:
    return Fill(repeat=Repeat(Frequency.DAILY))


@piece(rf"every\s+(?:(?P<other>other)|(?P<n>{EN})\s+)\s*days?")
def _en_every_n_days(match: re.Match[str]) -> Fill:
    interval = 2 if match.group("other") else _interval(int(parse_en_number(match.group("n"))))
    return Fill(repeat=Repeat(Frequency.DAILY, interval=interval))


@piece(r"every\s+(?P<period>morning|afternoon|evening|night)")
def _en_every_part_of_day(match: re.Match[str]) -> Fill:
    return Fill(repeat=Repeat(Frequency.DAILY), period=_EN_PERIODS[match.group("period")])


@piece(
    r"(?:every|each)\s+(?:week\s*day|work\s*day|working\s+day|business\s+day)"
    r"|(?:on\s+)?(?:weekdays|workdays|working\s+days|business\s+days)"
)
def _en_workdays(match: re.Match[str]) -> Fill:
    return Fill(repeat=Repeat(Frequency.WEEKLY, weekdays=WORKDAYS, workdays=True))


@piece(r"(?:every|each)\s+weekend|(?:on\s+)?weekends")
def _en_weekends(match: re.Match[str]) -> Fill:
    return Fill(repeat=Repeat(Frequency.WEEKLY, weekdays=(5, 6)))


@piece(r"(?:(?P<mode>this|next|on\s+the|on|at\s+the)\s+)?weekend")
def _en_weekend(match: re.Match[str]) -> Fill:
    """(this / next) weekend: the Saturday of it."""
    mode: WeekMode = "next_week" if match.group("mode") == "next" else "upcoming"
    return Fill(day=WeekdayRef(5, mode))


@piece(
    rf"(?:every|each)\s+(?:(?P<other>other)\s+)?(?P<days>{EN_WEEKDAY_LIST})|on\s+(?P<plural>{EN_WEEKDAY_LIST})"
)
def _en_weekly_on(match: re.Match[str]) -> Fill:
    if match.group("plural") and not match.group("plural").endswith("s"):
        raise NotThisPieceError
    days = _en_weekdays(match.group("days") or match.group("plural"))
    return Fill(repeat=Repeat(Frequency.WEEKLY, weekdays=days, interval=2 if match.group("other") else 1))


@piece(
    rf"(?:every\s+(?:(?P<other>other)\s+|(?P<n>{EN})\s+)?weeks?|weekly|(?P<bi>biweekly|fortnightly))(?:\s+on)?"
)
def _en_every_week(match: re.Match[str]) -> Fill:
    if match.group("other") or match.group("bi"):
        interval = 2
    else:
        interval = _interval(int(parse_en_number(match.group("n"))) if match.group("n") else None)
    return Fill(repeat=Repeat(Frequency.WEEKLY, interval=interval))


@piece(
    rf"(?:(?:every|each)\s+(?:(?P<n>{EN})\s+months?|month)|monthly)(?:\s+on)?\s+(?:the\s+)?"
    rf"(?:(?P<day>\d{{1,2}}){ORDINAL}?(?:\s+day)?|(?P<last>last\s+day))"
    rf"|(?:on\s+)?(?:the\s+)?(?:(?P<day2>\d{{1,2}}){ORDINAL}|(?P<last2>last\s+day))\s+of\s+(?:every|each|the)\s+month"
    rf"|every\s+(?:the\s+)?(?P<day3>\d{{1,2}}){ORDINAL}"
)
def _en_monthly(match: re.Match[str]) -> Fill:
    day_text = match.group("day") or match.group("day2") or match.group("day3")
    day = 31 if day_text is None else _month_day(int(day_text))
    interval = _interval(int(parse_en_number(match.group("n"))) if match.group("n") else None)
    return Fill(repeat=Repeat(Frequency.MONTHLY, month_day=day, interval=interval))


# ---------------------------------------------------------------- English: days

_EN_PERIODS: dict[str, Period] = {
    "morning": Period.MORNING,
    "afternoon": Period.AFTERNOON,
    "evening": Period.EVENING,
    "night": Period.EVENING,
}


@piece(r"today|tonight|this\s+(?P<period>morning|afternoon|evening)")
def _en_today(match: re.Match[str]) -> Fill:
    if match.group() == "tonight":
        return Fill(day=DayOffset(0), period=Period.EVENING)
    period = match.group("period")
    return Fill(day=DayOffset(0), period=_EN_PERIODS[period] if period else None)


@piece(r"(?P<after>(?:the\s+)?day\s+after\s+)?(?:tomorrow|tmrw?|tmr)|yesterday")
def _en_tomorrow(match: re.Match[str]) -> Fill:
    if match.group() == "yesterday":
        return Fill(day=DayOffset(-1))
    return Fill(day=DayOffset(2 if match.group("after") else 1))


@piece(rf"in\s+(?P<n>{EN})\s+(?P<unit>days?|weeks?)|(?P<n2>{EN})\s+(?P<unit2>days?|weeks?)\s+from\s+now")
def _en_days_later(match: re.Match[str]) -> Fill:
    count = parse_en_number(match.group("n") or match.group("n2"))
    unit = match.group("unit") or match.group("unit2")
    if count != int(count):
        raise InvalidTimeError("whole days only")
    return Fill(day=DayOffset(int(count) * (7 if unit.startswith("week") else 1), relative=True))


@piece(
    rf"(?:(?P<mode>this\s+coming|coming|this|next|on)\s+)?(?P<day>{EN_WEEKDAY})\b(?:\s+(?P<next_week>next\s+week))?"
    rf"|next\s+week\s+(?:on\s+)?(?P<day2>{EN_WEEKDAY})"
)
def _en_weekday(match: re.Match[str]) -> Fill:
    mode_word = re.sub(r"\s+", " ", match.group("mode") or "")
    mode: WeekMode
    if match.group("day2") or match.group("next_week"):
        mode = "next_week"
    elif mode_word == "this":
        mode = "this_week"
    elif mode_word == "next":
        mode = "after_today"
    else:
        mode = "upcoming"
    name = match.group("day") or match.group("day2")
    return Fill(day=WeekdayRef(_EN_WEEKDAYS[name[:3]], mode))


@piece(
    rf"(?:on\s+)?(?P<month>{EN_MONTH})\s+(?P<day>\d{{1,2}}){ORDINAL}?(?:,?\s+(?P<year>\d{{4}}))?(?![0-9:])"
    rf"|(?:on\s+)?(?:the\s+)?(?P<day2>\d{{1,2}}){ORDINAL}?\s+(?:of\s+)?(?P<month2>{EN_MONTH})(?:,?\s+(?P<year2>\d{{4}}))?"
)
def _en_date(match: re.Match[str]) -> Fill:
    month_name = match.group("month") or match.group("month2")
    year = match.group("year") or match.group("year2")
    return Fill(
        day=DateRef(
            day=_month_day(int(match.group("day") or match.group("day2"))),
            month=_EN_MONTHS.index(month_name[:3]) + 1,
            year=int(year) if year else None,
        )
    )


@piece(rf"(?:on\s+)?the\s+(?P<day>\d{{1,2}}){ORDINAL}(?!\s+of\s+(?:every|each))")
def _en_day_of_month(match: re.Match[str]) -> Fill:
    return Fill(day=DateRef(day=_month_day(int(match.group("day")))))


# ---------------------------------------------------------------- English: part of day and clock


@piece(r"(?:in\s+the\s+)?(?P<period>morning|afternoon|evening)|(?:at\s+)?(?P<night>night)")
def _en_period(match: re.Match[str]) -> Fill:
    return Fill(period=_EN_PERIODS[match.group("period") or "night"])


@piece(r"(?:at\s+|@\s*)?(?P<hour>\d{1,2})(?::(?P<minute>\d{2}))?\s*(?P<half>a|p)\.?m\.?(?![a-z])")
def _en_am_pm(match: re.Match[str]) -> Fill:
    hour, minute = int(match.group("hour")), int(match.group("minute") or 0)
    if not 1 <= hour <= 12:
        raise InvalidTimeError(f"{hour}{match.group('half')}m is not a time")
    return Fill(
        clock=_clock(hour, minute, zero_padded=False),
        period=Period.AM if match.group("half") == "a" else Period.AFTERNOON,
    )


@piece(r"(?:at|@)\s*(?P<hour>\d{1,2})(?:\s*o'?clock)?(?![0-9:])|(?P<hour2>\d{1,2})\s*o'?clock")
def _en_bare_hour(match: re.Match[str]) -> Fill:
    text = match.group("hour") or match.group("hour2")
    return Fill(clock=_clock(int(text), 0, zero_padded=text.startswith("0")))


@piece(r"(?:at\s+)?(?P<word>noon|midday|midnight)")
def _en_noon(match: re.Match[str]) -> Fill:
    hour = 24 if match.group("word") == "midnight" else 12
    return Fill(clock=Clock(hour, 0, explicit_24h=True))


# ---------------------------------------------------------------- English: relative

_EN_DURATION = (  # "an hour and a half" first: "an hour" alone would match its start
    rf"(?:(?P<hour_half>an?\s+hour\s+and\s+a\s+half)|(?P<half>half\s+an?\s+hour)"
    rf"|(?P<hours>{EN})\s*(?:hours?|hrs?|h)(?:\s*(?:and\s+)?(?P<hm>{EN})\s*(?:minutes?|mins?|m))?"
    rf"|(?P<minutes>{EN})\s*(?:minutes?|mins?|m)|(?P<seconds>{EN})\s*(?:seconds?|secs?|s))(?![a-z])"
)


@piece(rf"(?:in|after)\s+{_EN_DURATION}|{_EN_DURATION.replace('?P<', '?P<x_')}\s+(?:from\s+now|later)")
def _en_duration_later(match: re.Match[str]) -> Fill:
    def number(name: str) -> float:
        text = match.group(name) or match.group("x_" + name)
        return parse_en_number(text) if text else 0.0

    minutes = 60 * number("hours") + number("hm") + number("minutes") + number("seconds") / 60
    if match.group("half") or match.group("x_half"):
        minutes = 30
    if match.group("hour_half") or match.group("x_hour_half"):
        minutes = 90
    return Fill(delta=timedelta(minutes=minutes))


# ---------------------------------------------------------------- where a piece may start


def _any_piece() -> re.Pattern[str]:
    """One regex matching wherever any piece matches (named groups dropped): the scanner jumps between these
    positions instead of trying every piece at every character."""
    alternatives = (re.sub(r"\(\?P<\w+>", "(?:", item.pattern.pattern) for item in PIECES)
    return re.compile("|".join(f"(?:{alternative})" for alternative in alternatives), re.IGNORECASE)


# ---------------------------------------------------------------- checks shared by the builders


def _clock(hour: int, minute: int, *, zero_padded: bool) -> Clock:
    if not 0 <= hour <= 24 or not 0 <= minute <= 59 or (hour == 24 and minute):
        raise InvalidTimeError(f"{hour}:{minute:02d} is not a time of day")
    return Clock(hour, minute, explicit_24h=zero_padded or hour == 0 or hour >= 13)


def _month(month: int | None) -> int:
    if month is None or not 1 <= month <= 12:
        raise InvalidTimeError(f"month {month} does not exist")
    return month


def _month_day(day: int | None) -> int:
    if day is None or not 1 <= day <= 31:
        raise InvalidTimeError(f"day {day} does not exist")
    return day


def _interval(count: int | None) -> int:
    if count is None:
        return 1
    if not 1 <= count <= 52:
        raise InvalidTimeError(f"every {count} is not supported")
    return count


ANY_PIECE = _any_piece()
