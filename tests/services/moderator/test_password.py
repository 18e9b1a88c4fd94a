import pytest

from services.moderator.password import (
    TOO_SHORT,
    SetPassword,
    could_be_password,
    find_room,
    parse_set_password,
    password_digest,
    password_is_acceptable,
    too_many_guesses,
)
from services.moderator.rooms import RoomRecord

BOOKS = RoomRecord(id="r1@chatroom", topic="读书会 2026")
BOOKS_OLD = RoomRecord(id="r2@chatroom", topic="读书会 2025")
RUN = RoomRecord(id="r3@chatroom", topic="Running Club")
ROOMS = [BOOKS, BOOKS_OLD, RUN]


def test_digest_ignores_width_case_and_spacing_but_not_the_secret_or_bot() -> None:
    digest = password_digest("Open Sesame", secret="s", bot_id="bot")
    assert digest == password_digest("  ｏｐｅｎ   sesame ", secret="s", bot_id="bot")
    assert digest != password_digest("Open Sesame", secret="other", bot_id="bot")
    assert digest != password_digest("Open Sesame", secret="s", bot_id="bot2")
    assert "sesame" not in digest


def test_parse_room_and_password() -> None:
    assert parse_set_password("读书会 2026  芝麻开门") == SetPassword("读书会 2026", "芝麻开门")
    assert parse_set_password("Running Club off") == SetPassword("Running Club", None)
    assert parse_set_password("onlyoneword") is None
    assert parse_set_password("") is None


@pytest.mark.parametrize(
    ("password", "ok"),
    [
        ("abcdefgh", True),
        ("abcdefg", False),
        ("  a b ", False),
        ("芝麻开门", False),
        ("芝麻开门请进来吧", True),
        ("ｓｅｓａｍｅ４２", True),  # full-width is still 8 characters
    ],
)
def test_new_passwords_need_8_characters(password: str, ok: bool) -> None:
    assert password_is_acceptable(password) is ok


def test_the_too_short_answer_names_the_minimum_in_both_languages() -> None:
    assert "8" in TOO_SHORT.zh
    assert "at least 8 characters" in TOO_SHORT.en


@pytest.mark.parametrize(
    ("text", "guess"),
    [
        ("芝麻开门", True),  # as short as a password set before the minimum was raised
        ("  Sesame42 ", True),
        ("abc", False),
        ("hello there", False),  # a password is one word: this is chat
        ("", False),
    ],
)
def test_only_one_word_dms_long_enough_to_be_a_password_are_guesses(text: str, guess: bool) -> None:
    assert could_be_password(text) is guess


def test_the_guess_limit_notice_says_how_long_to_wait() -> None:
    assert "1 小时" in too_many_guesses(3600).zh
    assert "1 hour" in too_many_guesses(3600).en
    assert "2 hours" in too_many_guesses(7200).en
    assert "30 minutes" in too_many_guesses(1800).en


def test_find_room_by_id_exact_topic_or_unique_part() -> None:
    assert find_room("r2@chatroom", ROOMS).room == BOOKS_OLD
    assert find_room("读书会 2026", ROOMS).room == BOOKS
    assert find_room("running", ROOMS).room == RUN


def test_ambiguous_or_unknown_room() -> None:
    ambiguous = find_room("读书会", ROOMS)
    assert ambiguous.room is None
    assert ambiguous.candidates == (BOOKS, BOOKS_OLD)
    assert find_room("swimming", ROOMS).candidates == ()
    assert find_room("swimming", ROOMS).room is None
