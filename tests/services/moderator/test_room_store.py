from services.moderator.redis_types import StrRedis
from services.moderator.room_store import RoomDirectory
from services.moderator.rooms import FloodLimits, FloodPolicy, RoomConfig, RoomRecord


async def test_config_defaults_then_changes(store_redis: StrRedis) -> None:
    store = RoomDirectory(store_redis)
    assert await store.config("bot", "room") == RoomConfig()
    limits = FloodLimits(max_messages=3, window_seconds=10, max_length=50)
    await store.set_welcome("bot", "room", "Hi {names}")
    await store.set_kick_threshold("bot", "room", 5)
    await store.set_flood("bot", "room", FloodPolicy.REMOVE, limits)
    assert await store.config("bot", "room") == RoomConfig(
        welcome_template="Hi {names}", kick_threshold=5, flood_policy=FloodPolicy.REMOVE, flood_limits=limits
    )
    await store.set_welcome("bot", "room", None)
    await store.set_kick_threshold("bot", "room", None)
    await store.set_flood("bot", "room", FloodPolicy.WARN, None)
    assert await store.config("bot", "room") == RoomConfig(flood_policy=FloodPolicy.WARN, flood_limits=limits)
    await store.set_flood("bot", "room", None, None, grace_s=45)  # only the grace: the rest stays
    assert await store.config("bot", "room") == RoomConfig(
        flood_policy=FloodPolicy.WARN, flood_limits=limits, flood_grace_s=45
    )
    assert await store.config("bot", "other-room") == RoomConfig()


async def test_directory_keeps_the_latest_record(store_redis: StrRedis) -> None:
    store = RoomDirectory(store_redis)
    await store.remember_room("bot", RoomRecord(id="r1", topic="旧名", owner_id="o", member_count=3))
    await store.remember_room("bot", RoomRecord(id="r1", topic="新名", owner_id="o", member_count=4))
    await store.remember_room("bot", RoomRecord(id="r0", topic="A"))
    assert await store.rooms("bot") == [
        RoomRecord(id="r0", topic="A"),
        RoomRecord(id="r1", topic="新名", owner_id="o", member_count=4),
    ]
    assert await store.room("bot", "r1") == RoomRecord(id="r1", topic="新名", owner_id="o", member_count=4)
    assert await store.room("bot", "nope") is None
    assert await store.rooms("other-bot") == []


async def test_members(store_redis: StrRedis) -> None:
    store = RoomDirectory(store_redis)
    await store.add_members("bot", "r1", ["a", "b"])
    await store.remove_members("bot", "r1", ["a"])
    await store.add_members("bot", "r1", [])
    assert not await store.is_member("bot", "r1", "a")
    assert await store.is_member("bot", "r1", "b")
    assert not await store.is_member("bot", "r2", "b")
