"""Time expressions in Chinese and English against one fixed message timestamp: Wed 2026-11-18 09:00 Shanghai."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.scheduler import grammar
from services.scheduler.recurrence import Recurrence
from services.scheduler.timeparse import FailureReason, ParsedReminder, ParseFailure, parse_reminder

SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")
NOW = datetime(2026, 11, 18, 9, 0, tzinfo=SHANGHAI)  # a Wednesday


def rule(recurrence: Recurrence | None) -> str | None:
    """'daily@08:00', 'weekly:0,2,4@19:00', 'weekly:4/2@16:00', 'monthly:15@10:00'."""
    if recurrence is None:
        return None
    days = ",".join(str(day) for day in recurrence.weekdays)
    where = f":{days}" if days else f":{recurrence.month_day}" if recurrence.month_day else ""
    every = f"/{recurrence.interval}" if recurrence.interval > 1 else ""
    return f"{recurrence.frequency.value}{where}{every}@{recurrence.hour:02d}:{recurrence.minute:02d}"


def parsed(command: str, now: datetime = NOW, zone: ZoneInfo = SHANGHAI) -> ParsedReminder:
    result = parse_reminder(command, now=now, zone=zone)
    assert isinstance(result, ParsedReminder), result
    return result


def failed(command: str, now: datetime = NOW, zone: ZoneInfo = SHANGHAI) -> ParseFailure:
    result = parse_reminder(command, now=now, zone=zone)
    assert isinstance(result, ParseFailure), result
    return result


# (command, first firing in Shanghai, recurrence, text)
CASES: list[tuple[str, str, str | None, str]] = [
    # --- the examples
    ("明天上午9点 开会", "2026-11-19 09:00", None, "开会"),
    ("今晚8点 吃药", "2026-11-18 20:00", None, "吃药"),
    ("下周一上午10点 周会", "2026-11-23 10:00", None, "周会"),
    ("12月1日 下午2点 交报告", "2026-12-01 14:00", None, "交报告"),
    ("30分钟后 关火", "2026-11-18 09:30", None, "关火"),
    ("每天早上8点 打卡", "2026-11-19 08:00", "daily@08:00", "打卡"),
    ("每周四晚上8点 健身", "2026-11-19 20:00", "weekly:3@20:00", "健身"),
    ("每月1号上午10点 交房租", "2026-12-01 10:00", "monthly:1@10:00", "交房租"),
    ("2026-12-01 09:30 体检", "2026-12-01 09:30", None, "体检"),
    ("tomorrow at 9am standup", "2026-11-19 09:00", None, "standup"),
    ("in 45 minutes check the oven", "2026-11-18 09:45", None, "check the oven"),
    ("next monday 10:00 planning", "2026-11-23 10:00", None, "planning"),
    ("every friday at 17:00 weekly report", "2026-11-20 17:00", "weekly:4@17:00", "weekly report"),
    ("every day at 9:00 drink water", "2026-11-19 09:00", "daily@09:00", "drink water"),
    # --- Chinese: days
    ("后天下午3点半 看电影", "2026-11-20 15:30", None, "看电影"),
    ("后天上午10点 x", "2026-11-20 10:00", None, "x"),
    ("大后天晚上9点 x", "2026-11-21 21:00", None, "x"),
    ("明早7点半 x", "2026-11-19 07:30", None, "x"),
    ("明晚10点 x", "2026-11-19 22:00", None, "x"),
    ("今早11点 x", "2026-11-18 11:00", None, "x"),
    ("周五 下午3点 复盘", "2026-11-20 15:00", None, "复盘"),
    ("周五晚8点 x", "2026-11-20 20:00", None, "x"),
    ("星期天下午4点 x", "2026-11-22 16:00", None, "x"),
    ("礼拜六上午10点 x", "2026-11-21 10:00", None, "x"),
    ("下个星期三上午9点 x", "2026-11-25 09:00", None, "x"),
    ("这周五下午5点 x", "2026-11-20 17:00", None, "x"),
    ("下下周三 下午2点 评审", "2026-12-02 14:00", None, "评审"),
    ("周一 上午8点 x", "2026-11-23 08:00", None, "x"),
    ("下周日 上午10点 x", "2026-11-29 10:00", None, "x"),
    ("3天后上午9点 x", "2026-11-21 09:00", None, "x"),
    ("3天后 x", "2026-11-21 09:00", None, "x"),
    ("两周后上午10点 x", "2026-12-02 10:00", None, "x"),
    # --- Chinese: dates
    ("12月25日上午10点 x", "2026-12-25 10:00", None, "x"),
    ("2027年1月1日 上午9点 x", "2027-01-01 09:00", None, "x"),
    ("明年1月1日 上午9点 x", "2027-01-01 09:00", None, "x"),
    ("1月5日 9点 x", "2027-01-05 09:00", None, "x"),
    ("15号下午2点 x", "2026-12-15 14:00", None, "x"),
    ("20号下午2点 x", "2026-11-20 14:00", None, "x"),
    ("下个月3号上午10点 x", "2026-12-03 10:00", None, "x"),
    ("2026/12/01 14:00 x", "2026-12-01 14:00", None, "x"),
    ("2026-12-01 9:30 x", "2026-12-01 09:30", None, "x"),
    # --- Chinese: clock readings
    ("下午3点半 x", "2026-11-18 15:30", None, "x"),
    ("中午12点 吃饭", "2026-11-18 12:00", None, "吃饭"),
    ("中午1点 x", "2026-11-18 13:00", None, "x"),
    ("凌晨2点 看球", "2026-11-19 02:00", None, "看球"),
    ("凌晨12点 x", "2026-11-19 00:00", None, "x"),
    ("晚上12点 x", "2026-11-19 00:00", None, "x"),
    ("今晚11点45分 x", "2026-11-18 23:45", None, "x"),
    ("8点一刻 x", "2026-11-18 20:15", None, "x"),
    ("9点三刻 x", "2026-11-18 09:45", None, "x"),
    ("十点半 x", "2026-11-18 10:30", None, "x"),
    ("二十点 x", "2026-11-18 20:00", None, "x"),
    ("下午15点 x", "2026-11-18 15:00", None, "x"),
    ("8点 开会", "2026-11-18 20:00", None, "开会"),
    ("3点 开会", "2026-11-18 15:00", None, "开会"),
    ("12点 开会", "2026-11-18 12:00", None, "开会"),
    ("明天3点 开会", "2026-11-19 15:00", None, "开会"),
    ("明天8点 开会", "2026-11-19 08:00", None, "开会"),
    ("明天上午９点 全角", "2026-11-19 09:00", None, "全角"),
    ("明天１０：３０ 全角", "2026-11-19 10:30", None, "全角"),
    # --- Chinese: relative
    ("3小时后 收衣服", "2026-11-18 12:00", None, "收衣服"),
    ("1个半小时后 出发", "2026-11-18 10:30", None, "出发"),
    ("2小时30分钟后 x", "2026-11-18 11:30", None, "x"),
    ("半小时后 x", "2026-11-18 09:30", None, "x"),
    ("一刻钟后 x", "2026-11-18 09:15", None, "x"),
    ("过5分钟 x", "2026-11-18 09:05", None, "x"),
    ("二十分钟以后 x", "2026-11-18 09:20", None, "x"),
    # --- Chinese: recurring
    ("每个工作日 9点 站会", "2026-11-19 09:00", "weekly:0,1,2,3,4@09:00", "站会"),
    ("每周一到周五早上9点 x", "2026-11-19 09:00", "weekly:0,1,2,3,4@09:00", "x"),
    ("周一至周五 9点 x", "2026-11-19 09:00", "weekly:0,1,2,3,4@09:00", "x"),
    ("工作日每天 9点 x", "2026-11-19 09:00", "weekly:0,1,2,3,4@09:00", "x"),
    ("每两周周四下午3点 双周会", "2026-11-19 15:00", "weekly:3/2@15:00", "双周会"),
    ("隔周周五下午4点 x", "2026-11-20 16:00", "weekly:4/2@16:00", "x"),
    ("每周一三五晚上7点 跑步", "2026-11-18 19:00", "weekly:0,2,4@19:00", "跑步"),
    ("每周四三点 开会", "2026-11-19 15:00", "weekly:3@15:00", "开会"),
    ("每周日晚上9点 x", "2026-11-22 21:00", "weekly:6@21:00", "x"),
    ("每周五晚上12点 x", "2026-11-21 00:00", "weekly:5@00:00", "x"),
    ("每天下午6点 x", "2026-11-18 18:00", "daily@18:00", "x"),
    ("天天晚上10点 x", "2026-11-18 22:00", "daily@22:00", "x"),
    ("每日 07:30 x", "2026-11-19 07:30", "daily@07:30", "x"),
    ("每2天 上午8点 x", "2026-11-19 08:00", "daily/2@08:00", "x"),
    ("每个月15号 上午10点 x", "2026-12-15 10:00", "monthly:15@10:00", "x"),
    ("每月31号 上午9点 对账", "2026-11-30 09:00", "monthly:31@09:00", "对账"),
    ("每月最后一天 晚上8点 总结", "2026-11-30 20:00", "monthly:31@20:00", "总结"),
    # --- English: days and dates
    ("today at 6pm x", "2026-11-18 18:00", None, "x"),
    ("tonight at 8 movie", "2026-11-18 20:00", None, "movie"),
    ("tomorrow morning at 8 x", "2026-11-19 08:00", None, "x"),
    ("tomorrow at noon x", "2026-11-19 12:00", None, "x"),
    ("tonight at midnight x", "2026-11-19 00:00", None, "x"),
    ("the day after tomorrow at 10am x", "2026-11-20 10:00", None, "x"),
    ("9am tomorrow x", "2026-11-19 09:00", None, "x"),
    ("friday at 3pm x", "2026-11-20 15:00", None, "x"),
    ("on friday at 3pm x", "2026-11-20 15:00", None, "x"),
    ("this friday at 5pm x", "2026-11-20 17:00", None, "x"),
    ("next friday at 5pm x", "2026-11-20 17:00", None, "x"),
    ("next week friday at 5pm x", "2026-11-27 17:00", None, "x"),
    ("on Dec 1 at 14:00 dentist", "2026-12-01 14:00", None, "dentist"),
    ("on December 1st at 2pm x", "2026-12-01 14:00", None, "x"),
    ("1 Dec at 2pm x", "2026-12-01 14:00", None, "x"),
    ("dec 1 2027 at 09:00 x", "2027-12-01 09:00", None, "x"),
    ("on 2026-12-01 at 14:00 x", "2026-12-01 14:00", None, "x"),
    ("the 25th at 10am x", "2026-11-25 10:00", None, "x"),
    # --- English: clock readings
    ("at 5pm call mom", "2026-11-18 17:00", None, "call mom"),
    ("at 8 x", "2026-11-18 20:00", None, "x"),
    ("at 8:30 x", "2026-11-18 20:30", None, "x"),
    ("at 17:00 x", "2026-11-18 17:00", None, "x"),
    ("at 12am x", "2026-11-19 00:00", None, "x"),
    # --- English: relative
    ("in 2 hours meeting", "2026-11-18 11:00", None, "meeting"),
    ("in 10 minutes x", "2026-11-18 09:10", None, "x"),
    ("in 1.5 hours x", "2026-11-18 10:30", None, "x"),
    ("in an hour x", "2026-11-18 10:00", None, "x"),
    ("in half an hour tea", "2026-11-18 09:30", None, "tea"),
    ("in 1 hour 30 minutes x", "2026-11-18 10:30", None, "x"),
    ("in 3 days x", "2026-11-21 09:00", None, "x"),
    ("in 2 weeks at 9am x", "2026-12-02 09:00", None, "x"),
    ("30 minutes from now x", "2026-11-18 09:30", None, "x"),
    # --- English: recurring
    ("every weekday at 8:30 standup", "2026-11-19 08:30", "weekly:0,1,2,3,4@08:30", "standup"),
    ("every month on the 15th at 10am pay rent", "2026-12-15 10:00", "monthly:15@10:00", "pay rent"),
    ("every day at 7am x", "2026-11-19 07:00", "daily@07:00", "x"),
    ("daily at 18:30 x", "2026-11-18 18:30", "daily@18:30", "x"),
    ("every morning at 7 x", "2026-11-19 07:00", "daily@07:00", "x"),
    ("every evening at 9 x", "2026-11-18 21:00", "daily@21:00", "x"),
    ("every monday and thursday at 8pm x", "2026-11-19 20:00", "weekly:0,3@20:00", "x"),
    ("every mon, wed and fri at 9am gym", "2026-11-20 09:00", "weekly:0,2,4@09:00", "gym"),
    ("every mon-fri at 9am x", "2026-11-19 09:00", "weekly:0,1,2,3,4@09:00", "x"),
    ("every sunday at 10 x", "2026-11-22 10:00", "weekly:6@10:00", "x"),
    ("weekly on tuesday at 3pm x", "2026-11-24 15:00", "weekly:1@15:00", "x"),
    ("every other friday at 4pm demo", "2026-11-20 16:00", "weekly:4/2@16:00", "demo"),
    ("every 2 weeks on friday at 4pm demo", "2026-11-20 16:00", "weekly:4/2@16:00", "demo"),
    ("every month on the 1st at 9am x", "2026-12-01 09:00", "monthly:1@09:00", "x"),
    ("monthly on the 31st at 9am x", "2026-11-30 09:00", "monthly:31@09:00", "x"),
    ("every 15th at 10am x", "2026-12-15 10:00", "monthly:15@10:00", "x"),
    ("every other day at 8am x", "2026-11-19 08:00", "daily/2@08:00", "x"),
    ("every 3 days at 8am x", "2026-11-19 08:00", "daily/3@08:00", "x"),
    ("on the last day of every month at 6pm x", "2026-11-30 18:00", "monthly:31@18:00", "x"),
    # --- the time after the text, and who is addressed
    ("me to call mom at 5pm", "2026-11-18 17:00", None, "call mom"),
    ("交周报 周五下午5点", "2026-11-20 17:00", None, "交周报"),
    ("明天上午9点提醒我开会", "2026-11-19 09:00", None, "开会"),
    ("我 明天上午9点 开会", "2026-11-19 09:00", None, "开会"),
]


@pytest.mark.parametrize(("command", "first", "recurrence", "text"), CASES, ids=[case[0] for case in CASES])
def test_expression_resolves_against_the_message_time(
    command: str, first: str, recurrence: str | None, text: str
) -> None:
    result = parsed(command)
    assert (result.first.strftime("%Y-%m-%d %H:%M"), rule(result.recurrence), result.text) == (
        first,
        recurrence,
        text,
    )
    assert result.first.tzinfo == SHANGHAI


def test_the_table_is_large_and_bilingual() -> None:
    chinese = [case for case in CASES if any("\u4e00" <= char <= "\u9fff" for char in case[0])]
    assert len(CASES) >= 60
    assert len(chinese) >= 30
    assert len(CASES) - len(chinese) >= 30


@pytest.mark.parametrize(
    ("command", "expression"),
    [
        ("明天上午9点 开会", "明天上午9点"),
        ("every friday at 17:00 weekly report", "every friday at 17:00"),
        ("交周报 周五下午5点", "周五下午5点"),
        ("明天上午９点 全角", "明天上午９点"),
    ],
)
def test_the_expression_is_cut_from_the_original_text(command: str, expression: str) -> None:
    assert parsed(command).expression == expression


@pytest.mark.parametrize(
    ("command", "for_me"),
    [
        ("我 明天上午9点 开会", True),
        ("一下我 明天上午9点 开会", True),
        ("一下大家 明天上午9点 开会", False),
        ("明天上午9点提醒我开会", True),
        ("me at 5pm call mom", True),
        ("me to call mom at 5pm", True),
        ("明天上午9点提醒我们开会", False),
        ("我们 明天上午9点 开会", False),
        ("明天上午9点 开会", False),
        ("us at 5pm go home", False),
        ("don't let me forget to call mom at 5pm", True),
        ("明天上午9点别让我忘了开会", True),
    ],
)
def test_addressing_me_makes_it_personal(command: str, for_me: bool) -> None:
    assert parsed(command).for_me is for_me


@pytest.mark.parametrize(
    ("command", "reason"),
    [
        ("hello world", FailureReason.NOT_A_TIME),
        ("在吗", FailureReason.QUESTION),
        ("", FailureReason.NOT_A_TIME),
        ("明天 开会", FailureReason.MISSING_TIME),
        ("周五 交周报", FailureReason.MISSING_TIME),
        ("每天 喝水", FailureReason.MISSING_TIME),
        ("tomorrow standup", FailureReason.MISSING_TIME),
        ("今晚 吃药", FailureReason.MISSING_TIME),
        ("今天上午8点 开会", FailureReason.IN_PAST),
        ("2026-11-01 10:00 x", FailureReason.IN_PAST),
        ("本周一 上午9点 x", FailureReason.IN_PAST),
        ("昨天下午3点 x", FailureReason.IN_PAST),
        ("today at 8am x", FailureReason.IN_PAST),
        ("0分钟后 x", FailureReason.IN_PAST),
        ("25点 开会", FailureReason.INVALID),
        ("2月30日 上午9点 x", FailureReason.INVALID),
        ("13月1日 上午9点 x", FailureReason.INVALID),
        ("上午15点 x", FailureReason.INVALID),
        ("at 13pm x", FailureReason.INVALID),
        ("2040-01-01 10:00 x", FailureReason.TOO_FAR),
        ("明天上午9点", FailureReason.NO_TEXT),
        ("in 5 minutes", FailureReason.NO_TEXT),
    ],
)
def test_no_silent_guess(command: str, reason: FailureReason) -> None:
    assert failed(command).reason is reason


def test_a_past_time_says_when_it_was() -> None:
    failure = failed("今天上午8点 开会")
    assert failure.resolved == datetime(2026, 11, 18, 8, 0, tzinfo=SHANGHAI)
    assert failure.expression == "今天上午8点"


# --- the ambiguity policy for an hour without am/pm


@pytest.mark.parametrize(
    ("hour", "minute", "command", "first"),
    [
        (9, 0, "8点 x", "2026-11-18 20:00"),  # 08:00 passed: the next 8 o'clock is tonight
        (7, 0, "8点 x", "2026-11-18 08:00"),  # still ahead this morning
        (21, 0, "8点 x", "2026-11-19 08:00"),  # both passed today: tomorrow morning
        (20, 30, "8点 x", "2026-11-19 08:00"),
        (13, 0, "12点 x", "2026-11-19 12:00"),  # 12 alone is noon
        (23, 0, "下午3点 x", "2026-11-19 15:00"),  # a part of day but no day: the next one
        (9, 0, "at 8 x", "2026-11-18 20:00"),
        (9, 0, "08:30 x", "2026-11-19 08:30"),  # zero-padded: 24-hour reading, next one
        (9, 0, "周三 8点 x", "2026-11-25 08:00"),  # a named day reads 8 as morning: today's passed
        (9, 0, "周三 10点 x", "2026-11-18 10:00"),  # weekday alone includes today while ahead
    ],
)
def test_hour_without_am_pm(hour: int, minute: int, command: str, first: str) -> None:
    now = datetime(2026, 11, 18, hour, minute, tzinfo=SHANGHAI)
    assert parsed(command, now=now).first.strftime("%Y-%m-%d %H:%M") == first


def test_month_and_day_already_past_this_year_means_next_year() -> None:
    assert parsed("11月1日 上午10点 x").first.date().isoformat() == "2027-11-01"


def test_february_29_waits_for_a_leap_year() -> None:
    assert parsed("2月29日 上午10点 x").first.date().isoformat() == "2028-02-29"


def test_a_day_of_month_that_next_month_lacks_is_invalid() -> None:
    # On Jan 31, "30号" (already past this month) would be Feb 30.
    now = datetime(2027, 1, 31, 9, 0, tzinfo=SHANGHAI)
    assert failed("30号 上午10点 x", now=now).reason is FailureReason.INVALID


def test_resolves_in_the_room_zone_not_the_message_offset() -> None:
    now_utc = datetime(2026, 11, 18, 1, 0, tzinfo=ZoneInfo("UTC"))  # 09:00 in Shanghai
    result = parsed("明天上午9点 开会", now=now_utc)
    assert result.first == datetime(2026, 11, 19, 9, 0, tzinfo=SHANGHAI)


def test_new_york_across_the_spring_forward() -> None:
    now = datetime(2026, 3, 7, 9, 0, tzinfo=NEW_YORK)  # Saturday, EST; DST starts Sunday 02:00
    tomorrow = parsed("tomorrow at 9am x", now=now, zone=NEW_YORK).first
    in_a_day = parsed("in 24 hours x", now=now, zone=NEW_YORK).first
    in_a_day_later = parsed("in 1 days x", now=now, zone=NEW_YORK).first
    gap = parsed("tomorrow at 2:30am x", now=now, zone=NEW_YORK).first
    assert tomorrow.strftime("%H:%M %Z") == "09:00 EDT"
    assert in_a_day.strftime("%H:%M %Z") == "10:00 EDT"  # 24 real hours: the wall clock jumped
    assert in_a_day_later.strftime("%H:%M %Z") == "09:00 EDT"  # a day: same wall-clock time
    assert gap.strftime("%H:%M %Z") == "03:30 EDT"  # 02:30 does not exist that night


def test_long_input_is_cut_not_slow() -> None:
    result = parsed("明天上午9点 " + "很长的内容" * 500)
    assert len(result.text) < 500


@given(
    st.text(
        alphabet=st.sampled_from("明天后周五每月号点半分下午晚上 at pm in 0123456789:-月日to x"), max_size=40
    )
)
@settings(max_examples=300, deadline=None)
def test_any_text_parses_or_fails_cleanly_and_never_in_the_past(command: str) -> None:
    result = parse_reminder(command, now=NOW, zone=SHANGHAI)
    if isinstance(result, ParsedReminder):
        assert result.first > NOW
        assert result.text


def test_an_impossible_time_names_the_piece() -> None:
    failure = failed("明天25点 开会")
    assert (failure.reason, failure.expression) == (FailureReason.INVALID, "25点")


# --- the time wherever it stands in a sentence


@pytest.mark.parametrize(
    ("command", "first", "text"),
    [
        ("下午四点提醒我接孩子", "2026-11-18 16:00", "接孩子"),
        (
            "提醒我给99号房间送水 明天9点",
            "2026-11-19 09:00",
            "给99号房间送水",
        ),  # an impossible "day" in the text
        (
            "提醒我 8点 去3号楼",
            "2026-11-18 20:00",
            "去3号楼",
        ),  # a day in the text is not merged into the time
        ("明天一点提醒我开会", "2026-11-19 13:00", "开会"),  # 一点 after a day is one o'clock
        ("过一刻钟提醒我出门", "2026-11-18 09:15", "出门"),
        ("5min后提醒我喝水", "2026-11-18 09:05", "喝水"),
        ("周末早上10点提醒我去跑步", "2026-11-21 10:00", "去跑步"),
        ("remind me this weekend at 10am to mow the lawn", "2026-11-21 10:00", "mow the lawn"),
        # a day before the request verb is the request's day, wherever the clock stands; one in the task is text
        ("明天提醒我交报告 9点", "2026-11-19 09:00", "交报告"),
        ("周五提醒大家交周报 下午五点", "2026-11-20 17:00", "交周报"),
        ("tomorrow remind me to call mom at 3pm", "2026-11-19 15:00", "call mom"),
        ("8点提醒我准备明天的会", "2026-11-18 20:00", "准备明天的会"),
        # "an hour and a half", not "an hour" and a text starting "and a half"
        ("in an hour and a half remind me to take my medicine", "2026-11-18 10:30", "take my medicine"),
        ("don't let me forget to buy milk tomorrow morning at 7:30", "2026-11-19 07:30", "buy milk"),
        ("明天早上8点别让我忘了带伞", "2026-11-19 08:00", "带伞"),
        ("今晚八点提醒我倒垃圾呗", "2026-11-18 20:00", "倒垃圾"),  # a final particle is not the task's
    ],
)
def test_a_time_anywhere_in_the_sentence(command: str, first: str, text: str) -> None:
    result = parsed(command)
    assert (result.first.strftime("%Y-%m-%d %H:%M"), result.text) == (first, text)


def test_a_little_is_not_one_oclock() -> None:
    """早一点 / 一点点 mean "a bit": without another time piece 一点 is not a time."""
    assert failed("明天早一点提醒我").reason is FailureReason.MISSING_TIME
    assert failed("提醒我买一点点奶茶").reason is FailureReason.NOT_A_TIME


def test_working_days_are_marked_and_weekend_repeats_read() -> None:
    workdays, listed = (
        parsed("每个工作日早上9点 站会").recurrence,
        parsed("周一到周五早上9点 站会").recurrence,
    )
    weekends = parsed("every weekend at 9am hike").recurrence
    assert (workdays is not None and workdays.workdays, listed is not None and listed.workdays) == (
        True,
        False,
    )
    assert rule(weekends) == "weekly:5,6@09:00"


def test_numbers_in_time_pieces_are_bounded() -> None:
    """A run of digits cannot make every scan quadratic: time pieces read at most six digits."""
    assert "{1,6}" in grammar.N
    assert r"\d{1,6}" in grammar.EN
    assert failed("1" * 400).reason is FailureReason.NOT_A_TIME
