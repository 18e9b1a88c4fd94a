import pytest

from services.github_sync.neutralise import ZWJ, as_block_quote, neutralise, plain_title


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ping @alice please", f"ping @{ZWJ}alice please"),
        ("你好@alice", f"你好@{ZWJ}alice"),  # GitHub's word characters are ASCII
        ("@acme/core-team look", f"@{ZWJ}acme/core-team look"),
        ("mail bob@example.com", "mail bob@example.com"),  # e-mail addresses do not mention anyone
        ("see #12 and acme/widgets#3", f"see #{ZWJ}12 and acme/widgets#{ZWJ}3"),
        ("GH-7 again", f"GH{ZWJ}-7 again"),
        ("#hashtag stays", "#hashtag stays"),
        ("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"),
        ("a & b", "a &amp; b"),
        ("<img src=x onerror=alert(1)>", "&lt;img src=x onerror=alert(1)&gt;"),
        ("bell\x07 and nul\x00", "bell and nul"),
    ],
)
def test_neutralise(text: str, expected: str) -> None:
    assert neutralise(text) == expected


def test_titles_are_one_line_without_html_escaping() -> None:
    assert plain_title("  a <b>\n & @carol  ") == f"a <b> & @{ZWJ}carol"


def test_block_quote_marks_every_line() -> None:
    assert as_block_quote("one\n\ntwo") == "> one\n>\n> two"
