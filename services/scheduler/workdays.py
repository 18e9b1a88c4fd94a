"""Working days: China's official calendar in mainland Chinese time zones, Monday to Friday elsewhere.

In a room whose zone is a mainland Chinese one (Asia/Shanghai and its aliases, Asia/Urumqi), "每个工作日" /
"every workday" skips public holidays and fires on the adjusted working days (调休, e.g. a Sunday before National
Day), as published by the State Council and packaged by `chinese-calendar`. The package knows the years it was
released with (its data ends with the last year announced); for a day outside them, and in every other zone, a
working day is Monday to Friday. Hong Kong, Macau and Taipei have their own holidays and use Monday to Friday.
"""

from __future__ import annotations

import logging
from datetime import date
from functools import cache, lru_cache

import chinese_calendar
from chinese_calendar import constants

log = logging.getLogger(__name__)

CHINESE_ZONES = frozenset(
    {"Asia/Shanghai", "Asia/Chongqing", "Asia/Chungking", "Asia/Harbin", "Asia/Urumqi", "Asia/Kashgar", "PRC"}
)


@cache
def covered_years() -> range:
    """The years the installed calendar knows."""
    years = [day.year for day in (*constants.holidays, *constants.workdays)]
    return range(min(years), max(years) + 1)


def follows_chinese_calendar(zone: str) -> bool:
    return zone in CHINESE_ZONES


@lru_cache(maxsize=4096)
def is_working_day(day: date, zone: str) -> bool:
    """Whether `day` is a working day for a room in `zone`."""
    if follows_chinese_calendar(zone) and day.year in covered_years():
        return bool(chinese_calendar.is_workday(day))
    return day.weekday() < 5


@cache
def warn_if_calendar_ends(today: date) -> bool:
    """Log (once per day asked) when the calendar ends before next year: working-day reminders then fall back to
    Monday to Friday until `chinese-calendar` is upgraded. Returns whether it warned."""
    last = covered_years().stop - 1
    if last > today.year:
        return False
    log.warning(
        "chinese-calendar %s knows China's holidays up to %d: working-day reminders after that fire Monday to "
        "Friday; upgrade the package when the next year's holidays are out",
        getattr(chinese_calendar, "__version__", "?"),
        last,
    )
    return True
