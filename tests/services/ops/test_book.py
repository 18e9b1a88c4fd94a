"""The alert book over real Redis: dedupe, repeats, quiet ends, concurrent replicas, the outbox's retries and its
hourly cap per channel. Time is passed in by hand."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from redis.asyncio import Redis

from services.ops import alerts, keys
from services.ops.book import AlertBook, BookPolicy
from services.ops.channels import DeliveryError, Notification, Skipped

T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
POLICY = BookPolicy(repeat_s=3600, max_per_hour=3, retry_s=10, attempts=3)


class Recorder:
    def __init__(self, name: str, fail: int = 0, error: type[Exception] = DeliveryError) -> None:
        self.name = name
        self.fail = fail
        self.error = error
        self.sent: list[Notification] = []

    async def send(self, note: Notification) -> None:
        if self.fail:
            self.fail -= 1
            raise self.error("platform says no")
        self.sent.append(note)


def lag(key: str = "tagger") -> alerts.Alert:
    return alerts.Alert(
        key=f"lag:{key}", kind=alerts.LAG, severity="warning", title_zh="积压", title_en="lag"
    )


async def test_an_active_alert_is_announced_once_then_again_after_the_repeat_interval(redis: Redis) -> None:
    book = AlertBook(redis, ["a"], POLICY)
    alert = alerts.logged_out("bot", "", T0)
    assert await book.fire(alert, T0) is not None
    assert await book.fire(alert, T0 + timedelta(minutes=59)) is None
    assert await book.fire(alert, T0 + timedelta(minutes=61)) is not None
    (record,) = await book.active()
    assert record["first"] == T0.timestamp()


async def test_two_replicas_firing_at_once_announce_once(redis: Redis) -> None:
    books = [AlertBook(redis, ["a"], POLICY) for _ in range(5)]
    notes = await asyncio.gather(*(book.fire(alerts.logged_out("bot", "", T0), T0) for book in books))
    assert sum(note is not None for note in notes) == 1
    assert await redis.zcard(keys.OUTBOX) == 1


async def test_polled_alerts_end_when_they_stop_holding_some_quietly(redis: Redis) -> None:
    book = AlertBook(redis, ["a"], POLICY)
    budget = alerts.Alert(
        key="budget:bot:text:near", kind=alerts.BUDGET, severity="warning", title_zh="", title_en=""
    )
    await book.sync([lag(), budget], T0)
    ended = await book.sync([], T0 + timedelta(minutes=1))
    assert [(note.alert.key, note.status) for note in ended] == [
        ("lag:tagger", "resolved")
    ]  # the budget: quiet
    assert await book.active() == []
    await book.fire(alerts.logged_out("bot", "", T0), T0)
    assert await book.sync([], T0 + timedelta(minutes=2)) == []  # event alerts are not the poll's to end
    assert len(await book.active()) == 1


async def test_one_off_alerts_are_rate_limited(redis: Redis) -> None:
    book = AlertBook(redis, ["a"], POLICY)
    grown = alerts.Alert(
        key="dead_letters", kind=alerts.DEAD_LETTERS, severity="warning", title_zh="", title_en=""
    )
    assert await book.once(grown, T0) is not None
    assert await book.once(grown, T0 + timedelta(minutes=30)) is None
    assert await book.once(grown, T0 + timedelta(minutes=61)) is not None


async def test_every_channel_gets_each_notification_and_a_failing_one_is_retried_then_given_up(
    redis: Redis,
) -> None:
    good, flaky, broken = Recorder("good"), Recorder("flaky", fail=1), Recorder("broken", fail=99)
    channels = [good, flaky, broken]
    book = AlertBook(redis, [c.name for c in channels], POLICY)
    note = await book.fire(alerts.logged_out("bot", "", T0), T0)
    assert note is not None
    assert await book.deliver_due(channels, T0) == 1  # good sent; flaky and broken wait 10 s
    assert await book.deliver_due(channels, T0 + timedelta(seconds=5)) == 0
    assert await book.deliver_due(channels, T0 + timedelta(seconds=10)) == 1  # flaky made it
    assert (
        await book.deliver_due(channels, T0 + timedelta(seconds=30)) == 1
    )  # broken: third attempt, given up
    assert [len(c.sent) for c in channels] == [1, 1, 0]
    (recent,) = await book.recent()
    assert recent["deliveries"] == {"good": "sent", "flaky": "sent", "broken": "failed: platform says no"}
    assert await redis.zcard(keys.OUTBOX) == 0


async def test_a_skipped_channel_is_not_retried(redis: Redis) -> None:
    skipping = Recorder("wechat", fail=1, error=Skipped)
    book = AlertBook(redis, ["wechat"], POLICY)
    await book.fire(alerts.logged_out("bot", "", T0), T0)
    assert await book.deliver_due([skipping], T0) == 1
    assert skipping.sent == []
    assert (await book.recent())[0]["deliveries"] == {"wechat": "skipped: platform says no"}


async def test_a_channel_over_its_hourly_cap_waits(redis: Redis) -> None:
    channel = Recorder("a")
    book = AlertBook(redis, ["a"], POLICY)
    for n in range(5):
        await book.fire(lag(str(n)), T0 + timedelta(minutes=n))
    await book.deliver_due([channel], T0 + timedelta(minutes=5))
    assert len(channel.sent) == 3
    await book.deliver_due([channel], T0 + timedelta(minutes=30))
    assert len(channel.sent) == 3
    await book.deliver_due([channel], T0 + timedelta(minutes=66))
    assert len(channel.sent) == 5


async def test_a_delivery_claimed_by_one_replica_is_not_sent_by_another(redis: Redis) -> None:
    slow_started = asyncio.Event()

    class Slow(Recorder):
        async def send(self, note: Notification) -> None:
            slow_started.set()
            await asyncio.sleep(0.2)
            await super().send(note)

    first, second = Slow("a"), Recorder("a")
    book = AlertBook(redis, ["a"], POLICY)
    await book.fire(alerts.logged_out("bot", "", T0), T0)
    sending = asyncio.create_task(book.deliver_due([first], T0))
    await slow_started.wait()
    assert await AlertBook(redis, ["a"], POLICY).deliver_due([second], T0) == 0
    await sending
    assert (len(first.sent), len(second.sent)) == (1, 0)
