"""Sliding windows in Redis with an injected clock."""

from services.moderator.flood_store import FloodStore
from services.moderator.redis_types import StrRedis

WINDOW = 30_000


async def _message(store: FloodStore, event: str, now_ms: int, member: str = "m") -> int:
    return await store.record_message(
        bot_id="bot", room_id="room", member_id=member, event_id=event, now_ms=now_ms, window_ms=WINDOW
    )


async def test_window_slides(store_redis: StrRedis) -> None:
    store = FloodStore(store_redis)
    assert [await _message(store, f"e{i}", i * 1_000) for i in range(4)] == [1, 2, 3, 4]
    assert await _message(store, "late", 30_000) == 4  # e0 at 0 ms left the window
    assert await _message(store, "later", 62_000) == 1


async def test_redelivered_message_counts_once(store_redis: StrRedis) -> None:
    store = FloodStore(store_redis)
    await _message(store, "e1", 0)
    assert await _message(store, "e1", 10) == 1


async def test_members_are_counted_apart(store_redis: StrRedis) -> None:
    store = FloodStore(store_redis)
    await _message(store, "e1", 0, member="a")
    assert await _message(store, "e2", 0, member="b") == 1


async def test_strike_numbers_are_stable_on_redelivery(store_redis: StrRedis) -> None:
    store = FloodStore(store_redis)

    async def strike(event: str, now_ms: int) -> int:
        return await store.record_strike(
            bot_id="bot", room_id="room", member_id="m", event_id=event, now_ms=now_ms, memory_ms=3_600_000
        )

    assert await strike("s1", 0) == 1
    assert await strike("s2", 5) == 2
    assert await strike("s1", 6) == 1
    assert await strike("s3", 3_600_006) == 1  # the old strikes are forgotten


async def test_forgiving_empties_the_window(store_redis: StrRedis) -> None:
    store = FloodStore(store_redis)
    await _message(store, "e1", 0)
    await store.forgive_messages(bot_id="bot", room_id="room", member_id="m")
    assert await _message(store, "e2", 1) == 1
