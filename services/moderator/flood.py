"""Anti-flood rules: when a member is flooding, and what happens on the first and later violations."""

from __future__ import annotations

from enum import StrEnum

from services.moderator.rooms import FloodLimits, FloodPolicy
from services.shared import Bilingual


class Violation(StrEnum):
    """Which limit was crossed."""

    TOO_MANY = "too_many"
    TOO_LONG = "too_long"


class FloodAction(StrEnum):
    """What the moderator does about one violation."""

    WARN = "warn"
    OPEN_VOTE = "open_vote"
    REMOVE = "remove"
    NOTHING = "nothing"


def assess(messages_in_window: int, length: int, limits: FloodLimits) -> Violation | None:
    """Check one message: its length, and the member's count of messages in the sliding window (including it)."""
    if length > limits.max_length:
        return Violation.TOO_LONG
    if messages_in_window > limits.max_messages:
        return Violation.TOO_MANY
    return None


def action_for(strike: int, policy: FloodPolicy) -> FloodAction:
    """Warn once; the second strike gets the room's policy; later strikes nothing more (no reply storms)."""
    if strike <= 1:
        return FloodAction.WARN
    if strike > 2:
        return FloodAction.NOTHING
    return {
        FloodPolicy.WARN: FloodAction.NOTHING,
        FloodPolicy.VOTE: FloodAction.OPEN_VOTE,
        FloodPolicy.REMOVE: FloodAction.REMOVE,
    }[policy]


def warning(violation: Violation, limits: FloodLimits, grace_s: int) -> Bilingual:
    """The one warning (sent with the member @-mentioned)."""
    if violation is Violation.TOO_LONG:
        zh, en = (
            f"请不要发超长消息（上限 {limits.max_length} 字）",
            f"Please keep messages under {limits.max_length} characters",
        )
    else:
        zh = f"请不要刷屏（每 {limits.window_seconds} 秒最多 {limits.max_messages} 条）"
        en = f"Please don't flood ({limits.max_messages} messages per {limits.window_seconds} s at most)"
    if grace_s > 0:
        return Bilingual(
            f"{zh}。{grace_s} 秒后如果继续，将按群规处理。",
            f"{en}. If it goes on after {grace_s} s, the room's rule applies.",
        )
    return Bilingual(f"{zh}，再犯将按群规处理。", f"{en}; next time the room's rule applies.")


REMOVAL_NOTICE = Bilingual(
    "警告后仍在刷屏，现将其移出本群。", "Kept flooding after a warning; removing them."
)
VOTE_NOTICE = Bilingual(
    "警告后仍在刷屏，已发起移出投票（我投了第一票），同意请发 [弱] @对方。",
    "Kept flooding after a warning: I opened a vote to remove them (first vote is mine); agree with `vote kick @name`.",
)
REMOVAL_REASON = "anti-flood: kept flooding after a warning"
