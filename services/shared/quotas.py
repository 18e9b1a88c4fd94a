"""Reply budgets at the source: how often one member, one room and one service may get an answer.

Checked by the dispatcher before a command, a recognised intent or a fallback runs for a message, with one Redis
script (fixed windows). The first refusal in a window gets one polite "please slow down"; later ones are silent, so
the budget protects the WeChat account instead of spending it on refusals.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from redis.asyncio import Redis

from services.shared.commands import Bilingual


class Verdict(enum.Enum):
    OK = "ok"
    SLOW_DOWN = "slow-down"
    """Over budget, and the first refusal in this window: say so once."""
    SILENT = "silent"


@dataclass(frozen=True)
class QuotaLimits:
    member_per_minute: int = 6
    member_per_hour: int = 60
    room_per_minute: int = 30
    service_per_minute: int = 300
    """Answers of one service across all rooms of an account: a runaway loop cannot flood the send queue."""


SLOW_DOWN = Bilingual(
    zh="你发得有点快，我先歇一会儿，请稍后再试。",
    en="That's a lot of requests — please give me a minute and try again.",
)


def muted_until_key(bot_id: str, place: str, member_id: str) -> str:
    """Time (ms) until which no service answers this member here (`place`: a room id, or `dm:<contact>`). The
    moderator sets it for a contact who floods the bot; every service's budget check honours it."""
    return f"qun:quota:{bot_id}:muted:{place}:{member_id}"


def place_of(room_id: str | None, member_id: str) -> str:
    return room_id or f"dm:{member_id}"


async def mute(redis: Redis, bot_id: str, room_id: str | None, member_id: str, until: datetime) -> None:
    """No service answers this member here until `until` (the moderator's answer to a flood)."""
    until_ms = int(until.timestamp() * 1000)
    key = muted_until_key(bot_id, place_of(room_id, member_id), member_id)
    await redis.set(key, until_ms, pxat=until_ms + 1000)


# KEYS: member/minute, member/hour, room/minute, service/minute counters, the member's "warned" flag, muted-until.
# ARGV: the four limits, the four windows in seconds, now (ms). Counts the request; returns 0 ok, 1 slow down,
# 2 silent.
_SCRIPT = """
local muted = redis.call('GET', KEYS[6])
if muted and tonumber(muted) > tonumber(ARGV[9]) then return 2 end
local over = false
for i = 1, 4 do
  local n = redis.call('INCR', KEYS[i])
  if n == 1 then redis.call('EXPIRE', KEYS[i], ARGV[i + 4]) end
  if n > tonumber(ARGV[i]) then over = true end
end
if not over then return 0 end
if redis.call('SET', KEYS[5], '1', 'NX', 'EX', ARGV[5]) then return 1 end
return 2
"""


class ReplyQuota:
    def __init__(self, redis: Redis, service: str, limits: QuotaLimits) -> None:
        self._service = service
        self.limits = limits
        self._script = redis.register_script(_SCRIPT)

    async def take(self, bot_id: str, room_id: str | None, member_id: str, now: datetime) -> Verdict:
        epoch = int(now.timestamp())
        minute, hour = epoch // 60, epoch // 3600
        place = place_of(room_id, member_id)
        prefix = f"qun:quota:{bot_id}"
        limits = self.limits
        result = await self._script(
            keys=[
                f"{prefix}:m:{place}:{member_id}:{minute}",
                f"{prefix}:mh:{place}:{member_id}:{hour}",
                f"{prefix}:r:{place}:{minute}",
                f"{prefix}:s:{self._service}:{minute}",
                f"{prefix}:warned:{place}:{member_id}:{minute}",
                muted_until_key(bot_id, place, member_id),
            ],
            args=[
                limits.member_per_minute,
                limits.member_per_hour,
                limits.room_per_minute,
                limits.service_per_minute,
                60,
                3600,
                60,
                60,
                int(now.timestamp() * 1000),
            ],
        )
        return (Verdict.OK, Verdict.SLOW_DOWN, Verdict.SILENT)[int(result)]
