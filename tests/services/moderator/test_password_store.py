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
