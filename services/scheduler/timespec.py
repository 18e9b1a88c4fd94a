"""What a time expression said, before it is resolved against the message's timestamp.

The grammars (`grammar_zh`, `grammar_en`) recognise pieces ("明天", "下午", "3点半", "every friday") and each
piece fills one or more slots of a `TimeSpec`. A slot is filled at most once, which is also how the scanner knows
where the time expression ends and the reminder text begins.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import timedelta
from enum import Enum
from typing import Literal

from services.scheduler.recurrence import Frequency


class Period(Enum):
    """A part of the day that says how to read a 12-hour clock time."""

    EARLY_MORNING = "early_morning"  # 凌晨: 12 -> 0, otherwise as written
    MORNING = "morning"  # 早上 / 上午 / morning: as written (上午12点 stays 12)
    AM = "am"  # 9am: as written, 12am -> 0
    NOON = "noon"  # 中午: 11, 12 as written, 1..3 -> afternoon
    AFTERNOON = "afternoon"  # 下午 / pm / afternoon: +12 below 12
    EVENING = "evening"  # 晚上 / tonight: 5..11 -> +12, 12 -> midnight, 0..4 -> after midnight


@dataclass(frozen=True)
class Clock:
    hour: int
    minute: int
    explicit_24h: bool = False
    """True for 0:xx, 13:00..23:59 and zero-padded times like 08:30: the hour needs no am/pm reading."""


@dataclass(frozen=True)
class DayOffset:
    """今天 / 明天 / 后天 (relative=False) or 3天后 / in 3 days (relative=True: without a clock, same time of day)."""

    days: int
    relative: bool = False


WeekMode = Literal["upcoming", "this_week", "next_week", "week_after_next", "after_today"]
"""upcoming: the next such weekday, today included if the time is still ahead (周五 / friday);
this_week / next_week / week_after_next: in the calendar week (Monday to Sunday) this, next, the one after (本周五,
下周五, 下下周五, this friday); after_today: the first such weekday after today (next friday)."""


@dataclass(frozen=True)
class WeekdayRef:
    weekday: int
    mode: WeekMode


@dataclass(frozen=True)
class DateRef:
    """A calendar date; missing year / month are taken from the message date (rolled forward if already past)."""

    day: int
    month: int | None = None
    year: int | None = None
    month_offset: int = 0
    year_offset: int = 0


@dataclass(frozen=True)
class Repeat:
    frequency: Frequency
    weekdays: tuple[int, ...] = ()
    month_day: int | None = None
    interval: int = 1
    workdays: bool = False
    """工作日 / every workday: working days (China's calendar in Chinese zones), not just Monday to Friday."""


Day = DayOffset | WeekdayRef | DateRef


@dataclass(frozen=True)
class TimeSpec:
    day: Day | None = None
    period: Period | None = None
    clock: Clock | None = None
    delta: timedelta | None = None
    repeat: Repeat | None = None
    pieces: tuple[str, ...] = field(default=())
    """The recognised pieces, in order (for diagnostics and tests)."""

    @property
    def is_empty(self) -> bool:
        return not self.pieces

    def merged(self, fill: Fill, piece: str) -> TimeSpec | None:
        """This spec with `fill`'s slots added, or None when a slot is taken or the combination is impossible."""
        fill = _as_weekdays_of_open_repeat(self, fill)
        merged = self
        for name in ("day", "period", "clock", "delta", "repeat"):
            value = getattr(fill, name)
            if value is None:
                continue
            current = getattr(merged, name)
            if current is not None and not _completes_open_repeat(current, value):
                return None
            merged = replace(
                merged, **{name: value if current is None else replace(current, weekdays=value.weekdays)}
            )
        if not _compatible(merged):
            return None
        return replace(merged, pieces=(*self.pieces, piece))

    def combined(self, other: TimeSpec) -> TimeSpec | None:
        """Two expressions of one sentence read as one ("周五晚上 … 8点"), or None if they say different things."""
        fill = Fill(
            day=other.day, period=other.period, clock=other.clock, delta=other.delta, repeat=other.repeat
        )
        merged = self.merged(fill, "")
        return None if merged is None else replace(merged, pieces=(*self.pieces, *other.pieces))

    @property
    def complete(self) -> bool:
        """Names a moment (a clock time, a delay, or "in 3 days"), not just a day or a repeat."""
        return (
            self.clock is not None
            or self.delta is not None
            or (isinstance(self.day, DayOffset) and self.day.relative)
        )


@dataclass(frozen=True)
class Fill:
    """The slots one recognised piece fills."""

    day: Day | None = None
    period: Period | None = None
    clock: Clock | None = None
    delta: timedelta | None = None
    repeat: Repeat | None = None


def _is_open_weekly(repeat: Repeat | None) -> bool:
    """ "每两周" / "every 2 weeks" before its weekdays are known."""
    return repeat is not None and repeat.frequency is Frequency.WEEKLY and not repeat.weekdays


def _as_weekdays_of_open_repeat(spec: TimeSpec, fill: Fill) -> Fill:
    """After "每两周" / "every week on", a weekday ("周四", "friday") says which day of the week it repeats."""
    if _is_open_weekly(spec.repeat) and isinstance(fill.day, WeekdayRef) and fill.day.mode == "upcoming":
        return Fill(repeat=Repeat(Frequency.WEEKLY, weekdays=(fill.day.weekday,)))
    return fill


def _completes_open_repeat(current: object, new: object) -> bool:
    return (
        isinstance(current, Repeat)
        and isinstance(new, Repeat)
        and _is_open_weekly(current)
        and new.frequency is Frequency.WEEKLY
        and bool(new.weekdays)
        and new.interval == 1
    )


def _compatible(spec: TimeSpec) -> bool:
    """Slots that cannot go together: a repeat has no date, a relative delta has no date, period or clock."""
    if spec.repeat is not None and (spec.day is not None or spec.delta is not None):
        return False
    return spec.delta is None or (spec.day is None and spec.clock is None and spec.period is None)
