"""Evaluate the front desk: small talk and "did you mean …" on messages as members write them.

    python -m services.moderator.evaluate               # the table: the tuning part and the unseen part, apart
    python -m services.moderator.evaluate --tuned-only  # while tuning: the unseen part stays unseen
    python -m services.moderator.evaluate --errors      # every miss of the tuning part (never of the unseen part)

Data: services/moderator/data/front_desk_eval.yaml (tuned on), front_desk_unseen.yaml (written at the same
time, before any recogniser code; judged only as a whole) and front_desk_fresh.yaml (written after all tuning by a
writer shown only the file format and the keyword list; run once, then its misses read and fixed). Each message
goes the way the bot takes it when addressed: a body that starts with a live keyword runs that command (nothing for
the front desk to do); otherwise
the moderator's recognisers run, with the keywords of every service declared in this repository (internal ones
left out, admin commands only for admins). Other services' recognisers are not simulated.

Columns:
- greeted: small talk answered as small talk;
- suggested right: mistyped keywords that reach the meant command (its suggestion first, or its keyword matched);
- claimed wrongly: messages that are neither (questions, chat, requests for other services) that the front desk
  claimed — what the tagger or another service should have answered.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from schemas import ServiceInfo
from services.moderator.front_desk import CLAIM_THRESHOLD, Reading, keywords_for, read
from services.shared import catalog
from services.shared.commands import CommandMatcher

DATA = Path(__file__).resolve().parent / "data"
TUNED_FILE = DATA / "front_desk_eval.yaml"
UNSEEN_FILE = DATA / "front_desk_unseen.yaml"
FRESH_FILE = DATA / "front_desk_fresh.yaml"


@dataclass(frozen=True)
class Case:
    say: str
    kind: str
    """greet, typo or other."""
    means: str = ""
    admin: bool = False


def load(path: Path) -> list[Case]:
    raw: dict[str, list[Any]] = yaml.safe_load(path.read_text(encoding="utf-8"))
    cases = [Case(str(item), "greet") for item in raw.get("greet", [])]
    cases += [
        Case(str(i["say"]), "typo", str(i["means"]), bool(i.get("admin"))) for i in raw.get("typos", [])
    ]
    cases += [Case(str(item), "other") for item in raw.get("other", [])]
    return cases


@dataclass(frozen=True)
class Outcome:
    case: Case
    keyword_command: str
    """The command whose keyword the body starts with ("" when none)."""
    reading: Reading

    @property
    def right(self) -> bool:
        case, reading = self.case, self.reading
        if case.kind == "greet":
            return not self.keyword_command and reading.small_talk is not None
        if case.kind == "typo":
            meant = _command_of(case.means)
            if self.keyword_command:
                return self.keyword_command == meant
            return reading.confidence >= CLAIM_THRESHOLD and reading.suggested_command == meant
        return self.keyword_command != "" or reading.confidence < CLAIM_THRESHOLD


def _services() -> list[ServiceInfo]:
    return [service.info("eval") for service in catalog.declared()]


def _command_of(keyword: str) -> str:
    for info in _services():
        for command in info.commands:
            if keyword in command.keywords:
                return f"{info.name}/{command.name}"
    raise ValueError(f"no declared service has the keyword {keyword!r}")


def run(cases: list[Case]) -> tuple[list[Outcome], list[float]]:
    services = _services()
    matcher = CommandMatcher([command for info in services for command in info.commands])
    keywords = {admin: keywords_for(services, admin=admin, in_room=True) for admin in (False, True)}
    outcomes, costs = [], []
    for case in cases:
        match = matcher.match(case.say) if case.say else None
        owner = ""
        if match is not None:
            owner = next(f"{i.name}/{match.command.name}" for i in services if match.command in i.commands)
        started = time.perf_counter()
        reading = read(case.say, keywords[case.admin])
        costs.append((time.perf_counter() - started) * 1000)
        outcomes.append(Outcome(case, owner, reading))
    return outcomes, costs


def _row(name: str, outcomes: list[Outcome]) -> str:
    def share(kind: str, right: bool) -> str:
        chosen = [o for o in outcomes if o.case.kind == kind]
        hits = sum(1 for o in chosen if o.right == right)
        return f"{hits}/{len(chosen)} ({100 * hits / max(1, len(chosen)):.1f}%)"

    return f"| {name} | {share('greet', True)} | {share('typo', True)} | {share('other', False)} |"


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tuned-only", action="store_true")
    parser.add_argument("--errors", action="store_true", help="list the tuning part's misses")
    options = parser.parse_args()
    tuned, costs = run(load(TUNED_FILE))
    print("| part | greeted | suggested right | claimed wrongly |")
    print("|---|---|---|---|")
    print(_row("tuned", tuned))
    if not options.tuned_only:
        for name, path in (("unseen", UNSEEN_FILE), ("fresh", FRESH_FILE)):
            outcomes, more = run(load(path))
            print(_row(name, outcomes))
            costs += more
    print(
        f"recognisers: p50 {_percentile(costs, 0.5):.3f} ms, p99 {_percentile(costs, 0.99):.3f} ms per message"
    )
    if options.errors:
        for outcome in tuned:
            if not outcome.right:
                reading = outcome.reading
                print(
                    f"miss [{outcome.case.kind}] {outcome.case.say!r}: keyword={outcome.keyword_command or '-'} "
                    f"small_talk={reading.small_talk} suggested={reading.suggested_command or '-'} "
                    f"({reading.confidence:.2f}) means={outcome.case.means or '-'}"
                )


if __name__ == "__main__":
    main()
