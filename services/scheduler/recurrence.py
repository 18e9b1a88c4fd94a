"""Recurrence rules and their next occurrence, computed in local wall-clock time.

Why local time: "every day at 09:00" means 09:00 on the wall clock of the room's time zone, also across a
daylight-saving change, so occurrences are built as local dates + local clock times and only then turned into
instants. Two DST edge cases, decided here:

- A clock time that does not exist that day (spring forward, e.g. 02:30 in New York on 2026-03-08) fires at the
  same distance after the gap, i.e. 03:30 local time (zoneinfo's fold=0 reading, normalised).
- A clock time that exists twice (fall back, 01:30 on 2026-11-01 in New York) fires once, at the first of the two.

Month end: a monthly rule on a day the month does not have (the 31st in November, the 30th in February) fires on
the last day of that month, so "every month on the 31st" means "every month end" and never silently skips a month.

Working days (`workdays=True`, from 工作日 / every workday) follow `workdays.is_working_day` for the reminder's
zone: China's holidays and adjusted working days in mainland Chinese zones, Monday to Friday elsewhere.
"""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.scheduler.workdays import is_working_day

WORKDAYS: tuple[int, ...] = (0, 1, 2, 3, 4)
"""Monday to Friday (Python's weekday numbers)."""


class Frequency(StrEnum):
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"


class Recurrence(BaseModel):
    """When a reminder repeats. Stored as JSON in Redis, so fields are only ever added, never renamed."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    frequency: Frequency = Field(description="daily, weekly (on `weekdays`) or monthly (on `month_day`)")
    hour: int = Field(ge=0, le=23, description="Local wall-clock hour of every occurrence")
    minute: int = Field(ge=0, le=59, description="Local wall-clock minute of every occurrence")
    weekdays: tuple[int, ...] = Field((), description="Weekly only: 0=Monday … 6=Sunday, sorted, unique")
    month_day: int | None = Field(None, ge=1, le=31, description="Monthly only: day of the month (clamped)")
    interval: int = Field(1, ge=1, le=52, description="Every N days / weeks / months")
    anchor: date = Field(description="Local date of the first occurrence; intervals count from here")
    workdays: bool = Field(
        False,
        description="Weekly only: working days rather than the listed weekdays — China's official calendar "
        "(holidays, adjusted working days) in a mainland Chinese zone, Monday to Friday elsewhere",
    )

    @model_validator(mode="after")
    def _consistent(self) -> Recurrence:
        if self.frequency is Frequency.WEEKLY and not self.weekdays:
            raise ValueError("a weekly rule needs at least one weekday")
        if self.workdays and (self.frequency is not Frequency.WEEKLY or self.interval != 1):
            raise ValueError("working days repeat weekly, every week")
        if self.frequency is Frequency.MONTHLY and self.month_day is None:
            raise ValueError("a monthly rule needs a month_day")
        if any(not 0 <= day <= 6 for day in self.weekdays) or list(self.weekdays) != sorted(
            set(self.weekdays)
        ):
            raise ValueError("weekdays must be sorted, unique numbers 0..6")
        return self

    @property
    def is_workdays(self) -> bool:
        return self.frequency is Frequency.WEEKLY and self.workdays

    def next_after(self, instant: datetime, zone: ZoneInfo) -> datetime:
        """The first occurrence strictly after `instant`, as an aware datetime in `zone`."""
        if instant.tzinfo is None:
            raise ValueError("instant must be timezone-aware")
        start = instant.astimezone(zone).date()
        for day in self._candidate_days(start, zone.key):
            occurrence = local_instant(day, self.hour, self.minute, zone)
            if occurrence.astimezone(UTC) > instant.astimezone(UTC):
                return occurrence
        raise AssertionError("unreachable: every rule has an occurrence within its search window")

    def _candidate_days(self, start: date, zone: str) -> list[date]:
        """Days on which the rule fires, from `start` on, enough of them to contain the next occurrence."""
        if self.frequency is Frequency.MONTHLY:
            assert self.month_day is not None
            days = []
            year, month = start.year, start.month
            for _ in range(2 * self.interval + 1):
                if _months_between(self.anchor, year, month) % self.interval == 0:
                    last = calendar.monthrange(year, month)[1]
                    candidate = date(year, month, min(self.month_day, last))
                    if candidate >= start:
                        days.append(candidate)
                year, month = (year + 1, 1) if month == 12 else (year, month + 1)
            return days
        if self.is_workdays:  # the longest run of holidays and weekends is 9-10 days
            return [
                day for day in (start + timedelta(days=n) for n in range(31)) if is_working_day(day, zone)
            ]
        window = 2 * (7 * self.interval if self.frequency is Frequency.WEEKLY else self.interval) + 1
        return [day for day in (start + timedelta(days=n) for n in range(window)) if self._fires_on(day)]

    def _fires_on(self, day: date) -> bool:
        if self.frequency is Frequency.DAILY:
            return (day - self.anchor).days % self.interval == 0
        anchor_monday = self.anchor - timedelta(days=self.anchor.weekday())
        week = (day - anchor_monday).days // 7
        return day.weekday() in self.weekdays and week % self.interval == 0


def local_instant(day: date, hour: int, minute: int, zone: ZoneInfo) -> datetime:
    """`day` at `hour:minute` on the wall clock of `zone`; a time inside a DST gap moves forward by the gap."""
    naive = datetime.combine(day, time(hour, minute))
    # Round-tripping through UTC normalises a non-existent local time (fold=0 reading) to a real one.
    return naive.replace(tzinfo=zone).astimezone(UTC).astimezone(zone)


def _months_between(anchor: date, year: int, month: int) -> int:
    return (year * 12 + month) - (anchor.year * 12 + anchor.month)
