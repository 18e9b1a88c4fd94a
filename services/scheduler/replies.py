"""Every text the scheduler shows users, in Chinese and English (one place, so both stay in step)."""

from __future__ import annotations

from datetime import datetime, timedelta

from services.scheduler.recurrence import Frequency, Recurrence
from services.scheduler.reminder import Reminder
from services.scheduler.timeparse import FailureReason, ParseFailure
from services.shared import Bilingual

_ZH_WEEKDAYS = "一二三四五六日"
_EN_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def local_time(instant: datetime) -> str:
    """The form users see everywhere: 2026-12-01 09:30 (in the instant's own zone)."""
    return instant.strftime("%Y-%m-%d %H:%M")


def describe_recurrence(rule: Recurrence | None) -> Bilingual:
    if rule is None:
        return Bilingual("不重复", "does not repeat")
    clock = f"{rule.hour:02d}:{rule.minute:02d}"
    if rule.frequency is Frequency.DAILY:
        every_zh = "每天" if rule.interval == 1 else f"每{rule.interval}天"
        every_en = "every day" if rule.interval == 1 else f"every {rule.interval} days"
        return Bilingual(f"{every_zh} {clock} 重复", f"repeats {every_en} at {clock}")
    if rule.frequency is Frequency.WEEKLY:
        if rule.is_workdays:
            return Bilingual(
                f"每个工作日（周一至周五）{clock} 重复", f"repeats every weekday (Mon-Fri) at {clock}"
            )
        days_zh = "、".join(_ZH_WEEKDAYS[day] for day in rule.weekdays)
        days_en = ", ".join(_EN_WEEKDAYS[day] for day in rule.weekdays)
        if rule.interval == 1:
            return Bilingual(f"每周{days_zh} {clock} 重复", f"repeats every {days_en} at {clock}")
        return Bilingual(
            f"每{rule.interval}周的周{days_zh} {clock} 重复",
            f"repeats every {rule.interval} weeks on {days_en} at {clock}",
        )
    assert rule.month_day is not None
    every_zh = "每月" if rule.interval == 1 else f"每{rule.interval}个月"
    every_en = "every month" if rule.interval == 1 else f"every {rule.interval} months"
    month_end_zh = "（没有这一天的月份在月末）" if rule.month_day > 28 else ""
    month_end_en = " (or the month's last day)" if rule.month_day > 28 else ""
    return Bilingual(
        f"{every_zh}{rule.month_day}日 {clock} 重复{month_end_zh}",
        f"repeats {every_en} on day {rule.month_day}{month_end_en} at {clock}",
    )


def confirmation(reminder: Reminder) -> Bilingual:
    repeats = describe_recurrence(reminder.recurrence)
    when = local_time(reminder.next_due)
    return Bilingual(
        f"已设置提醒 #{reminder.id}：{when}（{reminder.zone}），{repeats.zh}。内容：{reminder.text}",
        f"Reminder #{reminder.id} set for {when} ({reminder.zone}), {repeats.en}. Text: {reminder.text}",
    )


_EXAMPLE = Bilingual("提醒 明天上午9点 开会", "remind tomorrow at 9am standup")


def parse_failure(failure: ParseFailure) -> Bilingual:
    """A short explanation and an example, never a guess."""
    expression = failure.expression
    if failure.reason is FailureReason.MISSING_TIME:
        return Bilingual(
            f"「{expression}」还缺具体几点。例如：{_EXAMPLE.zh}",
            f"“{expression}” needs a time of day. For example: {_EXAMPLE.en}",
        )
    if failure.reason is FailureReason.IN_PAST:
        when = local_time(failure.resolved) if failure.resolved else ""
        return Bilingual(
            f"「{expression}」（{when}）已经过去了，请给一个将来的时间。例如：{_EXAMPLE.zh}",
            f"“{expression}” ({when}) is already past; give a time in the future. For example: {_EXAMPLE.en}",
        )
    if failure.reason is FailureReason.INVALID:
        return Bilingual(
            f"「{expression or '这个时间'}」不是一个完整、存在的时间。例如：提醒 12月1日 下午2点 交报告，或 提醒 每周四晚上8点 健身",
            f"That is not a complete, existing time ({failure.detail}). "
            "For example: remind on Dec 1 at 2pm send the report",
        )
    if failure.reason is FailureReason.TOO_FAR:
        return Bilingual("这个时间太远了（最多5年内）。", "That is too far ahead (at most 5 years).")
    if failure.reason is FailureReason.NO_TEXT:
        return Bilingual(
            f"要提醒什么？请在时间后面写上内容，例如：提醒 {expression} 开会",
            f"What should I say? Put the text after the time, e.g. remind {expression} standup",
        )
    return Bilingual(
        f"没看懂时间。请先写时间再写内容，例如：{_EXAMPLE.zh}，或 提醒 每周四晚上8点 健身",
        f"I could not read a time. Put the time first, then the text, e.g. {_EXAMPLE.en} "
        "or remind every friday at 17:00 weekly report",
    )


def listing(reminders: list[Reminder], *, limit: int = 20) -> Bilingual:
    if not reminders:
        return Bilingual("这里没有待发的提醒。", "No pending reminders here.")
    lines_zh = ["待发的提醒："]
    lines_en = ["Pending reminders:"]
    for reminder in reminders[:limit]:
        when = local_time(reminder.next_due)
        repeats = describe_recurrence(reminder.recurrence) if reminder.recurrence else None
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


def zone_shown(zone: str, *, overridden: bool) -> Bilingual:
    source = Bilingual("本群设置", "set here") if overridden else Bilingual("默认", "default")
    return Bilingual(
        f"时区：{zone}（{source.zh}）。管理员可发送「时区 Asia/Tokyo」修改，「时区 默认」恢复。",
        f"Time zone: {zone} ({source.en}). Admins can send “timezone Asia/Tokyo”, or “timezone default”.",
    )


def zone_set(zone: str) -> Bilingual:
    return Bilingual(
        f"时区已设为 {zone}，之后设置的提醒按此时区理解。",
        f"Time zone set to {zone} for reminders set from now on.",
    )


def zone_unknown(name: str) -> Bilingual:
    return Bilingual(
        f"不认识时区「{name}」。请用 IANA 名称，例如 Asia/Shanghai、Europe/Berlin。",
        f"Unknown time zone “{name}”. Use an IANA name such as Asia/Shanghai or Europe/Berlin.",
    )


def zone_not_allowed() -> Bilingual:
    return Bilingual("只有管理员可以修改本群的时区。", "Only admins can change this room's time zone.")


def zone_rooms_only(zone: str) -> Bilingual:
    return Bilingual(
        f"时区按群设置；私聊中的提醒使用默认时区 {zone}。",
        f"Time zones are set per room; reminders in a direct chat use the default, {zone}.",
    )
