from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from services.tagger import replies
from services.tagger.browse import Empty, Page
from services.tagger.deletion import Deleted, NotFound, Refused
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
    answer = replies.answer(record(), ZONE)
    assert "老王" in answer.zh
    assert "周四晚上 8 点开周会" in answer.en
    assert "#12" in answer.en


def test_an_unverified_quote_is_the_taggers_never_the_named_persons() -> None:
    answer = replies.answer(record().model_copy(update={"verified": False, "tagger_name": "Dave"}), ZONE)
    assert "Dave 标记（引用未核实）" in answer.zh
    assert "tagged by Dave (quote not verified)" in answer.en
    assert "老王" not in answer.zh + answer.en


def test_suggestions_list_ids_with_keywords_or_a_snippet() -> None:
    long_text = "这是一条很长很长的消息，" * 5
    suggestion = replies.suggestions([record("1", keywords=("周会",)), record("2", text=long_text)])
    assert "#1 [周会] 周四晚上 8 点开周会" in suggestion.zh
    assert "#2 这是一条很长很长的消息" in suggestion.en
    assert "…" in suggestion.en
    assert suggestion.en.startswith("Did you mean")


def test_browse_page_says_how_to_get_the_next_one() -> None:
    page = replies.page([record()], 1, 3, ZONE)
    assert "浏览 2" in page.zh
    assert "'tags 2'" in page.en
    assert "tags" not in replies.page([record()], 3, 3, ZONE).en.split("\n")[-1]


def test_browse_results_read_as_a_page_or_say_why_there_is_none() -> None:
    assert replies.browsed(Empty.NOTHING_TAGGED, ZONE) == replies.NOTHING_TAGGED
    assert replies.browsed(Empty.NO_MATCH, ZONE) == replies.NO_MATCHING_TAGS
    listing = replies.browsed(Page(records=(record(),), number=1, pages=1), ZONE)
    assert listing.zh.startswith("#12 周四晚上 8 点开周会（老王，2026-11-22）")


def test_delete_outcomes_each_have_their_sentence() -> None:
    assert replies.delete_outcome(Deleted(record())).en == "Deleted #12."
    assert replies.delete_outcome(Refused(record())).zh.startswith("抱歉，#12")
    assert replies.delete_outcome(NotFound("7")).zh == "没有找到 #7。"


def test_did_you_mean_shows_the_stretch_of_a_long_notice_around_the_questions_word() -> None:
    notice = (
        "【通知】本周六上午 9 点在中山公园南门集合跑 10 公里，配速 6 分到 7 分都有人带。"
        "存包处在南门保安亭，跑完 11 点前取回；下雨改到周日同一时间。"
    )
    said = replies.suggestions([record("7", text=notice)], near=["存包", "哪里"])
    line = said.zh.splitlines()[1]
    assert line.startswith("#7 …")
    assert "存包处在南门保安亭" in line
    # a word near the start, or none the message has: its start, as before
    assert "#7 【通知】本周六上午" in replies.suggestions([record("7", text=notice)], near=["周六"]).zh
    assert "#7 【通知】本周六上午" in replies.suggestions([record("7", text=notice)], near=["parcel"]).en


def test_an_english_notice_is_searched_regardless_of_case() -> None:
    notice = "Reminder: the canteen on B1 closes at 2pm on Friday; the coffee bar on 3F stays open until 6pm."
    line = replies.suggestions([record("3", text=notice)], near=["coffe"]).en.splitlines()[1]
    assert "coffee bar on 3F" in line
    assert line.startswith("#3 …")
