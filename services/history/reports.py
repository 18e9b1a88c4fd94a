"""A daily or weekly report of a room: what the kept messages and unanswered questions of the period add up to,
as a short text (the chart is drawn by chart.py from the same figures). Pure."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from schemas import HistoryMessage
from services.history import text as words_of
from services.history.summary import SummaryOptions, digest
from services.history.unanswered import UnansweredRecord
from services.shared.commands import Lang

Kind = Literal["daily", "weekly"]
PERIOD: dict[Kind, timedelta] = {"daily": timedelta(days=1), "weekly": timedelta(days=7)}
_WEEKDAYS_ZH = "一二三四五六日"
_WEEKDAYS_EN = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True)
class ReportFigures:
    kind: Kind
    room_name: str
    since: datetime
    until: datetime
    zone: ZoneInfo
    messages: int
    members: int
    buckets: list[tuple[str, int]]
    """Messages per local hour (daily) or per local day (weekly), in order, with their labels."""
    busiest: list[str]
    topics: list[str]
    unanswered: list[tuple[str, int]]
    leaders: list[tuple[str, int]]
    """Most active members (only when the room opted in), else empty."""


def figures(
    kind: Kind,
    messages: Sequence[HistoryMessage],
    questions: Sequence[UnansweredRecord],
    *,
    room_name: str,
    until: datetime,
    zone: ZoneInfo,
    lang: Lang,
    leaderboard: bool,
) -> ReportFigures:
    since = until - PERIOD[kind]
    local_since = since.astimezone(zone)
    if kind == "daily":
        keys = [(local_since + timedelta(hours=h)).strftime("%Y-%m-%d %H") for h in range(24)]
        labels = [k[-2:] for k in keys]
        key_of = "%Y-%m-%d %H"
    else:
        last_day = (until - timedelta(seconds=1)).astimezone(zone)
        days = [last_day - timedelta(days=d) for d in range(6, -1, -1)]
        keys = [d.strftime("%Y-%m-%d") for d in days]
        labels = [(_WEEKDAYS_ZH[d.weekday()] if lang == "zh" else _WEEKDAYS_EN[d.weekday()]) for d in days]
        key_of = "%Y-%m-%d"
    counts: Counter[str] = Counter(m.timestamp.astimezone(zone).strftime(key_of) for m in messages)
    buckets = [(label, counts.get(key, 0)) for key, label in zip(keys, labels, strict=True)]
    busiest_order = sorted((b for b in buckets if b[1]), key=lambda b: -b[1])[:3]
    if kind == "daily":
        busiest = [f"{label}-{(int(label) + 1) % 24:02d}" for label, _ in busiest_order]
    else:
        busiest = [label for label, _ in busiest_order]
    found = digest(messages, SummaryOptions(lang=lang, label="")) if messages else None
    topics = ["/".join(t.keywords[:2]) for t in found.topics[:3]] if found else []
    talkers = Counter(m.talker.id for m in messages)
    names = {m.talker.id: m.talker.name for m in messages}
    in_period = [q for q in questions if since.timestamp() <= q.last_at < until.timestamp()]
    return ReportFigures(
        kind=kind,
        room_name=room_name,
        since=since,
        until=until,
        zone=zone,
        messages=len(messages),
        members=len(talkers),
        buckets=buckets,
        busiest=busiest,
        topics=topics,
        unanswered=[(q.question, q.count) for q in sorted(in_period, key=lambda q: -q.count)],
        leaders=[(names[who], n) for who, n in talkers.most_common(5)] if leaderboard else [],
    )


def title(found: ReportFigures, lang: Lang) -> str:
    day = (found.until - timedelta(seconds=1)).astimezone(found.zone)
    first = day - timedelta(days=6)
    if lang == "zh":
        when = f"{day.month}月{day.day}日" if found.kind == "daily" else f"{first:%m.%d}–{day:%m.%d}"
        return f"{found.room_name} {'日报' if found.kind == 'daily' else '周报'}（{when}）"
    when = f"{day:%b} {day.day}" if found.kind == "daily" else f"{first:%b} {first.day}–{day:%b} {day.day}"
    return f"{found.room_name} {'daily' if found.kind == 'daily' else 'weekly'} report ({when})"


def render_text(found: ReportFigures, lang: Lang) -> str:
    zh = lang == "zh"
    lines = ["📊 " + title(found, lang)]
    if not found.messages:
        lines.append("这段时间没有保存的消息。" if zh else "No kept messages in this period.")
        return "\n".join(lines)
    busy = ("、" if zh else ", ").join(found.busiest)
    if zh:
        lines.append(
            f"消息 {found.messages} 条，活跃 {found.members} 人；最忙：{busy}{'点' if found.kind == 'daily' else ''}"
        )
    else:
        lines.append(f"{found.messages} messages from {found.members} members; busiest: {busy}")
    if found.topics:
        lines.append(("热门话题：" if zh else "Top topics: ") + ("、" if zh else ", ").join(found.topics))
    if found.unanswered:
        shown = ("、" if zh else ", ").join(
            f"{words_of.shorten(q, 24)}（{n} 次）" if zh else f"{words_of.shorten(q, 24)} ({n}x)"
            for q, n in found.unanswered[:3]
        )
        count = len(found.unanswered)
        lines.append(f"没答上的问题 {count} 个：{shown}" if zh else f"{count} unanswered: {shown}")
    if found.leaders:
        board = ("、" if zh else ", ").join(f"{name} {n}" for name, n in found.leaders)
        lines.append(("活跃榜：" if zh else "Most active: ") + board)
    return "\n".join(lines)
