from services.moderator.friendship import greeting, hello_has_keyword
from services.moderator.rooms import RoomRecord


def test_keyword_anywhere_in_the_hello_any_width_or_case() -> None:
    assert hello_has_keyword("我是读书会的朋友，想进群", ["读书会"])
    assert hello_has_keyword("Hi, QUNBUS sent me", ["qunbus"])
    assert hello_has_keyword("ｑｕｎｂｕｓ", ["qunbus"])


def test_no_keyword_or_none_configured_means_no() -> None:
    assert not hello_has_keyword("我是读书会的朋友", ["跑步"])
    assert not hello_has_keyword("anything", [])
    assert not hello_has_keyword("anything", ["", "  "])


def test_greeting_lists_rooms_joinable_by_password() -> None:
    text = greeting([RoomRecord(id="r1", topic="读书会"), RoomRecord(id="r2", topic="")])
    assert "「读书会」「r2」" in text.zh
    assert "「读书会」" in text.en
    assert "password" not in greeting([]).en
