import pytest

from services.moderator.password import (
    SetPassword,
    find_room,
    parse_set_password,
    password_digest,
    password_is_acceptable,
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
    ("password", "ok"), [("abcd", True), ("abc", False), ("  a b ", False), ("芝麻开门", True)]
)
def test_password_length(password: str, ok: bool) -> None:
    assert password_is_acceptable(password) is ok


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
