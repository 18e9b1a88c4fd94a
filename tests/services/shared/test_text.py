"""Text cleaned once at the edge (`clean_body`) and the one comparison form (`normalize`)."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.shared.text import clean_body, normalize, strip_invisible, tidy

BOT = ["QunBot", "小助手"]


@pytest.mark.parametrize(
    ("typed", "body"),
    [
        ("提\u200b醒 30分钟后 喝水", "提醒 30分钟后 喝水"),  # zero-width space, pasted text often has one
        ("提\u200c醒\u200d 30分钟后 喝水", "提醒 30分钟后 喝水"),  # zero-width non-joiner and joiner
        ("\ufeff帮助", "帮助"),  # byte order mark
        ("he\u2060lp", "help"),  # word joiner
        ("re\u00admind me", "remind me"),  # soft hyphen
        ("\u202e帮助\u202c", "帮助"),  # bidi override and pop
        ("\u2066ding\u2069", "ding"),  # bidi isolates
        ("标\u200e记", "标记"),  # left-to-right mark
        ("ｄｉｎｇ", "ding"),  # full-width letters (NFKC)
        # ideographic and no-break spaces, full-width digits
        ("提醒　３０分钟后\u00a0喝水", "提醒 30分钟后 喝水"),
        ("提醒\u2005 30分钟后    喝水", "提醒 30分钟后 喝水"),  # WeChat's mention space, runs of spaces
        ("  多行\r\n  命令  ", "多行\n命令"),  # line endings unified, lines trimmed
    ],
)
def test_invisible_characters_widths_and_odd_spaces_are_cleaned(typed: str, body: str) -> None:
    assert clean_body(typed, BOT) == body


@pytest.mark.parametrize(
    ("typed", "body"),
    [
        ("@QunBot\u2005帮助", "帮助"),
        ("@QunBot @QunBot 帮助", "帮助"),  # mentioned twice
        ("@小助手\u2005@QunBot\u2005ding", "ding"),  # by its room alias and its name
        ("@Qun\u200bBot ding", "ding"),  # an invisible character inside the mention
        ("＠QunBot ding", "ding"),  # a full-width @
        ("ding @QunBot", "ding"),
        ("please @QunBot do it", "please do it"),
        ("你好@QunBot\u2005在吗", "你好在吗"),
        ("@Alice\u2005@QunBot\u2005踢 @Bob\u2005", "@Alice 踢 @Bob"),  # other mentions stay
        ("@QunBotty ding", "@QunBotty ding"),  # a longer name that starts like the bot's
        ("mail x@QunBot.com", "mail x@QunBot.com"),
    ],
)
def test_every_mention_of_the_bot_is_removed_and_only_those(typed: str, body: str) -> None:
    assert clean_body(typed, BOT) == body


@pytest.mark.parametrize(
    ("typed", "body"),
    [
        ("帮助。", "帮助"),
        ("帮助？", "帮助"),
        ("help!", "help"),
        ("ding?", "ding"),
        ("提醒列表！！", "提醒列表"),
        ("@QunBot 帮助？", "帮助"),
        # Not a lone command word: sentences keep their punctuation (a question stays a question).
        ("周会是什么时候？", "周会是什么时候?"),
        ("提醒 30分钟后 喝水。", "提醒 30分钟后 喝水。"),
        ("when is the meetup?", "when is the meetup?"),
        ("?", "?"),
    ],
)
def test_a_trailing_stop_after_a_lone_command_word_is_dropped(typed: str, body: str) -> None:
    assert clean_body(typed, BOT) == body


def test_a_longer_name_wins_over_its_prefix_and_names_are_literal() -> None:
    assert clean_body("@Bot Helper ding", ["Bot", "Bot Helper"]) == "ding"
    assert clean_body("@a.b*(c) hi", ["a.b*(c)"]) == "hi"
    assert clean_body("@aXb hi", ["a.b"]) == "@aXb hi"
    assert clean_body("  @QunBot ding  ", []) == "@QunBot ding"


def test_normalize_is_width_case_and_space_blind() -> None:
    assert normalize("  ＴＡＧ\u3000 Hello\tWorld ") == "tag hello world"
    assert normalize("Straße") == normalize("STRASSE")


_INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff\u00ad\u202a\u202e\u2066\u2069\u200e"


@given(text=st.text(alphabet=st.sampled_from("ab 中文\n?!" + _INVISIBLE), max_size=60))
def test_no_invisible_character_survives_and_cleaning_twice_changes_nothing(text: str) -> None:
    body = clean_body(text, BOT)

    assert not any(char in body for char in _INVISIBLE)
    assert not any(unicodedata.category(char) == "Cf" for char in tidy(text))
    assert clean_body(body, BOT) == body
    assert strip_invisible(strip_invisible(text)) == strip_invisible(text)
