"""The sweeper: one greeting per batch, exactly once, even when the replica flushing it dies."""

from dataclasses import dataclass, field

import pytest

from services.moderator.redis_types import StrRedis
from services.moderator.welcome import Joiner, WelcomeMessage
from services.moderator.welcome_flush import flush_due_batches
from services.moderator.welcome_store import SealedBatch, WelcomeStore

WINDOW = 3_000
LEASE = 10_000
MAX_AGE = 600_000


@dataclass
class Outbox:
    sent: list[tuple[str, str, WelcomeMessage]] = field(default_factory=list)
    fail: bool = False

    async def publish(self, batch: SealedBatch, message: WelcomeMessage) -> None:
        if self.fail:
            raise ConnectionError("bus down")
        self.sent.append((batch.batch_id, batch.room_id, message))


async def _no_template(bot_id: str, room_id: str) -> str | None:
    return None


async def _join(store: WelcomeStore, event_id: str, joiner: Joiner, now_ms: int) -> None:
    await store.open_or_join(
        bot_id="bot",
        room_id="room1",
        topic="读书会",
        event_id=event_id,
        new_batch_id=f"batch-{event_id}",
        joiners=(joiner,),
        now_ms=now_ms,
        window_ms=WINDOW,
        retain_ms=3_600_000,
    )


async def _sweep(store: WelcomeStore, outbox: Outbox, now_ms: int, owner: str) -> tuple[str, ...]:
    outcome = await flush_due_batches(
        store,
        now_ms=now_ms,
        owner=owner,
        lease_ms=LEASE,
        max_age_ms=MAX_AGE,
        template_of=_no_template,
        publish=outbox.publish,
    )
    return outcome.sent


async def test_three_joins_within_the_window_make_one_message(store_redis: StrRedis) -> None:
    store, outbox = WelcomeStore(store_redis), Outbox()
    await _join(store, "e1", Joiner("a", "甲"), now_ms=0)
    await _join(store, "e2", Joiner("b", "乙"), now_ms=1_000)
    assert await _sweep(store, outbox, now_ms=2_999, owner="r1") == ()
    await _join(store, "e3", Joiner("c", "丙"), now_ms=2_999)
    assert await _sweep(store, outbox, now_ms=3_000, owner="r1") == ("batch-e1",)
    assert await _sweep(store, outbox, now_ms=9_000, owner="r2") == ()
    assert len(outbox.sent) == 1
    assert "甲、乙、丙" in outbox.sent[0][2].text


async def test_batch_survives_the_flushing_replica_dying(store_redis: StrRedis) -> None:
    store = WelcomeStore(store_redis)
    dying, survivor = Outbox(fail=True), Outbox()
    await _join(store, "e1", Joiner("a", "甲"), now_ms=0)
    with pytest.raises(ConnectionError):
        await _sweep(store, dying, now_ms=3_000, owner="r1")
    # r1 still holds the lease: r2 leaves the batch alone ...
    assert await _sweep(store, survivor, now_ms=3_500, owner="r2") == ()
    await store_redis.delete("qun:moderator:welcome:claim:batch-e1")  # ... until the lease runs out
    assert await _sweep(store, survivor, now_ms=3_000 + LEASE, owner="r2") == ("batch-e1",)
    assert [batch_id for batch_id, _, _ in survivor.sent] == ["batch-e1"]


async def test_batch_due_long_ago_is_dropped_not_sent(store_redis: StrRedis) -> None:
    store, outbox = WelcomeStore(store_redis), Outbox()
    await _join(store, "e1", Joiner("a", "甲"), now_ms=0)
    outcome = await flush_due_batches(
        store,
        now_ms=WINDOW + MAX_AGE + 1,
        owner="r1",
        lease_ms=LEASE,
        max_age_ms=MAX_AGE,
        template_of=_no_template,
        publish=outbox.publish,
    )
    assert outcome.dropped == ("batch-e1",)
    assert outbox.sent == []
    assert await store.due_batches(now_ms=10**12) == []


async def test_room_template_is_used(store_redis: StrRedis) -> None:
    store, outbox = WelcomeStore(store_redis), Outbox()

    async def template_of(bot_id: str, room_id: str) -> str | None:
        return "Hello {names}!" if (bot_id, room_id) == ("bot", "room1") else None

    await _join(store, "e1", Joiner("a", "Ann"), now_ms=0)
    await flush_due_batches(
        store,
        now_ms=WINDOW,
        owner="r1",
        lease_ms=LEASE,
        max_age_ms=MAX_AGE,
        template_of=template_of,
        publish=outbox.publish,
    )
    assert outbox.sent[0][2].text == "Hello Ann!"
