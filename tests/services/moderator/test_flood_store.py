"""Forgiving a member's window (the counting itself is in ``test_message_store``)."""

from services.moderator.flood_store import FloodStore
from services.moderator.message_store import MessageStore
from services.moderator.redis_types import StrRedis
from tests.services.moderator.test_message_store import ROOM, counting


async def test_forgiving_empties_the_window(store_redis: StrRedis) -> None:
    store, counter = FloodStore(store_redis), MessageStore(store_redis)

    async def count(event: str, now_ms: int) -> int:
        seen = await counter.observe(
            bot_id="bot", room=ROOM, member_id="m", event_id=event, now_ms=now_ms, flood=counting()
        )
        return seen.messages_in_window

    assert await count("e1", 0) == 1
    await store.forgive_messages(bot_id="bot", room_id=ROOM.id, member_id="m")
    assert await count("e2", 1) == 1
