from datetime import UTC, datetime

import pytest

from services.moderator.admin import (
    FloodSetting,
    LangSetting,
    Switchable,
    ThresholdSetting,
    ZoneSetting,
    find_service,
    lang_set,
    mentioned_people,
    parse_flood_setting,
    parse_lang,
    parse_threshold,
    parse_zone,
    unknown_zone,
    welcome_set,
    zone_set,
)
from services.moderator.rooms import FloodLimits, FloodPolicy


def test_mentioned_people_exclude_the_bot() -> None:
    assert mentioned_people(["bot", "a", "b", "a"], "bot") == ("a", "b")


def test_services_are_named_by_name_or_either_display_name() -> None:
    reminders = Switchable("scheduler", "提醒", "reminders")
    known = [Switchable("tagger", "群记忆", "memory"), reminders, Switchable("github-sync")]
    assert find_service("提醒", known) == reminders
    assert find_service(" Reminders ", known) == reminders
    assert find_service("SCHEDULER", known) == reminders
    assert find_service("github-sync", known) == Switchable("github-sync")
    assert find_service("room admin", [Switchable("moderator", "群管理", "room admin")]) is not None
    assert find_service("weather", known) is None
    assert find_service("", known) is None


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ("投票", FloodSetting(FloodPolicy.VOTE)),
        ("remove 10/60", FloodSetting(FloodPolicy.REMOVE, 10, 60)),
        ("警告 500 10/60", FloodSetting(FloodPolicy.WARN, 10, 60, 500)),
        ("踢出 300", FloodSetting(FloodPolicy.REMOVE, None, None, 300)),
        ("投票 宽限60", FloodSetting(FloodPolicy.VOTE, grace_s=60)),
        ("宽限 45秒", FloodSetting(grace_s=45)),  # any part alone
        ("grace 0s 10/60", FloodSetting(max_messages=10, window_seconds=60, grace_s=0)),
        ("Grace=20", FloodSetting(grace_s=20)),
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


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ("中文", LangSetting("zh")),
        (" ZH ", LangSetting("zh")),
        ("英文", LangSetting("en")),
        ("English", LangSetting("en")),
        ("自动", LangSetting(None)),
        ("auto", LangSetting(None)),
        ("", None),
        ("klingon", None),
        ("中文 英文", None),
    ],
)
def test_parse_lang(args: str, expected: LangSetting | None) -> None:
    assert parse_lang(args) == expected


def test_language_confirmations_differ_by_choice() -> None:
    assert len({lang_set("zh"), lang_set("en"), lang_set(None)}) == 3


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ("Asia/Tokyo", ZoneSetting("Asia/Tokyo")),
        (" america/new_york ", ZoneSetting("America/New_York")),  # as the tz database spells it
        ("UTC", ZoneSetting("UTC")),
        ("默认", ZoneSetting(None)),
        ("default", ZoneSetting(None)),
        ("Mars/Olympus_Mons", None),
        ("../../etc/passwd", None),
        ("Asia/Tokyo Europe/Berlin", None),
        ("", None),
    ],
)
def test_parse_zone_accepts_only_iana_names(args: str, expected: ZoneSetting | None) -> None:
    assert parse_zone(args) == expected


def test_unknown_zone_answer_names_what_was_typed_and_gives_examples() -> None:
    answer = unknown_zone("Mars/Base")
    assert "Mars/Base" in answer.zh
    assert "Mars/Base" in answer.en
    assert "Asia/Shanghai" in answer.en
    assert "IANA" in answer.zh
    assert "Usage" in unknown_zone("  ").en


def test_zone_confirmation_shows_the_messages_time_in_that_zone() -> None:
    sent = datetime(2026, 11, 22, 1, 30, tzinfo=UTC)
    assert "10:30" in zone_set("Asia/Tokyo", sent).zh
    assert "02:30" in zone_set("Europe/Berlin", sent).en
