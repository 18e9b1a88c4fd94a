from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from services.tagger import replies
from services.tagger.models import TagRecord, content_hash

ZONE = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)


def record(
    tag_id: str = "12", text: str = "周四晚上 8 点开周会", keywords: tuple[str, ...] = ()
) -> TagRecord:
    return TagRecord(
        id=tag_id,
        kb="room:r",
        text=text,
        author_name="老王",
        keywords=keywords,
        created_at=NOW,
        updated_at=NOW,
        hash=content_hash(text),
    )


def test_tag_confirmation_names_the_id_keywords_and_validity() -> None:
    tagged = replies.tagged(
        record(keywords=("周会", "meeting")).model_copy(
            update={"expires_at": datetime(2026, 12, 1, tzinfo=UTC)}
        ),
        created=True,
        zone=ZONE,
    )
    assert tagged.zh == "已标记 #12（关键词：周会、meeting；有效至 2026-12-01 08:00）"
    assert tagged.en == "Tagged #12 (keywords: 周会, meeting; until 2026-12-01 08:00)"
    assert replies.tagged(record(), created=False, zone=ZONE).en == "Updated #12"


def test_answer_quotes_author_and_text() -> None:
    answer = replies.answer(record())
    assert "老王" in answer.zh
    assert "周四晚上 8 点开周会" in answer.en
    assert "#12" in answer.en


def test_suggestions_list_ids_with_keywords_or_a_snippet() -> None:
    long_text = "这是一条很长很长的消息，" * 5
    suggestion = replies.suggestions([record("1", keywords=("周会",)), record("2", text=long_text)])
    assert "#1 周会" in suggestion.zh
    assert "#2 这是一条很长很长的消息" in suggestion.en
    assert "…" in suggestion.en
    assert suggestion.en.startswith("Did you mean")


def test_browse_page_says_how_to_get_the_next_one() -> None:
    page = replies.page([record()], 1, 3, ZONE)
    assert "浏览 2" in page.zh
    assert "'tags 2'" in page.en
    assert "tags" not in replies.page([record()], 3, 3, ZONE).en.split("\n")[-1]
