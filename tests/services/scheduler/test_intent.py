"""The remind command's recogniser: a confidence that means something, and one parser for both forms."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from services.scheduler.intent import CLAIM_THRESHOLD, read_request, recognise_reminder
from services.scheduler.phrasing import Target
from services.scheduler.timeparse import FailureReason, ParsedReminder, ParseFailure

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 18, 9, 0, tzinfo=SHANGHAI)  # a Wednesday


def reading(body: str) -> ParsedReminder:
    result = read_request(body, NOW, SHANGHAI)
    assert isinstance(result, ParsedReminder), result
    return result


def confidence(body: str) -> float:
    intent = recognise_reminder(body, NOW, SHANGHAI)
    return 0.0 if intent is None else intent.confidence


@pytest.mark.parametrize(
    ("body", "first", "text", "target"),
    [
        # the examples
        ("下午四点提醒我接孩子", "2026-11-18 16:00", "接孩子", Target.ME),
        ("20分钟后叫我去开会", "2026-11-18 09:20", "去开会", Target.ME),
        ("每周四晚上8点提醒大家开周会", "2026-11-19 20:00", "开周会", Target.ROOM),
        ("at 6pm remind us to deploy", "2026-11-18 18:00", "deploy", Target.ROOM),
        ("提\u200b醒 30分钟后 喝水", "2026-11-18 09:30", "喝水", Target.NONE),
        # the keyword form, through the same parser
        ("提醒 明天9点 开会", "2026-11-19 09:00", "开会", Target.NONE),
        ("remind me to call mom at 5pm", "2026-11-18 17:00", "call mom", Target.ME),
        # time split around the request
        ("周五晚上记得提醒我 8点 看球", "2026-11-20 20:00", "看球", Target.ME),
        # nobody named and no text is fine for 叫我: it says "time's up"
        ("一小时后叫我", "2026-11-18 10:00", "时间到了", Target.ME),
    ],
)
def test_requests_are_claimed_and_read(body: str, first: str, text: str, target: Target) -> None:
    result = reading(body)
    assert (result.first.strftime("%Y-%m-%d %H:%M"), result.text, result.target) == (first, text, target)
    assert confidence(body) >= CLAIM_THRESHOLD


def test_the_keyword_form_and_a_sentence_give_the_same_reminder() -> None:
    keyword, sentence = reading("提醒我 明天上午10点 交周报"), reading("明天上午10点提醒我交周报")
    assert (keyword.first, keyword.recurrence, keyword.text, keyword.target) == (
        sentence.first,
        sentence.recurrence,
        sentence.text,
        sentence.target,
    )


@pytest.mark.parametrize(
    "body",
    [
        "明天几点开会？",
        "周会是什么时候",
        "when is the meetup",
        "明天下午3点的会还开吗？",
        "谢谢提醒！明天9点见",
        "他昨天提醒我下午3点开会，结果没开",
        "I'll remind them at 3",
        "is the meeting at 3pm still on?",
        "我明天9点到公司",  # a statement with a time: below the threshold, left to others
    ],
)
def test_questions_and_statements_with_times_are_not_claimed(body: str) -> None:
    assert confidence(body) < CLAIM_THRESHOLD


def test_confidence_grows_with_what_was_understood() -> None:
    """Request + usable time > request whose time needs fixing > request without a time > statement > question."""
    assert (
        confidence("明天9点提醒我开会")
        > confidence("明天提醒我开会")  # no hour: claimed, so the scheduler asks for one
        >= CLAIM_THRESHOLD
        > confidence("提醒我开会")
        > confidence("明天9点开会")
        > confidence("明天9点开会吗？")
    )
    assert recognise_reminder("你好", NOW, SHANGHAI) is None


def test_a_claimed_request_whose_time_cannot_be_used_is_explained() -> None:
    result = read_request("明天提醒我开会", NOW, SHANGHAI)
    assert isinstance(result, ParseFailure)
    assert (result.reason, result.expression) == (FailureReason.MISSING_TIME, "明天")


def test_the_keyword_used_as_a_noun_sets_nothing() -> None:
    result = read_request("提醒的内容是明天9点开会", NOW, SHANGHAI)
    assert isinstance(result, ParseFailure)
    assert result.reason is FailureReason.NOT_ASKED


def test_the_recogniser_hands_the_whole_body_to_the_command() -> None:
    intent = recognise_reminder("下午四点提醒我接孩子", NOW, SHANGHAI)
    assert intent is not None
    assert intent.args == "下午四点提醒我接孩子"
