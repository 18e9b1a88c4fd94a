from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from services.history.reports import figures, render_text
from services.history.unanswered import UnansweredRecord
from tests.services.history.conversations import CHINESE, ENGLISH, START, build

SHANGHAI = ZoneInfo("Asia/Shanghai")
UNTIL = datetime(2026, 11, 22, 13, 0, tzinfo=UTC)  # 21:00 in Shanghai


def test_daily_figures_hours_topics_questions_and_opt_in_leaderboard() -> None:
    question = UnansweredRecord("停车在哪里？", "a", "A", START.timestamp(), START.timestamp(), count=3)
    old = UnansweredRecord("旧问题？", "a", "A", 0.0, 0.0)
    found = figures(
        "daily", build(CHINESE), [question, old], room_name="开源群", until=UNTIL, zone=SHANGHAI, lang="zh",
        leaderboard=False,
    )  # fmt: skip
    assert (found.messages, found.members) == (18, 4)
    assert len(found.buckets) == 24
    assert dict(found.buckets)["09"] == 18  # START is 09:00 local
    assert found.busiest == ["09-10"]
    assert found.unanswered == [("停车在哪里？", 3)]
    assert found.leaders == []
    text = render_text(found, "zh")
    assert text.splitlines()[0] == "📊 开源群 日报（11月22日）"
    assert "消息 18 条，活跃 4 人；最忙：09-10点" in text
    assert "没答上的问题 1 个：停车在哪里？（3 次）" in text
    assert "活跃榜" not in text
    with_board = figures(
        "daily",
        build(CHINESE),
        [],
        room_name="开源群",
        until=UNTIL,
        zone=SHANGHAI,
        lang="zh",
        leaderboard=True,
    )
    assert with_board.leaders[0] == ("老王", 6)
    assert "活跃榜：老王 6" in render_text(with_board, "zh")


def test_weekly_figures_in_english_count_per_day() -> None:
    later = build(ENGLISH, START - timedelta(days=2))
    found = figures(
        "weekly",
        build(CHINESE) + later,
        [],
        room_name="Ops",
        until=UNTIL,
        zone=SHANGHAI,
        lang="en",
        leaderboard=False,
    )
    assert [label for label, _ in found.buckets] == ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    assert dict(found.buckets) == {"Mon": 0, "Tue": 0, "Wed": 0, "Thu": 0, "Fri": 12, "Sat": 0, "Sun": 18}
    text = render_text(found, "en")
    assert text.startswith("📊 Ops weekly report (Nov 16–Nov 22)")
    assert "30 messages from 8 members; busiest: Sun, Fri" in text


def test_an_empty_period_says_so() -> None:
    found = figures("daily", [], [], room_name="R", until=UNTIL, zone=SHANGHAI, lang="en", leaderboard=True)
    assert render_text(found, "en").splitlines()[1] == "No kept messages in this period."
