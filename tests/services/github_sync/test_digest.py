from services.github_sync.budget import Held, HeldNotice
from services.github_sync.digest import LINE_LIMIT, MAX_LINES, TEXT_LIMIT, digest_id, digest_text, held_notice
from services.github_sync.notices import notice_for, parse_quoted_ref
from tests.services.github_sync.test_notices import payload


def held(count: int, *, overflow: int = 0, text: str = "acme/widgets#{n} bob-dev 评论了 Issue") -> Held:
    notices = tuple(
        HeldNotice(id=f"d-{n}", zh=text.format(n=n), en=text.format(n=n) + " (en)") for n in range(count)
    )
    return Held(notices=notices, members=tuple(n.model_dump_json() for n in notices), overflow=overflow)


def test_a_notice_becomes_one_short_line_without_the_tag() -> None:
    notice = notice_for("issue_comment", payload("issue_comment.created"))
    assert notice is not None
    line = held_notice("d-1", notice)
    assert line.zh.startswith("acme/widgets#42 bob-dev 评论了 Issue「Login button")
    assert "\n" not in line.zh
    assert "\n" not in line.en
    assert len(line.zh) <= LINE_LIMIT
    assert len(line.en) <= LINE_LIMIT


def test_the_digest_counts_everything_and_lists_a_few_lines() -> None:
    text = digest_text(held(12))
    zh_lines = text.zh.split("\n")
    assert zh_lines[0] == "[GitHub] 另有 12 条更新："
    assert zh_lines[1] == "· acme/widgets#0 bob-dev 评论了 Issue"
    assert len(zh_lines) == 1 + MAX_LINES + 1
    assert zh_lines[-1] == "……还有 4 条"
    assert text.en.split("\n")[0] == "[GitHub] 12 more updates:"
    assert text.en.endswith("… and 4 more")


def test_the_digest_is_short_whatever_the_lines_hold() -> None:
    text = digest_text(held(3, overflow=500, text="x" * 1000))
    assert len(text.zh) <= TEXT_LIMIT
    assert "另有 503 条更新" in text.zh
    assert digest_text(held(1)).en.startswith("[GitHub] 1 more update:")


def test_a_digest_is_not_a_notice_members_can_answer() -> None:
    assert parse_quoted_ref(digest_text(held(3)).zh) is None


def test_the_same_digest_gets_the_same_id() -> None:
    assert digest_id("r", held(3)) == digest_id("r", held(3))
    assert digest_id("r", held(3)) != digest_id("r", held(4))
    assert digest_id("r", held(3)) != digest_id("other", held(3))
