"""Welcome batching across replicas: two ``WelcomeStore`` objects on one Redis behave like two replicas."""

from services.moderator.redis_types import StrRedis
from services.moderator.welcome import Joiner
from services.moderator.welcome_store import WelcomeStore

WINDOW = 3_000
RETAIN = 3_600_000
ALICE = Joiner(id="wxid_alice", name="Alice")
BOB = Joiner(id="wxid_bob", name="Bob")
CAROL = Joiner(id="wxid_carol", name="Carol")


async def _join(
    store: WelcomeStore, event_id: str, joiner: Joiner, now_ms: int, room: str = "room1"
) -> str | None:
    return await store.open_or_join(
        bot_id="bot",
        room_id=room,
        topic="读书会",
        event_id=event_id,
        new_batch_id=f"batch-{event_id}",
        joiners=(joiner,),
        now_ms=now_ms,
        window_ms=WINDOW,
        retain_ms=RETAIN,
    )


async def test_joins_on_two_replicas_land_in_one_batch(store_redis: StrRedis) -> None:
    replica_a, replica_b = WelcomeStore(store_redis), WelcomeStore(store_redis)
    first = await _join(replica_a, "e1", ALICE, now_ms=10_000)
    second = await _join(replica_b, "e2", BOB, now_ms=11_000)
    assert first == second == "batch-e1"
    assert await replica_a.due_batches(now_ms=12_999) == []
    assert await replica_b.due_batches(now_ms=13_000) == ["batch-e1"]
    sealed = await replica_b.seal("batch-e1")
    assert sealed is not None
    assert sealed.joiners == (ALICE, BOB)
    assert (sealed.bot_id, sealed.room_id, sealed.topic, sealed.due_ms) == ("bot", "room1", "读书会", 13_000)


async def test_redelivered_event_adds_nobody_twice(store_redis: StrRedis) -> None:
    store = WelcomeStore(store_redis)
    assert await _join(store, "e1", ALICE, now_ms=0) == "batch-e1"
    assert await _join(store, "e1", ALICE, now_ms=500) is None
    sealed = await store.seal("batch-e1")
    assert sealed is not None
    assert sealed.joiners == (ALICE,)


async def test_join_after_seal_opens_a_new_batch(store_redis: StrRedis) -> None:
    store = WelcomeStore(store_redis)
    await _join(store, "e1", ALICE, now_ms=0)
    await store.seal("batch-e1")
    assert await _join(store, "e2", BOB, now_ms=4_000) == "batch-e2"
    assert await store.due_batches(now_ms=7_000) == ["batch-e1", "batch-e2"]


async def test_rooms_are_batched_separately(store_redis: StrRedis) -> None:
    store = WelcomeStore(store_redis)
    assert await _join(store, "e1", ALICE, now_ms=0, room="room1") == "batch-e1"
    assert await _join(store, "e2", BOB, now_ms=0, room="room2") == "batch-e2"


async def test_only_one_replica_claims_a_batch_until_the_lease_runs_out(store_redis: StrRedis) -> None:
    store = WelcomeStore(store_redis)
    assert await store.claim("b", owner="replica-a", lease_ms=60_000)
    assert not await store.claim("b", owner="replica-b", lease_ms=60_000)
    await store_redis.delete("qun:moderator:welcome:claim:b")  # the lease ran out: replica-a died
    assert await store.claim("b", owner="replica-b", lease_ms=60_000)


async def test_finish_forgets_the_batch(store_redis: StrRedis) -> None:
    store = WelcomeStore(store_redis)
    await _join(store, "e1", ALICE, now_ms=0)
    assert await store.claim("batch-e1", owner="a", lease_ms=60_000)
    await store.finish("batch-e1", owner="a")
    assert await store.due_batches(now_ms=10**12) == []
    assert await store.seal("batch-e1") is None
    assert await store_redis.keys("qun:moderator:welcome:claim:*") == []
