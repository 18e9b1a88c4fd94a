"""Counting direct messages per contact (the script, with message times given)."""

from services.moderator.dm_store import DmCount, DmSeen, DmStore
from services.moderator.redis_types import StrRedis

LIMIT = DmCount(max_messages=3, window_ms=60_000, mute_ms=600_000, may_strike=True)


async def test_one_strike_then_a_mute_in_which_nothing_counts(store_redis: StrRedis) -> None:
    store = DmStore(store_redis)

    async def dm(event: str, now_ms: int, count: DmCount = LIMIT, contact: str = "dave") -> DmSeen:
        return await store.observe(
            bot_id="bot", contact_id=contact, event_id=event, now_ms=now_ms, count=count
        )

    assert [await dm(f"e{i}", i) for i in range(3)] == [DmSeen(struck=False, muted=False)] * 3
    assert await dm("e3", 3) == DmSeen(struck=True, muted=True)  # the fourth within a minute
    assert await dm("e4", 4) == DmSeen(struck=False, muted=True)  # muted: no second warning
    assert await dm("e3", 5) == DmSeen(struck=True, muted=True)  # redelivered: the same answer
    assert await dm("e5", 599_999) == DmSeen(struck=False, muted=True)
    after = [await dm(f"a{i}", 600_003 + i) for i in range(4)]  # the mute is over: a fresh count
    assert [seen.struck for seen in after] == [False, False, False, True]
    assert (await dm("x", 0, contact="carol")).muted is False  # contacts apart


async def test_admins_and_stale_messages_are_never_muted(store_redis: StrRedis) -> None:
    store = DmStore(store_redis)
    exempt = DmCount(max_messages=1, window_ms=60_000, mute_ms=600_000, may_strike=False)
    seen = [
        await store.observe(bot_id="bot", contact_id="root", event_id=f"e{i}", now_ms=i, count=exempt)
        for i in range(5)
    ]
    assert not any(s.muted for s in seen)
