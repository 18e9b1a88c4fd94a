"""Working days: China's calendar in mainland Chinese zones (within the years it knows), Monday to Friday elsewhere."""

from __future__ import annotations

import logging
from datetime import date

import pytest

from services.scheduler.workdays import covered_years, is_working_day, warn_if_calendar_ends


@pytest.mark.parametrize(
    ("day", "zone", "working"),
    [
        (date(2026, 10, 1), "Asia/Shanghai", False),  # National Day, a Thursday
        (date(2026, 10, 10), "Asia/Shanghai", True),  # a Saturday worked in exchange (调休)
        (date(2026, 9, 20), "Asia/Urumqi", True),  # the same calendar in every mainland zone
        (date(2026, 10, 1), "Asia/Hong_Kong", True),  # Hong Kong has its own holidays: Monday to Friday here
        (date(2026, 10, 10), "Europe/Berlin", False),
        (date(2026, 10, 1), "Europe/Berlin", True),
    ],
)
def test_working_days_by_zone(day: date, zone: str, working: bool) -> None:
    assert is_working_day(day, zone) is working


def test_a_year_the_calendar_does_not_know_falls_back_to_monday_to_friday() -> None:
    later = covered_years().stop + 2
    monday = next(date(later, 1, d) for d in range(1, 8) if date(later, 1, d).weekday() == 0)
    assert is_working_day(monday, "Asia/Shanghai")
    assert not is_working_day(date.fromordinal(monday.toordinal() + 5), "Asia/Shanghai")


def test_a_calendar_that_ends_this_year_is_reported(caplog: pytest.LogCaptureFixture) -> None:
    last = covered_years().stop - 1
    warn_if_calendar_ends.cache_clear()  # it logs once per day asked, and the service may have asked already
    with caplog.at_level(logging.WARNING):
        assert warn_if_calendar_ends(date(last, 12, 2)) is True
        assert warn_if_calendar_ends(date(last - 1, 12, 2)) is False
    assert f"up to {last}" in caplog.text
