import pytest

from services.moderator.suggest import Keyword, edit_distance, suggestions

KEYWORDS = [
    Keyword(keyword, command, service)
    for keyword, command, service in [
        ("提醒", "remind", "scheduler"),
        ("remind", "remind", "scheduler"),
        ("提醒列表", "reminders", "scheduler"),
        ("reminders", "reminders", "scheduler"),
        ("帮助", "help", "moderator"),
        ("help", "help", "moderator"),
        ("set language", "set-language", "moderator"),
        ("forget me", "forget", "history"),
        ("问", "ask", "tagger"),
        ("delete", "delete", "tagger"),
    ]
]


def top(body: str) -> tuple[str, float] | None:
    found = suggestions(body, KEYWORDS)
    return (found[0].keyword.keyword, found[0].confidence) if found else None


@pytest.mark.parametrize(
    ("body", "keyword"),
    [
        ("提型 30分钟后 喝水", "提醒"),  # a homophone from the input method
        ("帮组", "帮助"),  # fuzzy pinyin: z = zh
        ("tixing 30分钟后 喝水", "提醒"),  # pinyin left unconverted
        ("remnd me at 5pm to call mom", "remind"),
        ("hepl", "help"),  # two letters swapped
        ("set langauge en", "set language"),
        ("forgetme", "forget me"),  # a space lost
        ("remnders", "reminders"),
    ],
)
def test_mistyped_keywords_are_found(body: str, keyword: str) -> None:
    found = top(body)
    assert found is not None
    assert found[0] == keyword
    assert found[1] >= 0.5


@pytest.mark.parametrize(
    "body",
    [
        "帮主是谁？",  # a question that starts like a keyword: for the services that answer questions
        "体型偏胖怎么办",
        "文件在哪",  # 文 sounds like 问, but one-character keywords are never guessed at
        "deleted messages from yesterday",  # a keyword plus an ending is a real word
        "hello",  # two edits from `help`: too far for four letters
        "帮我查一下",
    ],
)
def test_real_sentences_are_not_claimed(body: str) -> None:
    found = top(body)
    assert found is None or found[1] < 0.5


def test_nothing_alone_is_surer_than_a_keyword_with_arguments() -> None:
    alone, with_args = top("帮主"), top("提型 明天9点 开会")
    assert alone is not None
    assert with_args is not None
    assert alone[1] > 0.7 >= with_args[1] - 0.0001


def test_one_suggestion_per_command_closest_first() -> None:
    found = suggestions("remindr", KEYWORDS)
    assert [s.keyword.command for s in found] == ["remind", "reminders"]


def test_edit_distance_counts_a_swap_as_one() -> None:
    assert edit_distance("hepl", "help") == 1
    assert edit_distance("remnd", "remind") == 1
    assert edit_distance("kitten", "sitting") == 3
