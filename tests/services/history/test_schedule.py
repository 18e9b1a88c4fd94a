from collections.abc import AsyncIterator
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from redis.asyncio import Redis

from services.history.schedule import ReportSchedule, ReportStore, next_due

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)  # Sunday 20:00 in Shanghai


def test_next_due_daily_weekly_and_across_daylight_saving() -> None:
    assert next_due("daily", NOW, time(21, 0), SHANGHAI) == datetime(2026, 11, 22, 21, 0, tzinfo=SHANGHAI)
    assert next_due("daily", NOW, time(9, 0), SHANGHAI) == datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI)
    assert next_due("weekly", NOW, time(21, 0), SHANGHAI, 7) == datetime(2026, 11, 22, 21, 0, tzinfo=SHANGHAI)
    assert next_due("weekly", NOW, time(9, 0), SHANGHAI, 7) == datetime(2026, 11, 29, 9, 0, tzinfo=SHANGHAI)
    assert next_due("weekly", NOW, time(9, 0), SHANGHAI, 1) == datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI)
    # Berlin moves its clocks on 2026-03-29: 21:00 local stays 21:00 local
    before = datetime(2026, 3, 28, 21, 0, tzinfo=BERLIN)
    after = next_due("daily", before, time(21, 0), BERLIN)
    assert after == datetime(2026, 3, 29, 21, 0, tzinfo=BERLIN)
    assert after.astimezone(UTC) - before.astimezone(UTC) == timedelta(hours=23)


@pytest.fixture
async def store(redis_url: str) -> AsyncIterator[ReportStore]:
    redis = Redis.from_url(redis_url)
    yield ReportStore(redis)
    await redis.aclose()


def schedule(room: str = "r1") -> ReportSchedule:
    return ReportSchedule(room, "Room", "daily", "bot", "Asia/Shanghai", "zh", "21:00")


async def test_one_claim_per_period_even_when_two_replicas_look(store: ReportStore) -> None:
    due = await store.enable(schedule(), NOW)
    assert due == datetime(2026, 11, 22, 13, 0, tzinfo=UTC)
    assert await store.claim_due(NOW, lease=timedelta(minutes=2)) == []
    late = due + timedelta(seconds=1)
    [claim] = await store.claim_due(late, lease=timedelta(minutes=2))
    assert claim.due == due
    assert await store.claim_due(late, lease=timedelta(minutes=2)) == []  # the other replica
    assert await store.complete(claim, late)
    assert await store.next_due_ms() == round((due + timedelta(days=1)).timestamp() * 1000)


async def test_a_lost_lease_is_claimed_again_and_the_first_cannot_complete(store: ReportStore) -> None:
    due = await store.enable(schedule(), NOW)
    first = (await store.claim_due(due, lease=timedelta(minutes=2)))[0]
    second = (await store.claim_due(due + timedelta(minutes=3), lease=timedelta(minutes=2)))[0]
    assert second.due == first.due + timedelta(minutes=2)  # the lease end, not a new period
    assert not await store.complete(first, due)
    assert await store.complete(second, due + timedelta(minutes=3))


async def test_after_an_outage_the_next_period_follows_now_not_a_burst(store: ReportStore) -> None:
    due = await store.enable(schedule(), NOW)
    days_later = due + timedelta(days=3, hours=1)
    [claim] = await store.claim_due(days_later, lease=timedelta(minutes=2))
    assert await store.complete(claim, days_later)
    assert await store.next_due_ms() == round((due + timedelta(days=4)).timestamp() * 1000)


async def test_disabled_reports_are_not_claimed(store: ReportStore) -> None:
    due = await store.enable(schedule(), NOW)
    assert await store.disable("r1", "daily")
    assert await store.claim_due(due + timedelta(hours=1), lease=timedelta(minutes=2)) == []
    assert await store.get("r1", "daily") is None
