import pytest

from services.moderator.admin import (
    FloodSetting,
    ThresholdSetting,
    mentioned_people,
    parse_flood_setting,
    parse_threshold,
    service_name,
    welcome_set,
)
from services.moderator.rooms import FloodLimits, FloodPolicy


def test_mentioned_people_exclude_the_bot() -> None:
    assert mentioned_people(["bot", "a", "b", "a"], "bot") == ("a", "b")


def test_service_name_is_one_word() -> None:
    assert service_name(" Tagger ") == "tagger"
    assert service_name("github-sync") == "github-sync"
    assert service_name("two words") is None
    assert service_name("") is None


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ("投票", FloodSetting(FloodPolicy.VOTE)),
        ("remove 10/60", FloodSetting(FloodPolicy.REMOVE, 10, 60)),
        ("警告 500 10/60", FloodSetting(FloodPolicy.WARN, 10, 60, 500)),
        ("踢出 300", FloodSetting(FloodPolicy.REMOVE, None, None, 300)),
        ("", None),
        ("maybe", None),
        ("vote 0/60", None),
        ("vote ten", None),
    ],
)
def test_parse_flood_setting(args: str, expected: FloodSetting | None) -> None:
    assert parse_flood_setting(args) == expected


def test_flood_limits_merge_over_current() -> None:
    current = FloodLimits(max_messages=8, window_seconds=30, max_length=800)
    assert FloodSetting(FloodPolicy.VOTE).limits(current) is None
    assert FloodSetting(FloodPolicy.VOTE, None, None, 100).limits(current) == FloodLimits(8, 30, 100)
    assert FloodSetting(FloodPolicy.VOTE, 3, 10).limits(current) == FloodLimits(3, 10, 800)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ("5", ThresholdSetting(5)),
        ("默认", ThresholdSetting(None)),
        ("AUTO", ThresholdSetting(None)),
        ("0", None),
        ("x", None),
    ],
)
def test_parse_threshold(args: str, expected: ThresholdSetting | None) -> None:
    assert parse_threshold(args) == expected


def test_welcome_confirmation_points_out_unfilled_placeholders() -> None:
    assert "{name}" in welcome_set("hi {name}", ["{name}"]).zh
    assert "{name}" in welcome_set("hi {name}", ["{name}"]).en
    assert "默认" in welcome_set(None, []).zh
