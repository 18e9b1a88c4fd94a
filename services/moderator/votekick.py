"""Vote-kick rules: what counts as a vote, who may be voted out, how many votes remove someone."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from services.moderator.text_match import normalize, strip_prefix
from services.shared import Bilingual


class VoteAction(StrEnum):
    """Casting a vote or taking one's vote back."""

    CAST = "cast"
    WITHDRAW = "withdraw"


@dataclass(frozen=True)
class VoteIntent:
    """A message read as a vote: what to do, against whom."""

    action: VoteAction
    target_ids: tuple[str, ...]


# "[弱]" is how WeChat's thumbs-down emoji reads as text, "[强]" the thumbs-up.
_MARKERS = {VoteAction.CAST: ("[弱]",), VoteAction.WITHDRAW: ("[强]",)}
_PREFIXES = {VoteAction.CAST: ("踢", "vote kick"), VoteAction.WITHDRAW: ("unvote",)}

CAST_KEYWORDS_ZH = ["踢", "[弱]"]
CAST_KEYWORDS_EN = ["vote kick"]
WITHDRAW_KEYWORDS_ZH = ["[强]"]
WITHDRAW_KEYWORDS_EN = ["unvote"]


def _only_mentions_left(rest: str | None) -> bool:
    # The target is named by @-mention; the body keeps the mention text, or nothing when the only mention was
    # the bot (the body drops the bot's mention).
    return rest is not None and (rest == "" or rest.startswith("@"))


def _action_of(text: str) -> VoteAction | None:
    for action, markers in _MARKERS.items():
        for marker in markers:
            if _only_mentions_left(strip_prefix(text, marker)):
                return action
            if text.endswith(marker) and text.startswith("@"):
                return action
    for action, prefixes in _PREFIXES.items():
        if any(_only_mentions_left(strip_prefix(text, prefix)) for prefix in prefixes):
            return action
    return None


def parse_vote(body: str, mention_ids: Sequence[str], bot_id: str) -> VoteIntent | None:
    """Read ``[弱] @name``, ``@name [弱]``, ``踢 @name``, ``vote kick @name`` (and the withdrawals
    ``[强] @name``, ``@name [强]``, ``unvote @name``); targets come from ``mention_ids``, never from names."""
    if not mention_ids:
        return None  # nobody to vote on: most messages stop here, before any text is normalised
    action = _action_of(normalize(body))
    if action is None:
        return None
    targets = tuple(dict.fromkeys(m for m in mention_ids if m != bot_id))
    if not targets and bot_id in mention_ids:
        targets = (bot_id,)  # "[弱] @bot": answered with the bot's immunity, not ignored
    return VoteIntent(action=action, target_ids=targets) if targets else None


def default_threshold(member_count: int) -> int:
    """3 votes; 2 in a room of 4; 1 in a room of 3 or fewer. An unknown size (0) gets the safe 3."""
    if 0 < member_count <= 3:
        return 1
    if member_count == 4:
        return 2
    return 3


def kick_threshold(member_count: int, room_override: int | None) -> int:
    """The room's configured threshold if an admin set one, else the default for its size."""
    if room_override is not None and room_override > 0:
        return room_override
    return default_threshold(member_count)


class Refusal(StrEnum):
    """Why a vote against someone is not taken."""

    BOT = "bot"
    SELF = "self"
    OWNER = "owner"
    ADMIN = "admin"


def refusal_for(
    *, voter_id: str, target_id: str, bot_id: str, owner_id: str | None, target_is_admin: bool
) -> Refusal | None:
    """The bot, the room owner and admins are immune; nobody votes on themselves."""
    if target_id == bot_id:
        return Refusal.BOT
    if target_id == voter_id:
        return Refusal.SELF
    if owner_id and target_id == owner_id:
        return Refusal.OWNER
    if target_is_admin:
        return Refusal.ADMIN
    return None


VOTE_USAGE = Bilingual("用法：踢 @某人（或 [弱] @某人）", "Usage: vote kick @name")
UNVOTE_USAGE = Bilingual("用法：[强] @某人", "Usage: unvote @name")

REFUSALS = {
    Refusal.BOT: Bilingual("我不能被投票移出哦 🙂", "I can't be voted out 🙂"),
    Refusal.SELF: Bilingual("不能投票移出自己。", "You can't vote yourself out."),
    Refusal.OWNER: Bilingual("群主不能被投票移出。", "The room owner can't be voted out."),
    Refusal.ADMIN: Bilingual("管理员不能被投票移出。", "Admins can't be voted out."),
}


def _hours(window: timedelta) -> str:
    hours = window.total_seconds() / 3600
    return f"{hours:g}"


def progress(count: int, threshold: int, window: timedelta, *, newly_cast: bool) -> Bilingual:
    """``2/3`` after a vote (sent with the target @-mentioned)."""
    hours = _hours(window)
    if not newly_cast:
        return Bilingual(
            f"你已经投过票了（{count}/{threshold}）。", f"You have already voted ({count}/{threshold})."
        )
    return Bilingual(
        f"投票移出：{count}/{threshold}（{hours} 小时内有效，发送 [强] @对方 可撤回）",
        f"Vote to remove: {count}/{threshold} (valid for {hours} h; `unvote @name` withdraws)",
    )


def withdrawn(count: int, threshold: int, *, had_voted: bool) -> Bilingual:
    """Answer to ``[强] @name`` / ``unvote @name``."""
    if not had_voted:
        return Bilingual("你还没有投过票。", "You had not voted.")
    return Bilingual(
        f"已撤回你的投票（{count}/{threshold}）。", f"Your vote is withdrawn ({count}/{threshold})."
    )


def removal_announcement(count: int, threshold: int, window: timedelta) -> Bilingual:
    """Said (with the target @-mentioned) just before the removal is published."""
    hours = _hours(window)
    return Bilingual(
        f"{count} 位群成员在 {hours} 小时内投票（{count}/{threshold}），现将其移出本群。",
        f"{count} members voted within {hours} h ({count}/{threshold}); removing them from the room.",
    )


def removal_reason(count: int, threshold: int, window: timedelta) -> str:
    """The ``reason`` of the ``RemoveFromRoom`` command (for logs and the operator, not the chat)."""
    return f"vote-kick: {count}/{threshold} votes within {_hours(window)} h"
