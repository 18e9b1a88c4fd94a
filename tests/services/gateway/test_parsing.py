"""Quote and mention parsing on the texts WeChat actually delivers."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.gateway.parsing import (
    MENTION_SEPARATOR,
    mentions_of,
    parse_text,
    render_mentions,
    split_quote,
)
from services.shared.text import clean_body, tidy

NEW_SEPARATOR = "- - - - - - - - - - - - - - -"
BOT = ["QunBot", "小助手"]  # WeChat name, alias in the room


def test_quote_in_current_bracket_format() -> None:
    raw = f"「Alice：周四晚8点开会」\n{NEW_SEPARATOR}\n@QunBot{MENTION_SEPARATOR}标记 会议"

    parsed = parse_text(raw, BOT)

    assert parsed.quote is not None
    assert (parsed.quote.talker_name, parsed.quote.quoted_text) == ("Alice", "周四晚8点开会")
    assert parsed.text == f"@QunBot{MENTION_SEPARATOR}标记 会议"
    assert parsed.body == "标记 会议"
    assert parsed.mentions_bot


def test_quote_in_older_double_quote_format() -> None:
    raw = '"Bob: release is on Friday"\n------\n@QunBot tag release'

    parsed = parse_text(raw, BOT)

    assert parsed.quote is not None
    assert (parsed.quote.talker_name, parsed.quote.quoted_text) == ("Bob", "release is on Friday")
    assert parsed.body == "tag release"


def test_quote_in_older_format_with_curly_quotes() -> None:
    quote = split_quote("“Bob：好的”\n------\n收到")

    assert quote is not None
    assert (quote.talker_name, quote.quoted_text, quote.reply) == ("Bob", "好的", "收到")


def test_multi_line_quote_keeps_its_lines() -> None:
    raw = f"「Carol：第一行\n第二行\n\n第四行」\n{NEW_SEPARATOR}\n记一下"

    quote = split_quote(raw)

    assert quote is not None
    assert quote.quoted_text == "第一行\n第二行\n\n第四行"
    assert quote.reply == "记一下"


def test_multi_line_reply_after_a_quote() -> None:
    quote = split_quote(f"「Dan：q」\n{NEW_SEPARATOR}\nline one\nline two")

    assert quote is not None
    assert quote.reply == "line one\nline two"


def test_quote_of_an_image_placeholder() -> None:
    quote = split_quote(f"「Eve：[图片]」\n{NEW_SEPARATOR}\n这是哪里")

    assert quote is not None
    assert quote.quoted_text == "[图片]"


def test_quoted_text_containing_a_colon_splits_at_the_name() -> None:
    quote = split_quote(f"「Frank：时间：周四」\n{NEW_SEPARATOR}\nok")

    assert quote is not None
    assert (quote.talker_name, quote.quoted_text) == ("Frank", "时间：周四")


@pytest.mark.parametrize(
    "raw",
    [
        "just a message",
        "「not a quote」",
        "「Alice：no separator」\nreply",
        f"some text\n{NEW_SEPARATOR}\nafter a dashed line",
        '"Bob: two dashes"\n--\nreply',
        f"reply first\n「Alice：x」\n{NEW_SEPARATOR}\nnot at the start",
    ],
)
def test_text_that_only_looks_like_a_quote_is_not_one(raw: str) -> None:
    parsed = parse_text(raw, BOT)

    assert parsed.quote is None
    assert parsed.text == raw


@pytest.mark.parametrize(
    ("text", "body"),
    [
        (f"@QunBot{MENTION_SEPARATOR}ding", "ding"),  # inserted by WeChat's member picker
        ("@QunBot ding", "ding"),  # typed by hand
        (f"@小助手{MENTION_SEPARATOR}帮助", "帮助"),  # the bot's alias in this room
        ("ding @QunBot", "ding"),  # at the end
        (f"ding @QunBot{MENTION_SEPARATOR}", "ding"),  # at the end, with the separator
        ("please @QunBot do it", "please do it"),  # in the middle
        (f"你好@QunBot{MENTION_SEPARATOR}在吗", "你好在吗"),  # Chinese runs on without a space
        ("@QunBot\n多行\n命令", "多行\n命令"),  # mention alone on the first line
        (f"@QunBot{MENTION_SEPARATOR}@QunBot{MENTION_SEPARATOR}ding", "ding"),  # mentioned twice
    ],
)
def test_body_strips_the_bot_mention_in_every_form(text: str, body: str) -> None:
    parsed = parse_text(text, BOT)

    assert parsed.body == body
    assert parsed.mentions_bot


@pytest.mark.parametrize(
    "text",
    [
        f"@Alice{MENTION_SEPARATOR}ding",  # someone else
        "@QunBotty ding",  # a longer name that starts like the bot's
        "mail me at x@QunBot.com",  # not followed by a separator
        "QunBot ding",  # no @
    ],
)
def test_other_mentions_and_lookalikes_stay(text: str) -> None:
    parsed = parse_text(text, BOT)

    assert parsed.body == tidy(text)  # WeChat's U+2005 after a mention reads as a plain space in the body
    assert not parsed.mentions_bot


def test_only_the_bot_mention_is_removed_when_others_are_mentioned() -> None:
    text = f"@Alice{MENTION_SEPARATOR}@QunBot{MENTION_SEPARATOR}踢 @Bob{MENTION_SEPARATOR}"

    assert parse_text(text, BOT).body == "@Alice 踢 @Bob"


def test_longer_name_wins_over_its_prefix() -> None:
    names = ["Bot", "Bot Helper"]

    assert parse_text("@Bot Helper ding", names).body == "ding"
    assert mentions_of("@Bot Helper ding", names) == 1


def test_the_body_is_cleaned_once_and_the_text_stays_raw() -> None:
    raw = f"@QunBot{MENTION_SEPARATOR}提\u200b醒\u3000３０分钟后　喝水"

    parsed = parse_text(raw, BOT)

    assert parsed.body == "提醒 30分钟后 喝水"
    assert parsed.text == raw
    assert parsed.mentions_bot


def test_a_mention_with_an_invisible_character_in_the_name_still_counts() -> None:
    parsed = parse_text("@Qun\u200bBot 帮助？", BOT)

    assert (parsed.body, parsed.mentions_bot) == ("帮助", True)


def test_text_keeps_the_mention_and_body_of_a_quoted_reply_drops_it() -> None:
    raw = f"「Alice：x」\n{NEW_SEPARATOR}\n@小助手 标记"

    parsed = parse_text(raw, BOT)

    assert parsed.text == "@小助手 标记"
    assert parsed.body == "标记"


def test_render_mentions_matches_what_parsing_strips() -> None:
    rendered = render_mentions(["QunBot", "Alice"], "dong")

    assert rendered == f"@QunBot{MENTION_SEPARATOR}@Alice{MENTION_SEPARATOR}dong"
    assert parse_text(rendered, ["QunBot"]).body == "@Alice dong"


_plain_text = st.text(
    alphabet=st.characters(exclude_categories=["Cs"], exclude_characters='@「"“'), max_size=40
)


@given(body=_plain_text)
def test_a_mention_prefix_always_strips_back_to_the_body(body: str) -> None:
    parsed = parse_text(render_mentions(["QunBot"], body), BOT)

    assert parsed.body == clean_body(body, BOT)


def test_a_quote_with_an_empty_reply() -> None:
    quote = split_quote(f"「Alice：原文」\n{NEW_SEPARATOR}")

    assert quote is not None
    assert (quote.quoted_text, quote.reply) == ("原文", "")


def test_windows_line_endings_are_accepted() -> None:
    quote = split_quote(f"「Alice：原文」\r\n{NEW_SEPARATOR}\r\n回复")

    assert quote is not None
    assert quote.reply == "回复"
