import asyncio

from services.moderator.password_store import PasswordStore, SetOutcome
from services.moderator.redis_types import StrRedis


async def test_set_lookup_replace_clear(store_redis: StrRedis) -> None:
    store = PasswordStore(store_redis)
    assert await store.set("bot", "room1", "d1") is SetOutcome.SET
    assert await store.room_for("bot", "d1") == "room1"
    assert await store.set("bot", "room1", "d2") is SetOutcome.SET
    assert await store.room_for("bot", "d1") is None
    assert await store.room_for("bot", "d2") == "room1"
    assert await store.rooms_with_password("bot") == ["room1"]
    assert await store.clear("bot", "room1")
    assert not await store.clear("bot", "room1")
    assert await store.room_for("bot", "d2") is None
    assert await store.rooms_with_password("bot") == []


async def test_two_rooms_cannot_share_a_password(store_redis: StrRedis) -> None:
    store = PasswordStore(store_redis)
    await store.set("bot", "room1", "d1")
    assert await store.set("bot", "room2", "d1") is SetOutcome.TAKEN
    assert await store.room_for("bot", "d1") == "room1"
    assert await store.set("bot", "room1", "d1") is SetOutcome.SET  # setting the same again is fine


async def test_only_digests_are_stored(store_redis: StrRedis) -> None:
    store = PasswordStore(store_redis)
    await store.set("bot", "room1", "digest-not-password")
    dumped = [await store_redis.hgetall(key) for key in await store_redis.keys("*")]
    assert all("sesame" not in str(fields) for fields in dumped)


HOUR_MS = 3_600_000


async def _guess(store: PasswordStore, event: str, now_ms: int, contact: str = "dave") -> int:
    return await store.take_guess("bot", contact, event_id=event, now_ms=now_ms, window_ms=HOUR_MS, limit=3)


async def test_guesses_run_out_then_come_back_after_the_window(store_redis: StrRedis) -> None:
    store = PasswordStore(store_redis)
    assert [await _guess(store, f"e{i}", i) for i in range(4)] == [1, 2, 3, 0]
    assert await _guess(store, "other", 5, contact="carol") == 1  # every contact has guesses of their own
    assert await _guess(store, "e4", HOUR_MS) == 3  # e0 left the window (at exactly an hour): one more guess
    assert await _guess(store, "e5", HOUR_MS) == 0


async def test_a_redelivered_guess_is_not_spent_twice(store_redis: StrRedis) -> None:
    store = PasswordStore(store_redis)
    assert await _guess(store, "e1", 0) == 1
    assert await _guess(store, "e1", 1) == 1
    assert await _guess(store, "e2", 2) == 2


async def test_a_right_guess_is_handed_back(store_redis: StrRedis) -> None:
    store = PasswordStore(store_redis)
    await _guess(store, "e1", 0)
    await _guess(store, "right", 1)
    await store.return_guess("bot", "dave", event_id="right")
    assert [await _guess(store, f"e{i}", i) for i in (2, 3)] == [2, 3]


async def test_concurrent_guesses_cannot_pass_the_limit(store_redis: StrRedis) -> None:
    store = PasswordStore(store_redis)
    numbers = await asyncio.gather(*(_guess(store, f"e{i}", 0) for i in range(10)))
    assert sorted(numbers) == [0] * 7 + [1, 2, 3]
