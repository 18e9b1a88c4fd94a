"""Next occurrences in local wall-clock time: intervals, month ends and daylight-saving changes."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from services.scheduler.recurrence import WORKDAYS, Frequency, Recurrence

SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")


def daily(hour: int, minute: int = 0, interval: int = 1, anchor: date = date(2026, 1, 1)) -> Recurrence:
    return Recurrence(frequency=Frequency.DAILY, hour=hour, minute=minute, interval=interval, anchor=anchor)


def occurrences(rule: Recurrence, start: datetime, count: int, zone: ZoneInfo) -> list[str]:
    found, instant = [], start
    for _ in range(count):
        instant = rule.next_after(instant, zone)
        found.append(instant.strftime("%Y-%m-%d %H:%M %Z"))
    return found


def test_daily_is_strictly_after_the_instant() -> None:
    rule = daily(9)
    assert rule.next_after(datetime(2026, 11, 18, 8, 59, tzinfo=SHANGHAI), SHANGHAI) == datetime(
        2026, 11, 18, 9, 0, tzinfo=SHANGHAI
    )
    assert rule.next_after(datetime(2026, 11, 18, 9, 0, tzinfo=SHANGHAI), SHANGHAI) == datetime(
        2026, 11, 19, 9, 0, tzinfo=SHANGHAI
    )


def test_every_other_day_counts_from_the_anchor() -> None:
    rule = daily(9, interval=2, anchor=date(2026, 11, 18))
    start = datetime(2026, 11, 18, 10, 0, tzinfo=SHANGHAI)
    assert occurrences(rule, start, 3, SHANGHAI) == [
        "2026-11-20 09:00 CST",
        "2026-11-22 09:00 CST",
        "2026-11-24 09:00 CST",
    ]


def test_workdays_skip_the_weekend() -> None:
    rule = Recurrence(
        frequency=Frequency.WEEKLY, hour=9, minute=30, weekdays=WORKDAYS, anchor=date(2026, 11, 1)
    )
    start = datetime(2026, 11, 20, 10, 0, tzinfo=SHANGHAI)  # Friday after the firing
    assert occurrences(rule, start, 2, SHANGHAI) == ["2026-11-23 09:30 CST", "2026-11-24 09:30 CST"]


def working_days(hour: int = 9) -> Recurrence:
    return Recurrence(
        frequency=Frequency.WEEKLY,
        hour=hour,
        minute=0,
        weekdays=WORKDAYS,
        workdays=True,
        anchor=date(2026, 9, 1),
    )


def test_working_days_in_china_skip_holidays_and_include_adjusted_working_days() -> None:
    # National Day 2026: Oct 1-7 off; Sunday Sep 20 and Saturday Oct 10 are working days (调休).
    assert occurrences(working_days(), datetime(2026, 9, 18, 10, 0, tzinfo=SHANGHAI), 2, SHANGHAI) == [
        "2026-09-20 09:00 CST",
        "2026-09-21 09:00 CST",
    ]
    assert occurrences(working_days(), datetime(2026, 9, 30, 20, 0, tzinfo=SHANGHAI), 4, SHANGHAI) == [
        "2026-10-08 09:00 CST",
        "2026-10-09 09:00 CST",
        "2026-10-10 09:00 CST",
        "2026-10-12 09:00 CST",
    ]


def test_working_days_elsewhere_are_monday_to_friday() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    assert occurrences(working_days(), datetime(2026, 9, 30, 20, 0, tzinfo=berlin), 3, berlin) == [
        "2026-10-01 09:00 CEST",
        "2026-10-02 09:00 CEST",
        "2026-10-05 09:00 CEST",
    ]


def test_weekdays_listed_by_name_ignore_holidays() -> None:
    """周一到周五 names the days: only 工作日 / every workday follows the holiday calendar."""
    rule = Recurrence(
        frequency=Frequency.WEEKLY, hour=9, minute=0, weekdays=WORKDAYS, anchor=date(2026, 9, 1)
    )
    assert rule.next_after(datetime(2026, 9, 30, 20, 0, tzinfo=SHANGHAI), SHANGHAI).date() == date(
        2026, 10, 1
    )


def test_every_two_weeks_keeps_the_anchor_week_parity() -> None:
    rule = Recurrence(
        frequency=Frequency.WEEKLY, hour=15, minute=0, weekdays=(3,), interval=2, anchor=date(2026, 11, 19)
    )
    start = datetime(2026, 11, 18, 9, 0, tzinfo=SHANGHAI)
    assert occurrences(rule, start, 3, SHANGHAI) == [
        "2026-11-19 15:00 CST",
        "2026-12-03 15:00 CST",
        "2026-12-17 15:00 CST",
    ]


def test_monthly_on_the_31st_fires_at_each_month_end() -> None:
    rule = Recurrence(frequency=Frequency.MONTHLY, hour=9, minute=0, month_day=31, anchor=date(2026, 1, 31))
    start = datetime(2027, 1, 31, 10, 0, tzinfo=SHANGHAI)
    assert occurrences(rule, start, 4, SHANGHAI) == [
        "2027-02-28 09:00 CST",
        "2027-03-31 09:00 CST",
        "2027-04-30 09:00 CST",
        "2027-05-31 09:00 CST",
    ]


def test_monthly_on_the_29th_in_a_leap_february() -> None:
    rule = Recurrence(frequency=Frequency.MONTHLY, hour=9, minute=0, month_day=30, anchor=date(2028, 1, 30))
    assert rule.next_after(datetime(2028, 1, 31, tzinfo=SHANGHAI), SHANGHAI).date() == date(2028, 2, 29)


def test_every_three_months() -> None:
    rule = Recurrence(
        frequency=Frequency.MONTHLY, hour=10, minute=0, month_day=1, interval=3, anchor=date(2026, 12, 1)
    )
    start = datetime(2026, 12, 1, 10, 0, tzinfo=SHANGHAI)
    assert occurrences(rule, start, 2, SHANGHAI) == ["2027-03-01 10:00 CST", "2027-06-01 10:00 CST"]


def test_daily_keeps_wall_time_across_spring_forward_and_fall_back() -> None:
    rule = daily(9)
    spring = occurrences(rule, datetime(2026, 3, 7, 10, 0, tzinfo=NEW_YORK), 2, NEW_YORK)
    autumn = occurrences(rule, datetime(2026, 10, 31, 10, 0, tzinfo=NEW_YORK), 2, NEW_YORK)
    assert spring == ["2026-03-08 09:00 EDT", "2026-03-09 09:00 EDT"]
    assert autumn == ["2026-11-01 09:00 EST", "2026-11-02 09:00 EST"]


def test_a_time_in_the_spring_gap_moves_forward_by_the_gap() -> None:
    rule = daily(2, 30)
    assert occurrences(rule, datetime(2026, 3, 7, 10, 0, tzinfo=NEW_YORK), 2, NEW_YORK) == [
        "2026-03-08 03:30 EDT",
        "2026-03-09 02:30 EDT",
    ]


def test_a_time_that_happens_twice_fires_once() -> None:
    rule = daily(1, 30)
    first = rule.next_after(datetime(2026, 10, 31, 12, 0, tzinfo=NEW_YORK), NEW_YORK)
    second = rule.next_after(first, NEW_YORK)
    assert first.strftime("%Y-%m-%d %H:%M %Z") == "2026-11-01 01:30 EDT"
    assert second.strftime("%Y-%m-%d %H:%M %Z") == "2026-11-02 01:30 EST"  # not the repeated 01:30 EST


def test_naive_instants_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        daily(9).next_after(datetime(2026, 11, 18, 9, 0), SHANGHAI)


@pytest.mark.parametrize(
    "fields",
    [
        {"frequency": "weekly", "weekdays": ()},
        {"frequency": "monthly"},
        {"frequency": "weekly", "weekdays": (3, 1)},
        {"frequency": "weekly", "weekdays": (7,)},
        {"frequency": "daily", "workdays": True},
        {"frequency": "weekly", "weekdays": (0, 1, 2, 3, 4), "workdays": True, "interval": 2},
    ],
)
def test_inconsistent_rules_are_refused(fields: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        Recurrence.model_validate({"hour": 9, "minute": 0, "anchor": "2026-01-01", **fields})


def test_round_trips_through_json() -> None:
    rule = Recurrence(frequency=Frequency.WEEKLY, hour=8, minute=5, weekdays=(0, 4), anchor=date(2026, 1, 5))
    assert Recurrence.model_validate_json(rule.model_dump_json()) == rule
