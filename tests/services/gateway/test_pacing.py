"""The pure parts of the send path: the fair queue, cutting long texts, limits, dedupe."""

from __future__ import annotations

from typing import TypeVar

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.gateway.pacing import (
    PRIORITIES,
    TRUNCATED_EN,
    TRUNCATED_ZH,
    FairQueue,
    PacingLimits,
    RecentIds,
    bounded_parts,
    split_text,
)

T = TypeVar("T")


def served(queue: FairQueue[T], now: float = 0.0) -> list[T]:
    """Everything in the order `candidates` offers it, always taking the first candidate."""
    order = []
    while len(queue):
        priority, conversation = next(queue.candidates(now))
        order.append(queue.pop(priority, conversation))
    return order


def test_conversations_take_turns_so_a_busy_one_cannot_starve_the_others() -> None:
    queue: FairQueue[str] = FairQueue()
    for index in range(4):
        queue.push("reply", "busy", f"busy{index}")
    queue.push("reply", "quiet", "quiet0")

    order = served(queue)

    assert order.index("quiet0") == 1
    assert [item for item in order if item.startswith("busy")] == ["busy0", "busy1", "busy2", "busy3"]


def test_replies_go_before_reminders_before_notices_before_broadcasts() -> None:
    queue: FairQueue[str] = FairQueue()
    for priority in reversed(PRIORITIES):
        queue.push(priority, "room", priority)

    assert served(queue) == ["reply", "reminder", "notice", "broadcast"]
    assert len(queue) == 0


def test_a_deferred_conversation_is_skipped_until_its_time_and_only_it() -> None:
    queue: FairQueue[str] = FairQueue()
    queue.push("reply", "slow", "s1")
    queue.push("reply", "fast", "f1")
    queue.defer("slow", until=5.0)

    assert list(queue.candidates(1.0)) == [("reply", "fast")]
    assert queue.soonest(1.0) == pytest.approx(4.0)
    assert list(queue.candidates(5.0)) == [("reply", "slow"), ("reply", "fast")]


def test_order_within_a_conversation_is_kept() -> None:
    queue: FairQueue[int] = FairQueue()
    for index in range(20):
        queue.push("reply", "a" if index % 3 else "b", index)

    order = served(queue)

    for conversation in (0, 1):
        items = [item for item in order if (item % 3 == 0) == bool(conversation)]
        assert items == sorted(items)


def test_removed_items_are_never_offered_and_sizes_are_reported() -> None:
    queue: FairQueue[str] = FairQueue()
    queue.push("reply", "a", "1")
    queue.push("reply", "a", "2")
    queue.push("notice", "b", "3")

    assert queue.sizes_by_conversation() == {"a": 2, "b": 1}
    assert queue.sizes_by_priority() == {"reply": 2, "notice": 1}
    queue.remove(lambda item: item in {"1", "3"})

    assert served(queue) == ["2"]


def test_a_long_text_is_cut_at_a_line_boundary_with_a_marker_in_its_language() -> None:
    chinese = "\n".join(f"第{index}行：" + "字" * 30 for index in range(100))
    english = "\n".join(f"line {index}: " + "word " * 6 for index in range(100))

    for text, marker in ((chinese, TRUNCATED_ZH), (english, TRUNCATED_EN)):
        parts = bounded_parts(text, 100, 3)
        assert len(parts) == 3
        assert all(len(part) <= 100 for part in parts)
        assert parts[-1].endswith("\n" + marker)
        kept = parts[-1].removesuffix("\n" + marker).split("\n")
        assert all(line in text.split("\n") for line in kept)  # whole lines only


def test_a_text_within_the_parts_is_not_marked() -> None:
    assert bounded_parts("a\nb", 100, 3) == ["a\nb"]
    assert bounded_parts("x" * 250, 100, 3) == ["x" * 100, "x" * 100, "x" * 50]


@given(
    text=st.text(alphabet=st.sampled_from("ab \n中"), max_size=600),
    limit=st.integers(min_value=20, max_value=60),
    max_parts=st.integers(min_value=1, max_value=4),
)
def test_bounded_parts_never_exceed_their_bounds(text: str, limit: int, max_parts: int) -> None:
    parts = bounded_parts(text, limit, max_parts)

    assert len(parts) <= max_parts
    assert all(0 < len(part) <= limit for part in parts)


@pytest.mark.parametrize(
    "limits",
    [{"room_per_second": 0}, {"account_per_minute": -1}, {"room_burst": 0}, {"jitter_seconds": -0.1}],
)
def test_nonsense_limits_are_refused(limits: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=r"must|cannot"):
        PacingLimits(**limits)  # type: ignore[arg-type]


def test_split_keeps_short_text_whole() -> None:
    assert split_text("hello\nworld", 100) == ["hello\nworld"]


def test_split_on_line_boundaries() -> None:
    text = "\n".join(f"line {index:02d}" for index in range(10))  # 10 lines of 7 chars

    chunks = split_text(text, 20)

    assert chunks == [
        "line 00\nline 01",
        "line 02\nline 03",
        "line 04\nline 05",
        "line 06\nline 07",
        "line 08\nline 09",
    ]


def test_split_a_long_line_at_a_space_or_hard() -> None:
    assert split_text("aaaa bbbb cccc", 9) == ["aaaa bbbb", "cccc"]
    assert split_text("一二三四五六七", 3) == ["一二三", "四五六", "七"]


def test_split_drops_empty_chunks() -> None:
    assert split_text("", 10) == []
    assert split_text("\n\n", 10) == []


@given(
    text=st.text(alphabet=st.sampled_from("ab \n中"), max_size=300),
    limit=st.integers(min_value=1, max_value=50),
)
def test_split_never_exceeds_the_limit_and_loses_no_visible_text(text: str, limit: int) -> None:
    chunks = split_text(text, limit)

    assert all(0 < len(chunk) <= limit for chunk in chunks)
    assert "".join("".join(chunks).split()) == "".join(text.split())


def test_recent_ids_dedupe_within_ttl() -> None:
    recent = RecentIds(max_size=10, ttl_seconds=60)

    assert recent.first_time("cmd-1", now=0.0)
    assert not recent.first_time("cmd-1", now=30.0)
    assert recent.first_time("cmd-1", now=61.0)  # expired, counts as new


def test_recent_ids_are_bounded() -> None:
    recent = RecentIds(max_size=3, ttl_seconds=3600)
    for index in range(5):
        recent.add(f"id{index}", now=float(index))

    assert not recent.seen("id0", now=5.0)
    assert not recent.seen("id1", now=5.0)
    assert all(recent.seen(f"id{index}", now=5.0) for index in (2, 3, 4))
