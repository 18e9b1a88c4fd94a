"""Which bot speaks in a room: written when it changes, else at most once per refresh period."""

from redis.asyncio import Redis

from services.github_sync import keys
from services.github_sync.room_bots import RoomBots


async def sets(redis: Redis) -> int:
    stats = await redis.info("commandstats")
    return int(stats.get("cmdstat_set", {}).get("calls", 0))


async def test_the_rooms_bot_is_written_when_it_changes_not_for_every_message(redis: Redis) -> None:
    bots = RoomBots(redis, refresh_s=3600)
    await redis.config_resetstat()
    for _ in range(100):
        await bots.seen("a@chatroom", "bot-1")
    assert await sets(redis) == 1
    await bots.seen("a@chatroom", "bot-2")  # another account took over the room
    assert await sets(redis) == 2
    assert await bots.bot_for("a@chatroom") == "bot-2"
    assert await bots.bot_for("b@chatroom") is None


async def test_a_lost_key_is_written_again_after_the_refresh_period(redis: Redis) -> None:
    bots = RoomBots(redis, refresh_s=0.0)
    await bots.seen("a@chatroom", "bot-1")
    await redis.delete(keys.room_bot("a@chatroom"))  # e.g. Redis restarted without its data
    await bots.seen("a@chatroom", "bot-1")
    assert await bots.bot_for("a@chatroom") == "bot-1"
