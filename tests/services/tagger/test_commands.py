from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.tagger.commands import (
    BrowseRequest,
    ParseError,
    TagRequest,
    keep_phrase_confidence,
    keywords_of,
    parse_browse,
    parse_delete,
    parse_faq_pair,
    parse_tag,
    question_of,
    tag_number,
)

ZONE = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 22, 10, 0, tzinfo=ZONE)
END_OF_2026 = datetime(2027, 1, 1, tzinfo=ZONE)


@pytest.mark.parametrize(
    ("args", "keywords", "expires_at"),
    [
        ("", (), None),
        ("发布", ("发布",), None),
        ("meetup, 聚会、上海", ("meetup", "聚会", "上海"), None),
        ("#release #发布", ("release", "发布"), None),
        ("发布 有效期 3天", ("发布",), NOW + timedelta(days=3)),
        ("有效期三天", (), NOW + timedelta(days=3)),
        ("有效期 十五天 周会", ("周会",), NOW + timedelta(days=15)),
        ("有效期 2周", (), NOW + timedelta(days=14)),
        ("有效期 12小时", (), NOW + timedelta(hours=12)),
        ("有效期：2026-12-31 聚会", ("聚会",), END_OF_2026),
        ("有效期至2026年12月31日", (), END_OF_2026),
        ("Meetup for 7 days", ("meetup",), NOW + timedelta(days=7)),
        ("for 2 weeks", (), NOW + timedelta(days=14)),
        ("until 2026-12-31 meetup", ("meetup",), END_OF_2026),
        ("一下", (), None),  # "标记一下" is no keyword
    ],
)
def test_tag_arguments_give_keywords_and_validity(
    args: str, keywords: tuple[str, ...], expires_at: datetime | None
) -> None:
    assert parse_tag(args, NOW, ZONE) == TagRequest(keywords=keywords, expires_at=expires_at)


@pytest.mark.parametrize("args", ["有效期 abc", "有效期", "until someday", "有效期 2026-02-30"])
def test_an_unreadable_validity_is_explained_in_both_languages(args: str) -> None:
    error = parse_tag(args, NOW, ZONE)
    assert isinstance(error, ParseError)
    assert "有效期" in error.zh
    assert "until" in error.en


def test_a_validity_in_the_past_is_refused() -> None:
    error = parse_tag("有效期 2025-01-01", NOW, ZONE)
    assert isinstance(error, ParseError)
    assert "过去" in error.zh


def test_keywords_are_deduplicated_and_bounded() -> None:
    assert keywords_of("A a 聚会 聚会") == ("a", "聚会")
    assert len(keywords_of(" ".join(f"k{i}" for i in range(30)))) == 10


@pytest.mark.parametrize(
    ("args", "body", "question"),
    [
        ("怎么安装", "问 怎么安装", "怎么安装"),
        ("how do I install it?", "ask: how do I install it?", "how do I install it?"),
        ("怎么安装", "？怎么安装", "怎么安装"),
        ("题是怎么安装", "问题是怎么安装", "问题是怎么安装"),  # 问 glued to 题 is a word, not the keyword
        ("候一下大家", " 问候一下大家", "问候一下大家"),
        ("", "问", ""),
    ],
)
def test_question_of_takes_the_dispatchers_args_unless_ask_began_a_word(
    args: str, body: str, question: str
) -> None:
    assert question_of(args, body) == question


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ("", BrowseRequest()),
        ("2", BrowseRequest(page=2)),
        ("第3页", BrowseRequest(page=3)),
        ("page 4", BrowseRequest(page=4)),
        ("聚会", BrowseRequest(keyword="聚会")),
        ("聚会 2", BrowseRequest(keyword="聚会", page=2)),
        ("#Release", BrowseRequest(keyword="release")),
        ("最近7天", BrowseRequest(since=NOW - timedelta(days=7))),
        ("last 7 days", BrowseRequest(since=NOW - timedelta(days=7))),
        (
            "2026-11-01 2026-11-30",
            BrowseRequest(since=datetime(2026, 11, 1, tzinfo=ZONE), until=datetime(2026, 12, 1, tzinfo=ZONE)),
        ),
        (
            "从 2026-11-01 到 2026-11-30 2",
            BrowseRequest(
                since=datetime(2026, 11, 1, tzinfo=ZONE), until=datetime(2026, 12, 1, tzinfo=ZONE), page=2
            ),
        ),
        ("since 2026-11-01", BrowseRequest(since=datetime(2026, 11, 1, tzinfo=ZONE))),
        (
            "2026-11-05",
            BrowseRequest(since=datetime(2026, 11, 5, tzinfo=ZONE), until=datetime(2026, 11, 6, tzinfo=ZONE)),
        ),
    ],
)
def test_browse_arguments(args: str, expected: BrowseRequest) -> None:
    assert parse_browse(args, NOW, ZONE) == expected


@pytest.mark.parametrize("args", ["2026-11-31", "2026-11-30 2026-11-01"])
def test_browse_rejects_impossible_dates(args: str) -> None:
    assert isinstance(parse_browse(args, NOW, ZONE), ParseError)


@pytest.mark.parametrize(
    ("args", "tag_id"), [("12", "12"), ("#12", "12"), (" ＃12 ", "12"), ("12号", "12"), ("007", "7")]
)
def test_delete_takes_an_id(args: str, tag_id: str) -> None:
    assert parse_delete(args) == tag_id


@pytest.mark.parametrize("args", ["", "abc", "12 13", "-1"])
def test_delete_without_an_id_explains(args: str) -> None:
    error = parse_delete(args)
    assert isinstance(error, ParseError)
    assert "删除 12" in error.zh


@given(st.text(max_size=60))
def test_parsers_never_crash(text: str) -> None:
    assert isinstance(parse_tag(text, NOW, ZONE), TagRequest | ParseError)
    assert isinstance(parse_browse(text, NOW, ZONE), BrowseRequest | ParseError)
    assert isinstance(parse_delete(text), str | ParseError)
    assert isinstance(question_of(text, text), str)


@pytest.mark.parametrize(
    "body",
    [
        "记一下",
        "帮我记住这条",
        "请收藏这个",
        "存一下吧",
        "记下来！",
        "save this",
        "please remember that one",
        "Bookmark it",
    ],
)
def test_keep_phrases_with_a_quote_ask_to_tag(body: str) -> None:
    assert keep_phrase_confidence(body, quoted=True) >= 0.5


@pytest.mark.parametrize(
    "body", ["记一下明天开会", "你记得吗", "save the date for the meetup", "keep calm", "周会几点"]
)
def test_other_sentences_and_any_phrase_without_a_quote_are_not_keep_requests(body: str) -> None:
    assert keep_phrase_confidence(body, quoted=True) == 0.0
    assert keep_phrase_confidence("记一下", quoted=False) == 0.0


@pytest.mark.parametrize(("args", "number"), [("3", 3), (" 12 ", 12), ("#4", 4), ("周会", None), ("", None)])
def test_tag_number_is_a_bare_number(args: str, number: int | None) -> None:
    assert tag_number(args) == number


@pytest.mark.parametrize(
    ("args", "pair"),
    [
        ("问：周会几点？ 答：周四晚8点", ("周会几点？", "周四晚8点")),
        ("Q: when is the meeting? A: Thursday 8pm", ("when is the meeting?", "Thursday 8pm")),
        ("q:where A:here", ("where", "here")),
        ("问：只有问题", None),
        ("答：只有答案", None),
        ("随便说说", None),
    ],
)
def test_faq_pairs(args: str, pair: tuple[str, str] | None) -> None:
    assert parse_faq_pair(args) == pair
