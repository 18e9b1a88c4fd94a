"""Every text the scheduler shows users, in Chinese and English (one place, so both stay in step)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from services.scheduler.recurrence import Frequency, Recurrence
from services.scheduler.reminder import Reminder
from services.scheduler.timeparse import FailureReason, ParseFailure
from services.scheduler.workdays import follows_chinese_calendar
from services.shared import Bilingual

_ZH_WEEKDAYS = "一二三四五六日"
_EN_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def local_time(instant: datetime) -> str:
    """The form users see everywhere: 2026-12-01 09:30 (in the instant's own zone)."""
    return instant.strftime("%Y-%m-%d %H:%M")


def describe_recurrence(rule: Recurrence | None, zone: str = "") -> Bilingual:
    if rule is None:
        return Bilingual("不重复", "does not repeat")
    clock = f"{rule.hour:02d}:{rule.minute:02d}"
    if rule.frequency is Frequency.DAILY:
        every_zh = "每天" if rule.interval == 1 else f"每{rule.interval}天"
        every_en = "every day" if rule.interval == 1 else f"every {rule.interval} days"
        return Bilingual(f"{every_zh} {clock} 重复", f"repeats {every_en} at {clock}")
    if rule.frequency is Frequency.WEEKLY:
        return _describe_weekly(rule, clock, zone)
    assert rule.month_day is not None
    every_zh = "每月" if rule.interval == 1 else f"每{rule.interval}个月"
    every_en = "every month" if rule.interval == 1 else f"every {rule.interval} months"
    month_end_zh = "（没有这一天的月份在月末）" if rule.month_day > 28 else ""
    month_end_en = " (or the month's last day)" if rule.month_day > 28 else ""
    return Bilingual(
        f"{every_zh}{rule.month_day}日 {clock} 重复{month_end_zh}",
        f"repeats {every_en} on day {rule.month_day}{month_end_en} at {clock}",
    )


def _describe_weekly(rule: Recurrence, clock: str, zone: str) -> Bilingual:
    if rule.is_workdays and follows_chinese_calendar(zone):
        return Bilingual(
            f"每个工作日（按法定节假日和调休）{clock} 重复",
            f"repeats every working day (China's holidays and adjusted working days) at {clock}",
        )
    if rule.is_workdays:
        return Bilingual(
            f"每个工作日（周一至周五）{clock} 重复", f"repeats every working day (Mon-Fri) at {clock}"
        )
    days_zh = "、".join(_ZH_WEEKDAYS[day] for day in rule.weekdays)
    days_en = ", ".join(_EN_WEEKDAYS[day] for day in rule.weekdays)
    if rule.interval == 1:
        return Bilingual(f"每周{days_zh} {clock} 重复", f"repeats every {days_en} at {clock}")
    return Bilingual(
        f"每{rule.interval}周的周{days_zh} {clock} 重复",
        f"repeats every {rule.interval} weeks on {days_en} at {clock}",
    )


def confirmation(reminder: Reminder) -> Bilingual:
    repeats = describe_recurrence(reminder.recurrence, reminder.zone)
    when = local_time(reminder.next_due)
    return Bilingual(
        f"已设置提醒 #{reminder.id}：{when}（{reminder.zone}），{repeats.zh}。内容：{reminder.text}",
        f"Reminder #{reminder.id} set for {when} ({reminder.zone}), {repeats.en}. Text: {reminder.text}",
    )


_EXAMPLE = Bilingual("明天上午9点提醒我开会", "remind me tomorrow at 9am to call Bob")


def parse_failure(failure: ParseFailure) -> Bilingual:
    """A short explanation and an example, never a guess."""
    expression, when = failure.expression, local_time(failure.resolved) if failure.resolved else ""
    explain: dict[FailureReason, Callable[[], Bilingual]] = {
        FailureReason.MISSING_TIME: lambda: Bilingual(
            f"「{expression}」还缺具体几点。例如：{_EXAMPLE.zh}",
            f"“{expression}” needs a time of day. For example: {_EXAMPLE.en}",
        ),
        FailureReason.IN_PAST: lambda: Bilingual(
            f"「{expression}」（{when}）已经过去了，请给一个将来的时间。例如：{_EXAMPLE.zh}",
            f"“{expression}” ({when}) is already past; give a time in the future. For example: {_EXAMPLE.en}",
        ),
        FailureReason.INVALID: lambda: Bilingual(
            f"「{expression or '这个时间'}」不是一个完整、存在的时间。例如：12月1日下午2点提醒我交报告，或 每周四晚上8点提醒我健身",
            f"That is not a complete, existing time ({failure.detail}). "
            "For example: remind me on Dec 1 at 2pm to send the report",
        ),
        FailureReason.TOO_FAR: lambda: Bilingual(
            "这个时间太远了（最多5年内）。", "That is too far ahead (at most 5 years)."
        ),
        FailureReason.NO_TEXT: lambda: Bilingual(
            f"要提醒什么？请写上内容，例如：{expression}提醒我开会",
            f"What should I say? Add the text, e.g. remind me {expression} to call Bob",
        ),
        FailureReason.QUESTION: lambda: _NOT_A_REQUEST,
        FailureReason.NOT_ASKED: lambda: _NOT_A_REQUEST,
    }
    return explain.get(failure.reason, lambda: _NO_TIME)()


_NOT_A_REQUEST = Bilingual(
    f"这不像是要设置提醒。要设置的话，例如：{_EXAMPLE.zh}，或 每周四晚上8点提醒大家开周会",
    f"That does not read as a reminder to set. For example: {_EXAMPLE.en}, "
    "or every friday at 5pm remind us to send the report",
)
_NO_TIME = Bilingual(
    f"没看懂时间。例如：{_EXAMPLE.zh}，或 每周四晚上8点提醒大家开周会",
    f"I could not read a time. For example: {_EXAMPLE.en}, or every friday at 5pm remind us to send the report",
)


def listing(reminders: list[Reminder], *, limit: int = 20) -> Bilingual:
    if not reminders:
        return Bilingual("这里没有待发的提醒。", "No pending reminders here.")
    lines_zh = ["待发的提醒："]
    lines_en = ["Pending reminders:"]
    for reminder in reminders[:limit]:
        when = local_time(reminder.next_due)
        repeats = describe_recurrence(reminder.recurrence, reminder.zone) if reminder.recurrence else None
        by = f"（{reminder.creator_name}）" if reminder.creator_name else ""
        lines_zh.append(f"#{reminder.id} {when}{'，' + repeats.zh if repeats else ''}：{reminder.text}{by}")
        by_en = f" ({reminder.creator_name})" if reminder.creator_name else ""
        lines_en.append(
            f"#{reminder.id} {when}{', ' + repeats.en if repeats else ''}: {reminder.text}{by_en}"
        )
    if len(reminders) > limit:
        lines_zh.append(f"……还有 {len(reminders) - limit} 条")
        lines_en.append(f"… and {len(reminders) - limit} more")
    return Bilingual("\n".join(lines_zh), "\n".join(lines_en))


def cancelled(reminder_id: str) -> Bilingual:
    return Bilingual(f"已取消提醒 #{reminder_id}。", f"Reminder #{reminder_id} cancelled.")


def not_found(reminder_id: str) -> Bilingual:
    return Bilingual(
        f"没有找到提醒 #{reminder_id}。发送「提醒列表」查看编号。",
        f"No reminder #{reminder_id} here. Send “reminders” to see the ids.",
    )


def not_allowed(reminder_id: str) -> Bilingual:
    return Bilingual(
        f"只有设置提醒 #{reminder_id} 的人或管理员可以取消它。",
        f"Only whoever set reminder #{reminder_id}, or an admin, can cancel it.",
    )


def cancel_usage() -> Bilingual:
    return Bilingual("请给出提醒编号，例如：取消提醒 12", "Give the reminder id, e.g. cancel 12")


def firing_text(reminder: Reminder, *, late_by: timedelta, missed: bool) -> str:
    """What is said when it fires, with a note when it comes late (in the language it was set in)."""
    minutes = max(1, round(late_by.total_seconds() / 60))
    due = local_time(reminder.next_due)
    if missed:
        note = Bilingual(f"（错过的提醒，原定 {due}）", f"(missed reminder, was due {due})")
    elif late_by > timedelta(0):
        note = Bilingual(f"（晚了 {minutes} 分钟，原定 {due}）", f"(late by {minutes} min, was due {due})")
    else:
        return f"⏰ {reminder.text}"
    return f"⏰ {reminder.text} {note.pick(reminder.lang)}"


def limit_reached(scope: str, limit: int, *, in_room: bool) -> Bilingual:
    """A quota on active reminders is reached: say which, and how to make room."""
    if scope == "creator":
        return Bilingual(
            f"你已有 {limit} 条待发的提醒，达到上限。请先取消一些（提醒列表 / 取消提醒 <编号>）。",
            f"You already have {limit} pending reminders, the limit. Cancel some first (reminders / cancel <id>).",
        )
    where = Bilingual("本群", "This room") if in_room else Bilingual("这里", "This chat")
    return Bilingual(
        f"{where.zh}已有 {limit} 条待发的提醒，达到上限。请先取消一些（提醒列表 / 取消提醒 <编号>）。",
        f"{where.en} already has {limit} pending reminders, the limit. Cancel some first (reminders / cancel <id>).",
    )
