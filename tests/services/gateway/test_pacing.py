"""Pacing: buckets, fairness, splitting and dedupe, on an injected clock."""

from __future__ import annotations

import random
from typing import TypeVar

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.gateway.pacing import (
    Outbox,
    PacingLimits,
    Ready,
    RecentIds,
    TokenBucket,
    Wait,
    split_text,
)

NO_JITTER = PacingLimits(jitter_seconds=0.0)
T = TypeVar("T")


def drain(outbox: Outbox[T], start: float = 0.0) -> list[tuple[float, str, T]]:
    """Run the outbox on a simulated clock: (time sent, conversation, item) for everything it releases."""
    now, sent = start, []
    while True:
        step = outbox.next(now)
        if isinstance(step, Ready):
            sent.append((now, step.conversation, step.item))
            continue
        if step.seconds is None:
            break
        now += step.seconds
    return sent


def test_token_bucket_allows_a_burst_then_the_rate() -> None:
    bucket = TokenBucket(rate=1.0, capacity=2, now=0.0)

    assert bucket.delay(0.0) == 0.0
    bucket.take(0.0)
    bucket.take(0.0)
    assert bucket.delay(0.0) == pytest.approx(1.0)
    assert bucket.delay(0.5) == pytest.approx(0.5)
    assert bucket.delay(1.0) == 0.0


def test_a_room_gets_its_burst_then_one_message_per_second() -> None:
    outbox: Outbox[str] = Outbox(
        PacingLimits(room_per_second=1, room_burst=2, account_burst=100, jitter_seconds=0)
    )
    for index in range(5):
        outbox.push("room-a", f"m{index}")

    times = [sent_at for sent_at, _, _ in drain(outbox)]

    assert times == pytest.approx([0.0, 0.0, 1.0, 2.0, 3.0])


def test_the_account_cap_limits_all_rooms_together() -> None:
    limits = PacingLimits(
        room_per_second=100, room_burst=100, account_per_minute=6, account_burst=2, jitter_seconds=0
    )
    outbox: Outbox[str] = Outbox(limits)
    for room in ("a", "b", "c"):
        for index in range(2):
            outbox.push(room, f"{room}{index}")

    times = [sent_at for sent_at, _, _ in drain(outbox)]

    # burst of 2, then one every 10 s (6 per minute)
    assert times == pytest.approx([0.0, 0.0, 10.0, 20.0, 30.0, 40.0])


def test_rooms_take_turns_so_a_busy_room_cannot_starve_the_others() -> None:
    outbox: Outbox[str] = Outbox(
        PacingLimits(room_per_second=1, room_burst=1, account_burst=100, jitter_seconds=0)
    )
    for index in range(4):
        outbox.push("busy", f"busy{index}")
    outbox.push("quiet", "quiet0")

    order = [item for _, _, item in drain(outbox)]

    assert order.index("quiet0") == 1
    assert [item for item in order if item.startswith("busy")] == ["busy0", "busy1", "busy2", "busy3"]


def test_order_within_a_conversation_is_kept() -> None:
    outbox: Outbox[int] = Outbox(NO_JITTER)
    for index in range(20):
        outbox.push("a" if index % 3 else "b", index)

    sent = drain(outbox)

    for room in ("a", "b"):
        items = [item for _, conversation, item in sent if conversation == room]
        assert items == sorted(items)


def test_rate_limit_waits_count_each_stretch_once() -> None:
    outbox: Outbox[str] = Outbox(
        PacingLimits(room_per_second=1, room_burst=1, account_burst=100, jitter_seconds=0)
    )
    outbox.push("a", "1")
    outbox.push("a", "2")

    assert isinstance(outbox.next(0.0), Ready)
    assert isinstance(outbox.next(0.1), Wait)
    assert isinstance(outbox.next(0.2), Wait)
    assert isinstance(outbox.next(1.0), Ready)

    assert outbox.stats.rate_limit_waits == 1
    assert outbox.stats.sent == 2


def test_empty_outbox_waits_for_work() -> None:
    outbox: Outbox[str] = Outbox(NO_JITTER)

    assert outbox.next(0.0) == Wait(None)


def test_queue_sizes_report_each_conversation() -> None:
    outbox: Outbox[str] = Outbox(NO_JITTER)
    outbox.push("a", "1")
    outbox.push("a", "2")
    outbox.push("b", "3")

    assert outbox.queue_sizes() == {"a": 2, "b": 1}
    assert len(outbox) == 3


def test_idle_buckets_are_forgotten() -> None:
    outbox: Outbox[str] = Outbox(NO_JITTER)
    for index in range(100):
        outbox.push(f"room{index}", "x")
    drain(outbox)

    outbox.push("last", "x")
    assert isinstance(outbox.next(10_000.0), Ready)

    assert len(outbox._conversation_buckets) <= 1  # only the room just used


def test_jitter_stays_within_its_bound() -> None:
    outbox: Outbox[str] = Outbox(PacingLimits(jitter_seconds=0.5), rng=random.Random(7))

    samples = [outbox.jitter() for _ in range(200)]

    assert all(0.0 <= sample <= 0.5 for sample in samples)
    assert max(samples) - min(samples) > 0.1  # it does vary


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
