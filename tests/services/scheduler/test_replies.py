"""What users read: confirmations, listings, explanations and firing notes, in both languages."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.scheduler import replies
from services.scheduler.recurrence import WORKDAYS, Frequency, Recurrence
from services.scheduler.timeparse import FailureReason, ParseFailure
from tests.services.scheduler.conftest import draft

SHANGHAI = ZoneInfo("Asia/Shanghai")
DUE = datetime(2026, 12, 1, 9, 30, tzinfo=SHANGHAI)


def test_confirmation_of_a_one_off_has_time_zone_repeat_text_and_id() -> None:
    reminder = draft(DUE, id="12", text="体检")
    text = replies.confirmation(reminder)
    assert text.zh == "已设置提醒 #12：2026-12-01 09:30（Asia/Shanghai），不重复。内容：体检"
    assert text.en == "Reminder #12 set for 2026-12-01 09:30 (Asia/Shanghai), does not repeat. Text: 体检"


def test_confirmation_of_a_recurring_one_says_how_it_repeats() -> None:
    rule = Recurrence(frequency=Frequency.WEEKLY, hour=20, minute=0, weekdays=(3,), anchor=date(2026, 11, 19))
    text = replies.confirmation(draft(DUE, id="3", recurrence=rule))
    assert "每周四 20:00 重复" in text.zh
    assert "repeats every Thu at 20:00" in text.en


@pytest.mark.parametrize(
    ("rule", "zh", "en"),
    [
        (
            Recurrence(frequency=Frequency.DAILY, hour=8, minute=0, anchor=date(2026, 1, 1)),
            "每天 08:00 重复",
            "repeats every day at 08:00",
        ),
        (
            Recurrence(frequency=Frequency.DAILY, hour=8, minute=0, interval=2, anchor=date(2026, 1, 1)),
            "每2天 08:00 重复",
            "repeats every 2 days at 08:00",
        ),
        (
            Recurrence(
                frequency=Frequency.WEEKLY, hour=9, minute=5, weekdays=WORKDAYS, anchor=date(2026, 1, 1)
            ),
            "每周一、二、三、四、五 09:05 重复",
            "repeats every Mon, Tue, Wed, Thu, Fri at 09:05",
        ),
        (
            Recurrence(
                frequency=Frequency.WEEKLY,
                hour=15,
                minute=0,
                weekdays=(0, 4),
                interval=2,
                anchor=date(2026, 1, 5),
            ),
            "每2周的周一、五 15:00 重复",
            "repeats every 2 weeks on Mon, Fri at 15:00",
        ),
        (
            Recurrence(
                frequency=Frequency.MONTHLY, hour=10, minute=0, month_day=31, anchor=date(2026, 1, 31)
            ),
            "每月31日 10:00 重复（没有这一天的月份在月末）",
            "repeats every month on day 31 (or the month's last day) at 10:00",
        ),
    ],
)
def test_recurrence_descriptions(rule: Recurrence, zh: str, en: str) -> None:
    assert (replies.describe_recurrence(rule).zh, replies.describe_recurrence(rule).en) == (zh, en)


@pytest.mark.parametrize("reason", list(FailureReason))
def test_every_failure_explains_with_an_example(reason: FailureReason) -> None:
    text = replies.parse_failure(ParseFailure(reason, expression="明天", resolved=DUE))
    assert "例如" in text.zh or reason is FailureReason.TOO_FAR
    assert text.zh != text.en
    assert "e.g." in text.en or "example" in text.en.lower() or reason is FailureReason.TOO_FAR


def test_a_past_time_is_shown_in_the_explanation() -> None:
    text = replies.parse_failure(ParseFailure(FailureReason.IN_PAST, expression="今天上午8点", resolved=DUE))
    assert "2026-12-01 09:30" in text.zh
    assert "2026-12-01 09:30" in text.en


def test_listing_shows_ids_times_and_texts_and_cuts_long_lists() -> None:
    reminders = [draft(DUE + timedelta(days=n), id=str(n + 1), text=f"事{n}") for n in range(3)]
    text = replies.listing(reminders, limit=2)
    assert text.zh.splitlines() == [
        "待发的提醒：",
        "#1 2026-12-01 09:30：事0（Alice）",
        "#2 2026-12-02 09:30：事1（Alice）",
        "……还有 1 条",
    ]
    assert text.en.splitlines()[1] == "#1 2026-12-01 09:30: 事0 (Alice)"
    assert replies.listing([]).en == "No pending reminders here."


def test_firing_text_notes_lateness_in_the_language_it_was_set_in() -> None:
    reminder = draft(DUE, text="standup", lang="en")
    assert replies.firing_text(reminder, late_by=timedelta(0), missed=False) == "⏰ standup"
    assert replies.firing_text(reminder, late_by=timedelta(minutes=5), missed=False) == (
        "⏰ standup (late by 5 min, was due 2026-12-01 09:30)"
    )
    zh = draft(DUE, text="开会")
    assert replies.firing_text(zh, late_by=timedelta(hours=2), missed=True) == (
        "⏰ 开会 （错过的提醒，原定 2026-12-01 09:30）"
    )


def test_working_days_say_which_calendar_they_follow() -> None:
    rule = Recurrence(
        frequency=Frequency.WEEKLY,
        hour=9,
        minute=0,
        weekdays=WORKDAYS,
        workdays=True,
        anchor=date(2026, 1, 1),
    )
    in_china = replies.describe_recurrence(rule, "Asia/Shanghai")
    in_berlin = replies.describe_recurrence(rule, "Europe/Berlin")
    assert in_china.zh == "每个工作日（按法定节假日和调休）09:00 重复"
    assert in_china.en == "repeats every working day (China's holidays and adjusted working days) at 09:00"
    assert in_berlin.zh == "每个工作日（周一至周五）09:00 重复"
    assert in_berlin.en == "repeats every working day (Mon-Fri) at 09:00"


def test_a_reached_limit_says_which_and_how_to_make_room() -> None:
    mine = replies.limit_reached("creator", 20, in_room=True)
    room = replies.limit_reached("place", 100, in_room=True)
    chat = replies.limit_reached("place", 100, in_room=False)
    assert mine.zh == "你已有 20 条待发的提醒，达到上限。请先取消一些（提醒列表 / 取消提醒 <编号>）。"
    assert (
        mine.en
        == "You already have 20 pending reminders, the limit. Cancel some first (reminders / cancel <id>)."
    )
    assert room.zh.startswith("本群已有 100 条待发的提醒")
    assert chat.en.startswith("This chat already has 100 pending reminders")
