"""Late-firing decisions, and the firing loop over a real Redis with a clock the test moves."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from redis.asyncio import Redis

from services.scheduler.firing import FiringLoop, FiringPlan, LatePolicy, LoopSettings, plan_firing
from services.scheduler.recurrence import Frequency, Recurrence
from services.scheduler.reminder import Reminder
from services.scheduler.store import ReminderStore, epoch_ms
from tests.services.scheduler.conftest import draft

SHANGHAI = ZoneInfo("Asia/Shanghai")
DUE = datetime(2026, 11, 19, 9, 0, tzinfo=SHANGHAI)
DAILY = Recurrence(frequency=Frequency.DAILY, hour=9, minute=0, anchor=date(2026, 11, 19))
POLICY = LatePolicy(note_after=timedelta(minutes=1), max_late=timedelta(minutes=10))


def test_on_time_fires_without_a_note_and_a_recurring_one_moves_to_tomorrow() -> None:
    plan = plan_firing(draft(DUE, recurrence=DAILY), DUE + timedelta(seconds=2), POLICY)
    assert plan == FiringPlan(send=True, late_by=timedelta(0), missed=False, next_due=DUE + timedelta(days=1))


def test_a_little_late_fires_with_a_note() -> None:
    plan = plan_firing(draft(DUE), DUE + timedelta(minutes=5), POLICY)
    assert plan == FiringPlan(send=True, late_by=timedelta(minutes=5), missed=False, next_due=None)


def test_a_recurring_one_missed_for_long_is_skipped_to_the_next_occurrence_after_now() -> None:
    now = DUE + timedelta(days=2, hours=3)  # missed three occurrences while everything was down
    plan = plan_firing(draft(DUE, recurrence=DAILY), now, POLICY)
    assert plan == FiringPlan(
        send=False, late_by=now - DUE, missed=True, next_due=datetime(2026, 11, 22, 9, 0, tzinfo=SHANGHAI)
    )


def test_a_one_off_missed_for_long_is_still_sent_once_marked_missed() -> None:
    plan = plan_firing(draft(DUE), DUE + timedelta(hours=2), POLICY)
    assert (plan.send, plan.missed, plan.next_due) == (True, True, None)


class FakeClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class Recorder:
    def __init__(self) -> None:
        self.sent: list[tuple[Reminder, FiringPlan]] = []
        self.arrived = asyncio.Event()

    async def __call__(self, reminder: Reminder, plan: FiringPlan) -> None:
        self.sent.append((reminder, plan))
        self.arrived.set()


async def test_fire_due_fires_each_once_and_reschedules_recurring_once(redis: Redis) -> None:
    store = ReminderStore(redis)
    once, _ = await store.add(draft(DUE, text="once"))
    daily, _ = await store.add(draft(DUE, text="daily", recurrence=DAILY))
    await store.add(draft(DUE + timedelta(hours=1), text="later"))
    clock, sent = FakeClock(DUE + timedelta(seconds=1)), Recorder()
    loop = FiringLoop(store, sent, clock, LoopSettings())
    assert await loop.fire_due() == 2
    assert await loop.fire_due() == 0
    assert sorted(reminder.text for reminder, _ in sent.sent) == ["daily", "once"]
    stored = await store.get(daily.id)
    assert stored is not None
    assert stored.next_due == DUE + timedelta(days=1)
    assert await store.get(once.id) is None


async def test_two_loops_over_one_redis_fire_everything_exactly_once(redis_url: str) -> None:
    clients = [Redis.from_url(redis_url, decode_responses=True) for _ in range(2)]
    try:
        stores = [ReminderStore(client) for client in clients]
        for n in range(60):
            await stores[0].add(draft(DUE, text=f"r{n}", recurrence=DAILY if n % 3 == 0 else None))
        sent = Recorder()
        clock = FakeClock(DUE + timedelta(seconds=1))
        loops = [FiringLoop(store, sent, clock, LoopSettings(batch=5, concurrency=3)) for store in stores]
        while sum(await asyncio.gather(*(loop.fire_due() for loop in loops))):
            pass
        counts = Counter(reminder.text for reminder, _ in sent.sent)
        assert len(counts) == 60
        assert set(counts.values()) == {1}
        pending = await stores[0].list_place("bot", "room1@chatroom")
        assert len(pending) == 20
        assert {r.next_due for r in pending} == {DUE + timedelta(days=1)}
    finally:
        for client in clients:
            await client.aclose()


async def test_a_corrupt_reminder_is_moved_aside_and_the_rest_of_its_batch_fires(redis: Redis) -> None:
    store = ReminderStore(redis)
    for text in ("before", "corrupt", "after"):
        await store.add(draft(DUE, text=text, recurrence=DAILY if text == "after" else None))
    await redis.hset(store.keys.reminders, "2", '{"id": "2"}')
    sent = Recorder()
    loop = FiringLoop(store, sent, FakeClock(DUE + timedelta(seconds=1)), LoopSettings())
    assert await loop.fire_due() == 2
    assert await loop.fire_due() == 0
    assert sorted(reminder.text for reminder, _ in sent.sent) == ["after", "before"]
    assert list(await store.dead_letters()) == ["2"]
    assert await store.next_claimable_ms() == epoch_ms(DUE + timedelta(days=1))  # only the daily one is left


class WatchedStore(ReminderStore):
    """Tells the test when the loop has looked for its next due time, i.e. is about to sleep."""

    def __init__(self, redis: Redis) -> None:
        super().__init__(redis)
        self.looked = asyncio.Event()

    async def next_claimable_ms(self) -> int | None:
        found = await super().next_claimable_ms()
        self.looked.set()
        return found


async def test_a_new_reminder_wakes_the_sleeping_loop(redis: Redis) -> None:
    store = WatchedStore(redis)
    wake, sent = asyncio.Event(), Recorder()
    loop = FiringLoop(store, sent, lambda: datetime.now(UTC), LoopSettings(poll_interval_s=30), wake=wake)
    runner = asyncio.create_task(loop.run())
    try:
        await asyncio.wait_for(store.looked.wait(), timeout=2)  # nothing pending: it sleeps for the 30 s poll
        await store.add(draft(datetime.now(UTC)))
        wake.set()
        await asyncio.wait_for(sent.arrived.wait(), timeout=2)
    finally:
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)
    assert len(sent.sent) == 1


async def test_the_loop_stops_when_cancelled_just_as_it_is_woken(redis: Redis) -> None:
    """asyncio.wait_for on 3.11 swallows a cancellation that arrives with the wake-up: the loop then never ends
    and a service's shutdown waits forever."""
    store = WatchedStore(redis)
    wake = asyncio.Event()
    loop = FiringLoop(
        store, Recorder(), lambda: datetime.now(UTC), LoopSettings(poll_interval_s=30), wake=wake
    )
    runner = asyncio.create_task(loop.run())
    try:
        await asyncio.wait_for(store.looked.wait(), timeout=2)  # asleep, waiting to be woken
        wake.set()
        runner.cancel()
        done, _ = await asyncio.wait({runner}, timeout=2)
        assert runner in done
        assert runner.cancelled()
    finally:
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)


async def test_the_loop_sleeps_until_the_next_due_time_not_the_poll_interval(redis: Redis) -> None:
    store = ReminderStore(redis)
    sent = Recorder()
    await store.add(draft(datetime.now(UTC) + timedelta(milliseconds=300)))
    loop = FiringLoop(store, sent, lambda: datetime.now(UTC), LoopSettings(poll_interval_s=30))
    runner = asyncio.create_task(loop.run())
    try:
        await asyncio.wait_for(sent.arrived.wait(), timeout=3)
    finally:
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)
    reminder, _ = sent.sent[0]
    assert datetime.now(UTC) - reminder.next_due < timedelta(seconds=2)
