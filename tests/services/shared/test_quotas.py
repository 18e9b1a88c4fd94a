"""Reply budgets against a real Redis: per place by the minute and hour, per member across places by the day."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from redis.asyncio import Redis

from services.shared.quotas import QuotaLimits, ReplyQuota, Verdict, mute

NOON = (datetime.now(UTC) + timedelta(days=1)).replace(hour=12, minute=0, second=30, microsecond=0)
"""Tomorrow: a mute's key expires by the real clock, so the test's times lie ahead of it."""
WIDE = {
    "member_per_minute": 1000,
    "member_per_hour": 1000,
    "room_per_minute": 1000,
    "service_per_minute": 1000,
}


async def test_a_members_day_counts_every_room_and_direct_message_together(redis: Redis) -> None:
    """Spread over rooms and direct messages, a member's requests still meet one daily budget: nobody can spend
    the account's daily sending budget alone. Others are unaffected; the next day starts afresh."""
    quota = ReplyQuota(redis, "tagger", QuotaLimits(member_per_day=4, **WIDE))
    places = ["r1@chatroom", "r2@chatroom", None, "r3@chatroom", "r1@chatroom", None]
    verdicts = [await quota.take("bot", place, "mallory", NOON) for place in places]
    assert verdicts == [Verdict.OK] * 4 + [Verdict.SLOW_DOWN, Verdict.SLOW_DOWN]  # one "slow down" per place
    assert await quota.take("bot", "r1@chatroom", "mallory", NOON) is Verdict.SILENT
    assert await quota.take("bot", "r1@chatroom", "bob", NOON) is Verdict.OK
    assert await quota.take("bot", "r1@chatroom", "mallory", NOON + timedelta(days=1)) is Verdict.OK


async def test_minute_hour_room_service_and_mute_still_hold(redis: Redis) -> None:
    quota = ReplyQuota(
        redis, "tagger", QuotaLimits(member_per_minute=2, member_per_hour=3, member_per_day=100)
    )
    minute = [await quota.take("bot", "r1@chatroom", "alice", NOON) for _ in range(3)]
    assert minute == [Verdict.OK, Verdict.OK, Verdict.SLOW_DOWN]
    next_minute = NOON + timedelta(minutes=1)
    hour = [await quota.take("bot", "r1@chatroom", "alice", next_minute) for _ in range(2)]
    assert hour == [Verdict.SLOW_DOWN, Verdict.SILENT]  # the hour's 3 were used (refusals count too)
    assert await quota.take("bot", "r2@chatroom", "alice", next_minute) is Verdict.OK  # another place
    await mute(redis, "bot", None, "carol", NOON + timedelta(minutes=10))
    assert await quota.take("bot", None, "carol", NOON) is Verdict.SILENT
    assert await quota.take("bot", None, "carol", NOON + timedelta(minutes=11)) is Verdict.OK
