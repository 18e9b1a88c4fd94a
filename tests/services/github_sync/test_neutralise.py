import pytest

from services.github_sync.neutralise import ZWJ, as_block_quote, neutralise, plain_title


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ping @alice please", f"ping @{ZWJ}alice please"),
        ("你好@alice", f"你好@{ZWJ}alice"),  # GitHub's word characters are ASCII
        ("@acme/core-team look", f"@{ZWJ}acme/core-team look"),
        ("mail bob@example.com", "mail bob@example.com"),  # e-mail addresses do not mention anyone
        ("`@alice", f"`@{ZWJ}alice"),  # a lone backtick opens no code span: still a mention
        ("foo_@alice", f"foo_@{ZWJ}alice"),
        ("see #12 and acme/widgets#3", f"see #{ZWJ}12 and acme/widgets#{ZWJ}3"),
        ("GH-7 again", f"GH{ZWJ}-7 again"),
        ("#hashtag stays", "#hashtag stays"),
        ("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"),
        ("a & b", "a &amp; b"),
        ("bell\x07 and nul\x00", "bell and nul"),
        ("bidi \u202eevil\u202c and \u2066isolate\u2069", "bidi evil and isolate"),
    ],
)
def test_neutralise(text: str, expected: str) -> None:
    assert neutralise(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Links stay links, untouched inside: a fragment, an @ in a path, a query string.
        ("docs: https://example.com/guide#12 ok", "docs: https://example.com/guide#12 ok"),
        ("https://x.example/@alice/post?a=1&b=2.", "https://x.example/@alice/post?a=1&b=2."),
        ("[the guide](https://example.com/g) @bob", f"[the guide](https://example.com/g) @{ZWJ}bob"),
        ("see www.example.org/a#3", "see www.example.org/a#3"),
        # A link to an issue or pull request would cross-reference it: shown as code, readable and copyable.
        (
            "dup of https://github.com/acme/widgets/issues/12",
            "dup of `https://github.com/acme/widgets/issues/12`",
        ),
        ("https://ghe.corp/a/b/pull/3/files.", "`https://ghe.corp/a/b/pull/3/files`."),
        # Images become plain links: nothing is fetched from a stranger's server.
        ("![screenshot](https://evil.example/pixel.png)", "\\![screenshot](https://evil.example/pixel.png)"),
        ("![x][ref]\n[ref]: https://evil.example/p.png", "\\![x][ref]\n[ref]: https://evil.example/p.png"),
        ('<img src="https://evil.example/p.png" width=1>', " https://evil.example/p.png "),
        ("<img src=https://evil.example/p.png>", " https://evil.example/p.png "),
        ("<picture><source srcset=x></picture>", "&lt;picture&gt;&lt;source srcset=x&gt;&lt;/picture&gt;"),
    ],
)
def test_links_stay_and_images_become_links(text: str, expected: str) -> None:
    assert neutralise(text) == expected


def test_titles_are_one_line_without_html_escaping() -> None:
    assert plain_title("  a <b>\n & @carol  ") == f"a <b> & @{ZWJ}carol"


def test_block_quote_marks_every_line() -> None:
    assert as_block_quote("one\n\ntwo") == "> one\n>\n> two"
