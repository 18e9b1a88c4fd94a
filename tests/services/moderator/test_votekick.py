from datetime import timedelta

import pytest

from services.moderator.votekick import (
    Refusal,
    VoteAction,
    VoteIntent,
    default_threshold,
    kick_threshold,
    parse_vote,
    progress,
    refusal_for,
    removal_announcement,
    withdrawn,
)

BOT = "wxid_bot"


@pytest.mark.parametrize(
    "body",
    [
        "[弱] @张三",
        "@张三 [弱]",
        "@张三\u2005[弱]",
        "［弱］ @张三",
        "踢 @张三",
        "vote kick @张三",
        "Vote  KICK @张三",
        "踢",
    ],
)
def test_cast_forms(body: str) -> None:
    assert parse_vote(body, ["wxid_z"], BOT) == VoteIntent(VoteAction.CAST, ("wxid_z",))


@pytest.mark.parametrize("body", ["[强] @张三", "@张三 [强]", "unvote @张三", "UNVOTE @张三"])
def test_withdraw_forms(body: str) -> None:
    assert parse_vote(body, ["wxid_z"], BOT) == VoteIntent(VoteAction.WITHDRAW, ("wxid_z",))


@pytest.mark.parametrize(
    ("body", "mentions"),
    [
        ("踢球去吗 @张三", ["wxid_z"]),  # starts with 踢 but is not a vote
        ("[弱]", []),  # a reaction without a target
        ("踢 @张三", []),  # no mention id: names are never trusted
        ("我觉得 @张三 [弱] 这个说法", ["wxid_z"]),
        ("vote kicked @张三", ["wxid_z"]),
        ("hello @张三", ["wxid_z"]),
    ],
)
def test_not_votes(body: str, mentions: list[str]) -> None:
    assert parse_vote(body, mentions, BOT) is None


def test_targets_are_the_mentions_other_than_the_bot_deduplicated() -> None:
    intent = parse_vote("踢 @甲 @乙 @甲", [BOT, "a", "b", "a"], BOT)
    assert intent == VoteIntent(VoteAction.CAST, ("a", "b"))


def test_voting_against_the_bot_is_read_so_it_can_be_refused() -> None:
    assert parse_vote("[弱]", [BOT], BOT) == VoteIntent(VoteAction.CAST, (BOT,))


@pytest.mark.parametrize(("members", "threshold"), [(2, 1), (3, 1), (4, 2), (5, 3), (500, 3), (0, 3)])
def test_default_threshold_by_room_size(members: int, threshold: int) -> None:
    assert default_threshold(members) == threshold


def test_room_override_wins_and_nonpositive_means_default() -> None:
    assert kick_threshold(100, 5) == 5
    assert kick_threshold(3, 2) == 2
    assert kick_threshold(100, None) == 3
    assert kick_threshold(4, 0) == 2


@pytest.mark.parametrize(
    ("target", "is_admin", "expected"),
    [
        (BOT, False, Refusal.BOT),
        ("voter", False, Refusal.SELF),
        ("owner", False, Refusal.OWNER),
        ("someone", True, Refusal.ADMIN),
        ("someone", False, None),
    ],
)
def test_immunity(target: str, is_admin: bool, expected: Refusal | None) -> None:
    assert (
        refusal_for(
            voter_id="voter", target_id=target, bot_id=BOT, owner_id="owner", target_is_admin=is_admin
        )
        == expected
    )


def test_unknown_owner_protects_nobody_by_accident() -> None:
    assert refusal_for(voter_id="v", target_id="", bot_id=BOT, owner_id=None, target_is_admin=False) is None


def test_messages_show_progress_in_both_languages() -> None:
    twelve_hours = timedelta(hours=12)
    cast = progress(2, 3, twelve_hours, newly_cast=True)
    assert "2/3" in cast.zh
    assert "12 小时" in cast.zh
    assert "2/3" in cast.en
    assert "12 h" in cast.en
    assert "已经投过" in progress(2, 3, twelve_hours, newly_cast=False).zh
    assert "1/3" in withdrawn(1, 3, had_voted=True).en
    assert "not voted" in withdrawn(0, 3, had_voted=False).en
    assert "3/3" in removal_announcement(3, 3, twelve_hours).zh
    assert "1.5 h" in removal_announcement(3, 3, timedelta(minutes=90)).en
