"""The Redis store against a real redis-server: ids, listing, cancel, and the claim/complete protocol."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

import pytest
from redis.asyncio import Redis

from services.scheduler.recurrence import Frequency, Recurrence
from services.scheduler.store import LimitReached, Limits, ReminderStore, epoch_ms
from tests.services.scheduler.conftest import draft

T0 = datetime(2026, 11, 18, 1, 0, tzinfo=UTC)
DAILY = Recurrence(frequency=Frequency.DAILY, hour=9, minute=0, anchor=date(2026, 11, 18))


async def test_ids_are_short_and_increasing(redis: Redis) -> None:
    store = ReminderStore(redis)
    first, created = await store.add(draft(T0))
    second, _ = await store.add(draft(T0))
    assert (first.id, second.id, created) == ("1", "2", True)
    assert await store.get("1") == first


async def test_a_redelivered_command_event_stores_one_reminder(redis: Redis) -> None:
    store = ReminderStore(redis)
    first, created = await store.add(draft(T0, source_event_id="evt-1"))
    again, created_again = await store.add(draft(T0, source_event_id="evt-1"))
    assert (again.id, created, created_again) == (first.id, True, False)
    assert await store.pending_count() == 1


async def test_listing_is_per_room_and_bot_soonest_first(redis: Redis) -> None:
    store = ReminderStore(redis)
    late, _ = await store.add(draft(T0 + timedelta(hours=2), text="late"))
    await store.add(draft(T0 + timedelta(hours=1), text="soon"))
    await store.add(draft(T0, room_id="other@chatroom"))
    await store.add(draft(T0, bot_id="bot2"))
    direct, _ = await store.add(draft(T0, room_id=None, contact_id="alice"))
    assert [r.text for r in await store.list_place("bot", "room1@chatroom")] == ["soon", "late"]
    assert await store.list_place("bot", "dm:alice") == [direct]
    assert (late.place_id, direct.place_id) == ("room1@chatroom", "dm:alice")


async def test_cancel_removes_it_everywhere(redis: Redis) -> None:
    store = ReminderStore(redis)
    reminder, _ = await store.add(draft(T0))
    assert await store.cancel(reminder) is True
    assert await store.get(reminder.id) is None
    assert await store.list_place("bot", "room1@chatroom") == []
    assert await store.claim_due(T0 + timedelta(days=1), lease_ms=1000, limit=10) == []
    assert await store.cancel(reminder) is False


async def test_only_due_reminders_are_claimed_and_a_claim_hides_them(redis: Redis) -> None:
    store = ReminderStore(redis)
    due, _ = await store.add(draft(T0))
    await store.add(draft(T0 + timedelta(minutes=1)))
    [claim] = await store.claim_due(T0, lease_ms=30_000, limit=10)
    assert claim.reminder == due
    assert await store.claim_due(T0 + timedelta(seconds=29), lease_ms=30_000, limit=10) == []


async def test_an_expired_lease_lets_another_replica_take_over_and_the_old_one_cannot_complete(
    redis: Redis,
) -> None:
    store = ReminderStore(redis)
    await store.add(draft(T0, recurrence=DAILY))
    [stalled] = await store.claim_due(T0, lease_ms=1000, limit=10)
    [retaken] = await store.claim_due(T0 + timedelta(seconds=2), lease_ms=1000, limit=10)
    next_due = T0 + timedelta(days=1)
    assert await store.complete(retaken, next_due) is True
    assert await store.complete(stalled, next_due + timedelta(days=1)) is False  # rescheduled exactly once
    stored = await store.get(retaken.reminder.id)
    assert stored is not None
    assert stored.next_due == next_due
    assert await store.next_claimable_ms() == epoch_ms(next_due)


async def test_completing_a_one_off_deletes_it(redis: Redis) -> None:
    store = ReminderStore(redis)
    reminder, _ = await store.add(draft(T0))
    [claim] = await store.claim_due(T0, lease_ms=1000, limit=10)
    assert await store.complete(claim, None) is True
    assert await store.get(reminder.id) is None
    assert await store.list_place("bot", "room1@chatroom") == []
    assert await store.next_claimable_ms() is None


async def test_a_reminder_cancelled_while_firing_is_not_brought_back(redis: Redis) -> None:
    store = ReminderStore(redis)
    reminder, _ = await store.add(draft(T0, recurrence=DAILY))
    [claim] = await store.claim_due(T0, lease_ms=1000, limit=10)
    await store.cancel(reminder)
    assert await store.complete(claim, T0 + timedelta(days=1)) is False
    assert await store.get(reminder.id) is None


async def test_concurrent_claimers_never_share_a_reminder(redis_url: str) -> None:
    clients = [Redis.from_url(redis_url, decode_responses=True) for _ in range(4)]
    try:
        stores = [ReminderStore(client) for client in clients]
        for n in range(200):
            await stores[0].add(draft(T0 + timedelta(milliseconds=n)))
        batches = await asyncio.gather(
            *(store.claim_due(T0 + timedelta(seconds=1), lease_ms=60_000, limit=7) for store in stores * 10)
        )
        claimed = [claim.reminder.id for batch in batches for claim in batch]
        assert len(claimed) == len(set(claimed)) == 200
    finally:
        for client in clients:
            await client.aclose()


async def corrupt(redis: Redis, store: ReminderStore, reminder_id: str, body: str) -> None:
    await redis.hset(store.keys.reminders, reminder_id, body)


async def test_one_unreadable_body_does_not_hold_back_the_reminders_claimed_with_it(redis: Redis) -> None:
    store = ReminderStore(redis)
    first, _ = await store.add(draft(T0, text="first"))
    bad, _ = await store.add(draft(T0, text="bad"))
    last, _ = await store.add(draft(T0, text="last"))
    await corrupt(redis, store, bad.id, "{not json")
    claims = await store.claim_due(T0, lease_ms=30_000, limit=10)
    assert [claim.reminder for claim in claims] == [first, last]
    assert await store.dead_letters() == {bad.id: "{not json"}
    assert await redis.zscore(store.keys.due, bad.id) is None  # out of the due set: never claimed again
    assert await redis.hget(store.keys.leases, bad.id) is None
    assert await store.get(bad.id) is None
    assert all([await store.complete(claim, None) for claim in claims])
    assert await store.next_claimable_ms() is None


async def test_a_body_with_an_unknown_time_zone_counts_as_unreadable(redis: Redis) -> None:
    store = ReminderStore(redis)
    reminder, _ = await store.add(draft(T0))
    body = reminder.model_dump_json().replace("Asia/Shanghai", "Mars/Olympus")
    await corrupt(redis, store, reminder.id, body)
    assert await store.claim_due(T0, lease_ms=30_000, limit=10) == []
    assert await store.dead_letters() == {reminder.id: body}


async def test_listing_moves_an_unreadable_reminder_aside_and_shows_the_rest(redis: Redis) -> None:
    store = ReminderStore(redis)
    good, _ = await store.add(draft(T0, text="good"))
    bad, _ = await store.add(draft(T0, text="bad"))
    body = bad.model_dump_json().replace('"bot_id":"bot",', "")  # a required field missing
    await corrupt(redis, store, bad.id, body)
    assert await store.list_place("bot", "room1@chatroom") == [good]
    assert await store.dead_letters() == {bad.id: body}
    assert await redis.smembers(store.keys.place("bot", "room1@chatroom")) == {good.id}
    assert await store.pending_count() == 1


async def test_a_reminder_moved_aside_by_a_lookup_leaves_no_trace_in_its_room(redis: Redis) -> None:
    store = ReminderStore(redis)
    bad, _ = await store.add(draft(T0))
    await corrupt(redis, store, bad.id, "[]")
    assert await store.get(bad.id) is None  # does not know the room: the listing tidies it up
    assert await store.list_place("bot", "room1@chatroom") == []
    assert await redis.smembers(store.keys.place("bot", "room1@chatroom")) == set()
    assert await store.dead_letters() == {bad.id: "[]"}


async def test_a_room_and_a_creator_hold_at_most_their_limit_of_active_reminders(redis: Redis) -> None:
    store = ReminderStore(redis)
    limits = Limits(per_place=3, per_creator=2)
    await store.add(draft(T0), limits)
    await store.add(draft(T0), limits)
    with pytest.raises(LimitReached) as creator_full:
        await store.add(draft(T0), limits)
    await store.add(draft(T0, creator_id="bob"), limits)
    with pytest.raises(LimitReached) as place_full:
        await store.add(draft(T0, creator_id="carol"), limits)
    elsewhere, _ = await store.add(draft(T0, room_id="other@chatroom", creator_id="carol"), limits)
    assert (creator_full.value.scope, creator_full.value.limit) == ("creator", 2)
    assert (place_full.value.scope, place_full.value.limit) == ("place", 3)
    assert elsewhere.id == "4"
    assert await store.pending_count() == 4


async def test_fired_and_cancelled_reminders_free_their_place_in_the_quota(redis: Redis) -> None:
    store = ReminderStore(redis)
    limits = Limits(per_place=2, per_creator=2)
    fired, _ = await store.add(draft(T0), limits)
    cancelled, _ = await store.add(draft(T0 + timedelta(hours=1)), limits)
    [claim] = await store.claim_due(T0, lease_ms=30_000, limit=10)
    assert await store.complete(claim, None)
    await store.cancel(cancelled)
    await redis.hset(store.keys.reminders, "99", "{not json")  # an unreadable one, moved aside when read
    await redis.sadd(store.keys.creator("bot", "alice"), "99")
    await store.get("99")
    first, _ = await store.add(draft(T0), limits)
    second, _ = await store.add(draft(T0), limits)
    assert (fired.id, first.id, second.id) == ("1", "3", "4")


async def test_a_redelivered_event_finds_its_reminder_even_when_the_limit_is_reached(redis: Redis) -> None:
    store = ReminderStore(redis)
    limits = Limits(per_place=1, per_creator=1)
    first, _ = await store.add(draft(T0, source_event_id="evt-1"), limits)
    again, created = await store.add(draft(T0, source_event_id="evt-1"), limits)
    assert (again.id, created) == (first.id, False)
