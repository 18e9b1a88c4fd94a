"""Evaluate how the bot understands reminders as members type them.

    python -m tools.intent_eval               # the table: the tuning part and the unseen part, apart
    python -m tools.intent_eval --tuned-only  # while tuning: the unseen part stays unseen
    python -m tools.intent_eval --errors      # every miss of the tuning part (never of the unseen part)

Data: services/scheduler/data/intent_eval.yaml (tuned on), intent_unseen.yaml (written at the same time, before
any tuning; judged only as a whole) and intent_fresh.yaml (written after all tuning by a writer shown only the file
format, never the code or the other sets; run once, then its misses read and fixed). Each message goes the way the
bot would take it when addressed (an @-mention in a room, or a direct message): a body that starts with a scheduler
keyword runs the keyword command; any other body runs the scheduler's recogniser, and a confidence at or above the
claim threshold runs the same command with the recogniser's arguments. Other services' keywords and recognisers are not simulated.

Columns:
- set right: reminders set with the expected first firing and repeat;
- text right / target right: of the reminders that have them in the data, those whose text (compared without
  spaces, punctuation or case) or target (me / room / mention) is as expected — informative, not an aim;
- turned into reminders: non-reminders (questions and chat lines with times) for which a reminder was set.
"""

from __future__ import annotations

import argparse
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from services.scheduler.app import service
from services.scheduler.intent import CLAIM_THRESHOLD, read_request, recognise_reminder
from services.scheduler.phrasing import Target
from services.scheduler.recurrence import Frequency, Recurrence
from services.scheduler.timeparse import ParsedReminder

DATA = Path(__file__).resolve().parent.parent / "services" / "scheduler" / "data"
TUNED_FILE = DATA / "intent_eval.yaml"
UNSEEN_FILE = DATA / "intent_unseen.yaml"
FRESH_FILE = DATA / "intent_fresh.yaml"
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class Case:
    say: str
    now: datetime
    zone: ZoneInfo
    reminder: bool
    first: str = ""
    repeat: str = ""
    text: str | None = None
    to: str | None = None


@dataclass(frozen=True)
class Outcome:
    case: Case
    reading: ParsedReminder | None
    """The reminder that would be set, None when none would."""

    @property
    def first(self) -> str:
        return (
            ""
            if self.reading is None
            else self.reading.first.astimezone(self.case.zone).strftime("%Y-%m-%d %H:%M")
        )

    @property
    def repeat(self) -> str:
        return "" if self.reading is None else describe(self.reading.recurrence)

    @property
    def set_right(self) -> bool:
        return self.reading is not None and (self.first, self.repeat) == (self.case.first, self.case.repeat)

    @property
    def text_right(self) -> bool:
        return self.reading is not None and _plain(self.reading.text) == _plain(self.case.text or "")

    @property
    def target(self) -> str:
        if self.reading is None:
            return ""
        return {Target.ME: "me", Target.MENTIONED: "mention"}.get(self.reading.target, "room")

    @property
    def target_right(self) -> bool:
        return self.target == self.case.to


def describe(rule: Recurrence | None) -> str:
    """A recurrence in the data's notation (see intent_eval.yaml)."""
    if rule is None:
        return "none"
    every = "" if rule.interval == 1 else f"/{rule.interval}"
    if rule.frequency is Frequency.DAILY:
        return f"daily{every}"
    if rule.frequency is Frequency.MONTHLY:
        return f"monthly{every}:{rule.month_day}"
    if rule.is_workdays:
        return "workdays"
    return f"weekly{every}:" + ",".join(_WEEKDAYS[day] for day in rule.weekdays)


def _plain(text: str) -> str:
    return re.sub(r"[\W_]+", "", unicodedata.normalize("NFKC", text).casefold())


def load(path: Path) -> list[Case]:
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    default_now, default_zone = _instant(data["now"]), ZoneInfo(data["zone"])
    cases = []
    for item in data["reminders"]:
        cases.append(
            Case(
                say=item["say"],
                now=_instant(item["now"]) if "now" in item else default_now,
                zone=ZoneInfo(item["zone"]) if "zone" in item else default_zone,
                reminder=True,
                first=item["first"],
                repeat=item["repeat"],
                text=item.get("text"),
                to=item.get("to"),
            )
        )
    for item in data["not_reminders"]:
        entry = item if isinstance(item, dict) else {"say": item}
        cases.append(
            Case(
                say=entry["say"],
                now=_instant(entry["now"]) if "now" in entry else default_now,
                zone=ZoneInfo(entry["zone"]) if "zone" in entry else default_zone,
                reminder=False,
            )
        )
    return cases


def _instant(value: datetime | str) -> datetime:
    instant = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    if instant.tzinfo is None:
        raise ValueError(f"{value!r}: 'now' needs an offset")
    return instant


def understand(case: Case) -> ParsedReminder | None:
    """The reminder the bot would set for this message, as the dispatcher and the remind command would."""
    match = service.matcher.match(case.say)
    if match is not None and match.command.name != "remind":
        return None
    if match is None:
        intent = recognise_reminder(case.say, case.now, case.zone)
        if intent is None or intent.confidence < CLAIM_THRESHOLD:
            return None
    result = read_request(case.say, case.now, case.zone)  # the command reads the whole body
    return result if isinstance(result, ParsedReminder) else None


@dataclass(frozen=True)
class Scores:
    reminders: int
    set_right: int
    with_text: int
    text_right: int
    with_target: int
    target_right: int
    not_reminders: int
    turned: int

    def row(self, name: str) -> str:
        return (
            f"{name:<8} {self.reminders:>9} {_share(self.set_right, self.reminders):>16}"
            f" {_share(self.text_right, self.with_text):>16} {_share(self.target_right, self.with_target):>16}"
            f" {self.not_reminders:>13} {_share(self.turned, self.not_reminders):>21}"
        )


HEADER = (
    f"{'part':<8} {'reminders':>9} {'set right':>16} {'text right':>16} {'target right':>16}"
    f" {'non-reminders':>13} {'turned into reminder':>21}"
)


def _share(part: int, whole: int) -> str:
    return f"{part}/{whole} {100 * part / whole:.1f}%" if whole else "-"


def score(outcomes: list[Outcome]) -> Scores:
    reminders = [o for o in outcomes if o.case.reminder]
    others = [o for o in outcomes if not o.case.reminder]
    with_text = [o for o in reminders if o.case.text is not None]
    with_target = [o for o in reminders if o.case.to is not None]
    return Scores(
        reminders=len(reminders),
        set_right=sum(o.set_right for o in reminders),
        with_text=len(with_text),
        text_right=sum(o.text_right for o in with_text),
        with_target=len(with_target),
        target_right=sum(o.target_right for o in with_target),
        not_reminders=len(others),
        turned=sum(o.reading is not None for o in others),
    )


def evaluate(path: Path) -> list[Outcome]:
    return [Outcome(case, understand(case)) for case in load(path)]


def errors(outcomes: list[Outcome]) -> list[str]:
    lines = []
    for o in outcomes:
        case = o.case
        if case.reminder and not o.set_right:
            lines.append(
                f"MISS   {case.say!r}: got {o.first or '-'} {o.repeat}, want {case.first} {case.repeat}"
            )
        elif case.reminder and case.text is not None and not o.text_right:
            lines.append(
                f"TEXT   {case.say!r}: got {o.reading.text if o.reading else ''!r}, want {case.text!r}"
            )
        elif case.reminder and case.to is not None and not o.target_right:
            lines.append(f"TARGET {case.say!r}: got {o.target}, want {case.to}")
        elif not case.reminder and o.reading is not None:
            lines.append(f"FALSE  {case.say!r}: set for {o.first} {o.repeat}, text {o.reading.text!r}")
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tuned-only", action="store_true", help="leave the unseen part out")
    parser.add_argument("--errors", action="store_true", help="list the misses of the tuning part")
    args = parser.parse_args(argv)
    parts = [("tuned", TUNED_FILE)]
    if not args.tuned_only:
        parts += [("unseen", UNSEEN_FILE), ("fresh", FRESH_FILE)]
    print(HEADER)
    tuned: list[Outcome] = []
    for name, path in parts:
        outcomes = evaluate(path)
        tuned = outcomes if name == "tuned" else tuned
        print(score(outcomes).row(name))
    if args.errors:
        print()
        print("\n".join(errors(tuned)) or "no misses")


if __name__ == "__main__":
    main()
