from services.history.bench import as_history, busy_day
from services.history.summary import SummaryOptions, digest, summarize
from tests.services.history.conversations import CHINESE, ENGLISH, MIXED, build


def test_chinese_day_topics_people_open_question_decision_and_links() -> None:
    lines = summarize(build(CHINESE), SummaryOptions(lang="zh", label="今天"))
    assert lines[0] == "今天群聊总结（18 条消息，4 人）："
    assert len(lines) <= 10
    text = "\n".join(lines)
    topics = [line for line in lines if line[:2] in {"1.", "2.", "3.", "4.", "5."}]
    assert any("火锅" in line and "小美" in line and "阿强" in line for line in topics)
    assert any("回归" in line or "发布" in line for line in topics)
    assert "没人回答：小李「有人知道打印机驱动在哪下载吗？」" in text  # nobody answered it
    assert "中午团建聚餐去哪家餐厅" not in text  # answered right away
    assert "决定了" in text
    assert "https://map.example.com/hotpot（阿强）" in text


def test_english_day_in_english() -> None:
    lines = summarize(build(ENGLISH), SummaryOptions(lang="en", label="today"))
    assert lines[0] == "Summary of today (12 messages, 4 people):"
    text = "\n".join(lines)
    assert "migration" in lines[1]
    assert "Bob" in lines[1]
    assert any("coffee" in line for line in lines)
    assert 'Open: Carol: "Where do I find the vpn' in text  # "lol" is no answer
    assert "Is the database migration still planned" not in text  # Bob answered it


def test_mixed_languages_keep_an_answer_in_the_other_language_with_its_question() -> None:
    found = digest(build(MIXED), SummaryOptions(lang="zh", label="今天"))
    assert [q.text for q in found.open_questions] == []
    friday = next(t for t in found.topics if "周五" in t.keywords or "分享" in "".join(t.keywords))
    assert set(friday.people) == {"小美", "Bob"}
    assert any("决定了" in d.text for d in found.decisions)


def test_questions_to_the_bot_are_left_to_the_unanswered_list() -> None:
    messages = build([(0, "Alice", "停车在哪里？")])
    asked_bot = [messages[0].model_copy(update={"mention_ids": ["bot"]})]
    assert digest(asked_bot, SummaryOptions(lang="zh", label="今天", bot_id="bot")).open_questions == []
    assert len(digest(messages, SummaryOptions(lang="zh", label="今天", bot_id="bot")).open_questions) == 1


def test_nothing_kept_and_only_chatter() -> None:
    assert summarize([], SummaryOptions(lang="en", label="today")) == ["Nothing was kept for today."]
    chatter = summarize(build([(0, "A", "哈哈"), (1, "B", "好的")]), SummaryOptions(lang="zh", label="今天"))
    assert chatter[1] == "没有成形的话题，多是简短的闲聊。"


def test_a_busy_day_fits_ten_short_lines() -> None:
    lines = summarize(as_history(busy_day(2000)), SummaryOptions(lang="zh", label="今天"))
    assert 3 <= len(lines) <= 10
    assert lines[0] == "今天群聊总结（2000 条消息，40 人）："
    assert all(len(line) <= 80 for line in lines)
