"""Answer, suggest, or admit not knowing: the rule applied to a ranked hit list.

Thresholds are on coverage (the share of the question a document covers, 0..1) and on the lead of the best hit
over the runner-up; tools/tagger_eval.py calibrates them on the labelled set in data/eval.yaml.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

from services.tagger.index import Hit


class Verdict(enum.StrEnum):
    ANSWER = "answer"
    SUGGEST = "suggest"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Thresholds:
    answer: float = 0.75  # coverage needed to quote a single message as the answer
    suggest: float = 0.4  # coverage needed to offer "did you mean" candidates
    margin: float = 0.05  # lead of the best hit over the runner-up (final score) needed to answer outright
    unprompted: float = 0.85  # coverage needed to answer a question nobody addressed to the bot
    # A message without the question's weightiest word (Hit.misses_subject) is never the answer outright. When
    # no message has it (Hit.unknown_subject), candidates are offered only from this coverage on: "is there a
    # Helm chart" must not get the Docker tag.
    unknown_subject_suggest: float = 0.6


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    hits: tuple[Hit, ...]  # one for ANSWER, 2-3 for SUGGEST, none for UNKNOWN


MAX_SUGGESTIONS = 3


def decide(hits: Sequence[Hit], thresholds: Thresholds, *, unprompted: bool = False) -> Decision:
    if not hits:
        return Decision(Verdict.UNKNOWN, ())
    best = hits[0]
    lead = best.score - hits[1].score if len(hits) > 1 else best.score
    needed = thresholds.unprompted if unprompted else thresholds.answer
    on_subject = not (best.misses_subject or best.unknown_subject)
    if best.coverage >= needed and lead >= thresholds.margin and on_subject:
        return Decision(Verdict.ANSWER, (best,))
    if unprompted:  # unprompted chatter gets an answer or silence, never a quiz
        return Decision(Verdict.UNKNOWN, ())
    floor = max(thresholds.suggest, thresholds.unknown_subject_suggest if best.unknown_subject else 0.0)
    candidates = tuple(hit for hit in hits[:MAX_SUGGESTIONS] if hit.coverage >= floor)
    if candidates:
        return Decision(Verdict.SUGGEST, candidates)
    return Decision(Verdict.UNKNOWN, ())
