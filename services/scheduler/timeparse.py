"""Turn `<time expression> <text>` (Chinese or English) into the first firing, a recurrence and the text.

Everything resolves against the message's timestamp in the room's time zone — never the server clock — so the
same message always gives the same result. Nothing is guessed silently: an expression that names no time, a date
without a time of day, an impossible date or a time before the message comes back as a `ParseFailure` that the
caller explains to the user with an example.

Reading an hour without am/pm ("8点", "at 8", "8:30"), decided here:

- No day named ("8点", "at 8"): the next time a 12-hour clock shows that time. At 09:00, "8点" is today 20:00 and
  "10点" is today 10:00; at 21:00, "8点" is tomorrow 08:00. "12点" alone is noon.
- A day or a repeat named ("明天8点", "周五3点", "每天7点", "every day at 9"): daytime reading — 7..12 as written,
  1..6 in the afternoon (13..18), because nobody means 03:00 without saying 凌晨 / am. "明天3点" is 15:00.
- Explicit readings win: a part of day (上午/下午/晚上/凌晨/am/pm/morning/tonight...), 0 or 13..23, or a
  zero-padded time ("08:30", "2026-12-01 09:30") is taken as written.

Other decisions: a weekday alone ("周五", "friday") is the next one, today included if the time is still ahead;
"下周五" is Friday of the next calendar week (weeks start on Monday); "next friday" is the first Friday after today.
A month and day without a year ("12月1日", "Dec 1") that already passed this year means next year; a day of the
month alone ("15号", "the 15th") that already passed this month means next month. "晚上12点" / "midnight" is the
end of the day named (00:00 the day after). A recurrence's first firing is its first occurrence after the message.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from services.scheduler.grammar import (
    ANY_PIECE,
    PIECES,
    InvalidTimeError,
    NeedsContextError,
    NotThisPieceError,
)
from services.scheduler.phrasing import Request, Target, clean_task, find_request, is_question
from services.scheduler.recurrence import Frequency, Recurrence, local_instant
from services.scheduler.timespec import Clock, DateRef, DayOffset, Period, Repeat, TimeSpec, WeekdayRef
from services.shared import Bilingual
from services.shared.commands import language_of

MAX_INPUT = 500
"""Longer commands are cut: a time expression is short and the scanner is quadratic in the worst case."""
MAX_YEARS_AHEAD = 5


class FailureReason(StrEnum):
    NOT_A_TIME = "not_a_time"  # nothing that reads as a time
    MISSING_TIME = "missing_time"  # a day or repeat but no time of day ("明天开会")
    INVALID = "invalid"  # an impossible time or date (25点, 2月30日)
    IN_PAST = "in_past"  # resolves to the message's time or before
    TOO_FAR = "too_far"  # more than MAX_YEARS_AHEAD years ahead
    NO_TEXT = "no_text"  # a time but nothing to remind of, and nobody named
    QUESTION = "question"  # asks something ("明天几点开会？"), it does not ask for a reminder
    NOT_ASKED = "not_asked"  # a time, but no reminder verb in imperative position ("提醒的内容是明天9点开会")


@dataclass(frozen=True)
class ParsedReminder:
    first: datetime
    """The first firing, aware, in the room's zone."""
    recurrence: Recurrence | None
    text: str
    expression: str
    """The part of the command read as the time."""
    for_me: bool = False
    """Addressed to the sender ("remind me", "提醒我"): the firing mentions them."""
    target: Target = Target.NONE
    mentioned: tuple[str, ...] = ()
    """@names the reminder is for (their contact ids come with the message)."""
    asked: bool = False
    """A reminder verb in imperative position ("提醒我", "remind us", "记得"): the sentence asks for it."""


@dataclass(frozen=True)
class ParseFailure:
    reason: FailureReason
    expression: str = ""
    detail: str = ""
    resolved: datetime | None = None
    """For IN_PAST: the instant the expression meant."""
    asked: bool = False
    """As in ParsedReminder: the sentence asks for a reminder (so a failure deserves an explanation)."""


ParseResult = ParsedReminder | ParseFailure

DEFAULT_TEXT = Bilingual("时间到了", "time's up")
"""Said when a reminder names whom to remind but not what ("一小时后叫我")."""


def parse_reminder(command: str, *, now: datetime, zone: ZoneInfo) -> ParseResult:
    """Read a reminder out of a message body (or a command's arguments) and resolve it against `now` (the message
    timestamp): the time expression wherever it stands, the request around it (verb, target), and the rest as the
    text. The keyword form (`提醒 明天9点 开会`) and a plain sentence (`明天9点提醒我开会`) go through here alike."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    original = command.strip()[:MAX_INPUT]
    normalised, positions = _normalise(original)
    found, invalid = _find_times(normalised)
    request = find_request(normalised, [(item.start, item.end) for item in found])
    chosen, spec = _choose(found, normalised, request)
    cut = [(request.start, request.end), *((item.start, item.end) for item in chosen)]
    task = clean_task(_remove(normalised, cut))
    text = clean_task(_visible(_remove(original, [(positions[a], positions[b]) for a, b in cut])))
    if is_question(normalised, request, task):
        return ParseFailure(FailureReason.QUESTION, asked=request.verb)
    # An impossible piece next to the time ("13月1日 上午9点") or instead of one ("25点") is not skipped silently;
    # one inside the text ("给99号房间送水") is text.
    spans = [(item.start, item.end) for item in chosen]
    broken = next(
        (e for e in invalid if spec is None or _adjacent((e.start, e.end), spans, normalised, request)), None
    )
    if broken is not None:
        return ParseFailure(
            FailureReason.INVALID, expression=broken.piece, detail=str(broken), asked=request.verb
        )
    if spec is None:
        return ParseFailure(FailureReason.NOT_A_TIME, asked=request.verb)
    expression = " ".join(original[positions[item.start] : positions[item.end]].strip() for item in chosen)
    resolved = resolve(spec, now=now, zone=zone)
    if isinstance(resolved, ParseFailure):
        return replace(resolved, expression=expression, asked=request.verb)
    first, recurrence = resolved
    if not text:
        if request.target is Target.NONE:
            return ParseFailure(FailureReason.NO_TEXT, expression=expression, asked=request.verb)
        text = DEFAULT_TEXT.pick(language_of(original))
    return ParsedReminder(
        first=first,
        recurrence=recurrence,
        text=text,
        expression=expression,
        for_me=request.target is Target.ME,
        target=request.target,
        mentioned=_as_written(request.mentioned, original[positions[request.start] : positions[request.end]]),
        asked=request.verb,
    )


# ---------------------------------------------------------------- splitting


@dataclass(frozen=True)
class _Found:
    spec: TimeSpec
    start: int
    end: int


_ASCII_WORD = re.compile(r"[a-z0-9]")
_JOINERS = re.compile(r"[\s,、]*")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def _normalise(text: str) -> tuple[str, list[int]]:
    """NFKC + lower case, char by char, with each normalised index mapped back to the original (+ the end).
    Invisible characters (zero-width spaces and joiners, bidi marks: Unicode category Cf) are dropped."""
    chars: list[str] = []
    positions: list[int] = []
    for index, char in enumerate(text):
        if unicodedata.category(char) == "Cf":
            continue
        for out in unicodedata.normalize("NFKC", char).lower():
            chars.append(out)
            positions.append(index)
    positions.append(len(text))
    return "".join(chars), positions


def _find_times(text: str) -> tuple[list[_Found], list[InvalidTimeError]]:
    """Every time expression, left to right, each as long as its pieces go; and the impossible pieces seen."""
    found: list[_Found] = []
    invalid: list[InvalidTimeError] = []
    at = 0
    while (candidate := ANY_PIECE.search(text, at)) is not None:
        start = candidate.start()
        if start > 0 and _ASCII_WORD.match(text[start - 1]) and _ASCII_WORD.match(text[start]):
            at = start + 1  # not at a word start
            continue
        try:
            spec, end = scan(text, start)
        except InvalidTimeError as error:
            invalid.append(error)
            at = max(start + 1, error.end)
            continue
        if spec.is_empty:
            at = start + 1
            continue
        found.append(_Found(spec, start, end))
        at = end
    return found, invalid


def _choose(found: list[_Found], text: str, request: Request) -> tuple[list[_Found], TimeSpec | None]:
    """The expression that names a moment (the first one with a clock time or a delay, else the first), with the
    expressions right next to it — separated only by the request or spaces — that complete it ("周五晚上 记得提醒
    我 8点"); and what they say together. Other expressions stay in the text: "提醒我 8点 去3号楼" is not about the
    3rd of the month."""
    if not found:
        return [], None
    main = next((item for item in found if item.spec.complete), found[0])
    chosen, spec = [main], main.spec
    index = found.index(main)
    for step in (-1, 1):
        neighbour, edge = index + step, main
        while 0 <= neighbour < len(found):
            other = found[neighbour]
            gap = (other.end, edge.start) if step < 0 else (edge.end, other.start)
            merged = other.spec.combined(spec) if step < 0 else spec.combined(other.spec)
            if merged is None or not _only_request_between(text, gap, request):
                break
            chosen.append(other)
            spec, edge, neighbour = merged, other, neighbour + step
    # A day said before the request verb ("明天提醒我交报告 9点", "周五提醒大家交周报 下午五点") is the request's, however
    # far behind the task the clock comes; one inside the task ("9点提醒我准备明天的会") stays text.
    first = min(chosen, key=lambda item: item.start)
    before = [item for item in found if item.end <= first.start and item.start < request.end]
    if request.verb and before and _only_request_between(text, (before[-1].end, request.end), request):
        merged = before[-1].spec.combined(spec)
        if merged is not None:
            chosen.append(before[-1])
            spec = merged
    return sorted(chosen, key=lambda item: item.start), spec


def _adjacent(span: tuple[int, int], others: list[tuple[int, int]], text: str, request: Request) -> bool:
    return any(
        _only_request_between(text, (min(end, other_end), max(start, other_start)), request)
        for start, end in [span]
        for other_start, other_end in others
    )


def _only_request_between(text: str, gap: tuple[int, int], request: Request) -> bool:
    return all(
        request.start <= index < request.end or text[index].isspace() or text[index] in ",，、"
        for index in range(*gap)
    )


def _as_written(names: tuple[str, ...], span: str) -> tuple[str, ...]:
    """The @names as the member wrote them (the parser saw them lower-cased)."""
    written = tuple(_visible(name) for name in re.findall(r"@([^\s@]+)", span))
    return written if len(written) == len(names) else names


def _visible(text: str) -> str:
    return "".join(char for char in text if unicodedata.category(char) != "Cf")


def _remove(text: str, spans: list[tuple[int, int]]) -> str:
    """`text` without the spans; the pieces left are joined with a space between two words of Latin script and
    directly otherwise ("我 明天8点 要交报告" -> "我要交报告", "call mom at 5pm today" -> "call mom today")."""
    pieces: list[str] = []
    at = 0
    for start, end in sorted(span for span in spans if span[1] > span[0]):
        if start > at:
            pieces.append(text[at:start])
        at = max(at, end)
    pieces.append(text[at:])
    joined = ""
    for piece in (piece.strip() for piece in pieces):
        if not piece:
            continue
        if joined and not (_CJK.match(joined[-1]) or _CJK.match(piece[0])):
            joined += " "
        joined += piece
    return joined


def scan(text: str, start: int) -> tuple[TimeSpec, int]:
    """Read pieces from `start` while each fills a free slot; returns the spec and where the expression ends."""
    spec, end = TimeSpec(), start
    while True:
        position = _JOINERS.match(text, end)
        at = position.end() if position else end
        if ANY_PIECE.match(text, at) is None:  # one regex instead of every piece where none can start
            return spec, end
        best: tuple[TimeSpec, int] | None = None
        for piece in PIECES:
            match = piece.pattern.match(text, at)
            if match is None or match.end() == at or not _on_word_boundaries(text, at, match.end()):
                continue
            try:
                fill = piece.build(match)
            except NotThisPieceError:
                continue
            except NeedsContextError as needs:
                if spec.is_empty:
                    continue
                fill = needs.fill
            except InvalidTimeError as error:
                error.piece, error.start, error.end = match.group(), match.start(), match.end()
                raise
            merged = spec.merged(fill, match.group())
            if merged is not None and (best is None or match.end() > best[1]):
                best = (merged, match.end())
        if best is None:
            return spec, end
        spec, end = best


def _on_word_boundaries(text: str, start: int, end: int) -> bool:
    """English pieces must not start or end inside a word ("sun" in "sunny", "week" in "weekday")."""
    inside_start = (
        start > 0 and bool(_ASCII_WORD.match(text[start - 1])) and bool(_ASCII_WORD.match(text[start]))
    )
    inside_end = (
        end < len(text) and bool(_ASCII_WORD.match(text[end - 1])) and bool(_ASCII_WORD.match(text[end]))
    )
    return not inside_start and not inside_end


# ---------------------------------------------------------------- resolving


def resolve(
    spec: TimeSpec, *, now: datetime, zone: ZoneInfo
) -> tuple[datetime, Recurrence | None] | ParseFailure:
    """The first firing (and recurrence) that `spec` means for a message sent at `now`."""
    local_now = now.astimezone(zone)
    try:
        if spec.delta is not None:
            first = (now.astimezone(UTC) + spec.delta).astimezone(zone)  # real elapsed time, not wall time
            recurrence = None
        elif spec.clock is None and not (isinstance(spec.day, DayOffset) and spec.day.relative):
            return ParseFailure(FailureReason.MISSING_TIME)
        elif spec.repeat is not None:
            first, recurrence = _resolve_repeat(spec.repeat, spec, local_now, zone)
        elif spec.clock is None:  # "3天后" / "in 3 days": the same time of day, N days later
            assert isinstance(spec.day, DayOffset)
            wall = local_now.replace(tzinfo=None) + timedelta(days=spec.day.days)
            first, recurrence = wall.replace(tzinfo=zone).astimezone(UTC).astimezone(zone), None
        else:
            first, recurrence = _resolve_once(spec, spec.clock, local_now, zone), None
    except InvalidTimeError as error:
        return ParseFailure(FailureReason.INVALID, detail=str(error))
    except (ValueError, OverflowError) as error:  # date() and timedelta() refuse impossible values
        return ParseFailure(FailureReason.INVALID, detail=str(error))
    if not _later(first, now):
        return ParseFailure(FailureReason.IN_PAST, resolved=first)
    if first.year > local_now.year + MAX_YEARS_AHEAD:
        return ParseFailure(FailureReason.TOO_FAR, resolved=first)
    return first, recurrence


def _resolve_repeat(
    repeat: Repeat, spec: TimeSpec, local_now: datetime, zone: ZoneInfo
) -> tuple[datetime, Recurrence]:
    assert spec.clock is not None
    if repeat.frequency is Frequency.WEEKLY and not repeat.weekdays:
        raise InvalidTimeError("which day of the week?")
    hour = _read_hour(spec.clock, spec.period)
    weekdays, month_day = repeat.weekdays, repeat.month_day
    if hour >= 24:  # "每周五晚上12点" is the first minute of Saturday
        if repeat.frequency is Frequency.MONTHLY or repeat.workdays:
            raise InvalidTimeError("say 0:00 of the next day instead of midnight at the end of a monthly day")
        hour -= 24
        weekdays = tuple(sorted((day + 1) % 7 for day in weekdays))
    rule = Recurrence(
        frequency=repeat.frequency,
        hour=hour,
        minute=spec.clock.minute,
        weekdays=weekdays,
        month_day=month_day,
        interval=1,
        anchor=local_now.date(),
        workdays=repeat.workdays,
    )
    first = rule.next_after(local_now, zone)
    # Intervals (every 2 weeks) count from the first firing, whichever week or month it falls in.
    return first, rule.model_copy(update={"interval": repeat.interval, "anchor": first.date()})


def _resolve_once(spec: TimeSpec, clock: Clock, local_now: datetime, zone: ZoneInfo) -> datetime:
    if spec.day is None and spec.period is None and not clock.explicit_24h:
        return _next_on_12_hour_clock(clock, local_now, zone)
    hour = _read_hour(clock, spec.period)
    if spec.day is None:
        today = _at(local_now.date(), hour, clock.minute, zone)
        return (
            today
            if _later(today, local_now)
            else _at(local_now.date() + timedelta(days=1), hour, clock.minute, zone)
        )
    if isinstance(spec.day, WeekdayRef) and spec.day.mode == "upcoming":
        for ahead in range(8):
            day = local_now.date() + timedelta(days=ahead)
            candidate = _at(day, hour, clock.minute, zone)
            if day.weekday() == spec.day.weekday and _later(candidate, local_now):
                return candidate
    return _at(_day_of(spec.day, local_now.date()), hour, clock.minute, zone)


def _next_on_12_hour_clock(clock: Clock, local_now: datetime, zone: ZoneInfo) -> datetime:
    hours = [clock.hour] if clock.hour == 12 else [clock.hour, clock.hour + 12]
    candidates = (
        _at(local_now.date() + timedelta(days=days), hour, clock.minute, zone)
        for days in (0, 1)
        for hour in hours
    )
    return min((c for c in candidates if _later(c, local_now)), key=lambda c: c.astimezone(UTC))


def _later(instant: datetime, other: datetime) -> bool:
    """Compare as instants: two datetimes in the same zone would otherwise compare wall clocks, ignoring fold."""
    return instant.astimezone(UTC) > other.astimezone(UTC)


def _at(day: date, hour: int, minute: int, zone: ZoneInfo) -> datetime:
    """Like `local_instant`, but hour 24..28 (晚上12点, 今晚1点) is early on the following day."""
    return local_instant(day + timedelta(days=hour // 24), hour % 24, minute, zone)


def _day_of(day: DayOffset | WeekdayRef | DateRef, today: date) -> date:
    if isinstance(day, DayOffset):
        return today + timedelta(days=day.days)
    if isinstance(day, WeekdayRef):
        monday = today - timedelta(days=today.weekday())
        if day.mode == "after_today":
            return today + timedelta(days=(day.weekday - today.weekday() - 1) % 7 + 1)
        weeks = {"this_week": 0, "next_week": 1, "week_after_next": 2}[day.mode]
        return monday + timedelta(weeks=weeks, days=day.weekday)
    return _date_of(day, today)


def _date_of(ref: DateRef, today: date) -> date:
    if ref.year is not None or ref.year_offset:
        year = ref.year if ref.year is not None else today.year + ref.year_offset
        assert ref.month is not None
        return _valid_date(year, ref.month, ref.day)
    if ref.month is not None:
        this_year = _valid_date(today.year, ref.month, ref.day, leap_ok=True)
        return this_year if this_year >= today else _valid_date(today.year + 1, ref.month, ref.day)
    month_index = today.year * 12 + today.month - 1 + ref.month_offset
    if not ref.month_offset and ref.day < today.day:
        month_index += 1  # "15号" on the 20th: the 15th of next month
    return _valid_date(month_index // 12, month_index % 12 + 1, ref.day)


def _valid_date(year: int, month: int, day: int, *, leap_ok: bool = False) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        if leap_ok and (month, day) == (2, 29):
            return date(year + (4 - year % 4), 2, 29)  # the next leap year (good until 2100)
        raise InvalidTimeError(f"{year}-{month:02d}-{day:02d} does not exist") from None


def _read_hour(clock: Clock, period: Period | None) -> int:
    """The 24-hour hour (24..28 = after midnight) for a clock time read with `period` (see the module doc)."""
    hour = clock.hour
    if clock.explicit_24h and (hour == 0 or hour >= 13 or period is None):
        if hour >= 13 and period in (Period.EARLY_MORNING, Period.MORNING, Period.AM):
            raise InvalidTimeError(f"{hour}点 is not in the morning")
        return hour
    if period is None:
        return hour + 12 if 1 <= hour <= 6 else hour
    return _with_period(hour, period)


def _with_period(hour: int, period: Period) -> int:
    if period in (Period.EARLY_MORNING, Period.AM):
        return 0 if hour == 12 else hour
    if period is Period.NOON:
        return hour + 12 if 1 <= hour <= 5 else hour
    if period is Period.AFTERNOON:
        return hour + 12 if hour < 12 else hour
    if period is Period.EVENING:
        if hour == 12:
            return 24  # 晚上12点 / midnight: the end of the day named
        return hour + 24 if hour <= 4 else hour + 12 if hour < 12 else hour
    return hour  # MORNING: as written
