"""Whether a message addressed to the bot asks for a reminder, and how sure that is (the remind command's
recogniser). Pure and fast: one pass of the reminder parser, no I/O.

The confidence is read off what the parser found, not off particular sentences:

| what the sentence has                                                      | confidence |
|----------------------------------------------------------------------------|-----------:|
| a reminder verb in imperative position + a time that resolves + a text or target | 0.9 |
| the verb and a time expression that does not resolve (no hour, past, impossible)  | 0.6 |
| the verb but no time at all ("remind me the wifi password")                        | 0.4 |
| a time and a text but no verb ("明天9点开会")                                       | 0.35 |
| a question ("明天几点开会？", "when is the meetup", "谢谢提醒，明天9点见？")           | 0.1 |
| nothing of the above                                                       | no intent |

The claim threshold is 0.5 (QUN_CLAIM_THRESHOLD): a request with a time is claimed, and one whose time cannot be
used is claimed too so the scheduler can say what is missing; a statement or question with a time is left to the
other services (the tagger's question answering).
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from services.scheduler.timeparse import (
    FailureReason,
    ParsedReminder,
    ParseFailure,
    ParseResult,
    parse_reminder,
)
from services.shared.intents import Intent

RECOGNISE_MAX = 200
"""Longer bodies are not read by the recogniser: it runs on every message addressed to the bot and must stay fast
(about 0.2 ms for a typical sentence, under 10 ms at this length)."""
CLAIM_THRESHOLD = 0.5
"""The plumbing's default QUN_CLAIM_THRESHOLD; used by the evaluation to route as the dispatcher does."""


def read_request(body: str, now: datetime, zone: ZoneInfo) -> ParseResult:
    """What the remind command makes of a message body, keyword-first or a plain sentence: the parse, except that
    a time read without a request ("提醒的内容是明天9点开会": the keyword used as a noun) is no reminder."""
    result = parse_reminder(body, now=now, zone=zone)
    if isinstance(result, ParsedReminder) and not result.asked:
        return ParseFailure(FailureReason.NOT_ASKED, expression=result.expression)
    return result


def confidence(result: ParseResult) -> float:
    """How sure it is that the parsed sentence asks for a reminder (see the module's table)."""
    if isinstance(result, ParsedReminder):
        return 0.9 if result.asked else 0.35
    if result.reason is FailureReason.QUESTION:
        return 0.1
    if not result.asked:
        return 0.0
    return 0.6 if result.expression else 0.4


def recognise_reminder(body: str, now: datetime, zone: ZoneInfo) -> Intent | None:
    """The remind command's claim on a message body; its args are the whole body (the command parses it).
    A body longer than RECOGNISE_MAX characters is not claimed (a paste, not a request; `提醒 …` still works)."""
    if len(body) > RECOGNISE_MAX:
        return None
    score = confidence(parse_reminder(body, now=now, zone=zone))
    return Intent(score, body) if score > 0 else None
