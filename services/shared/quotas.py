"""Reply budgets at the source: how often one member, one room and one service may get an answer.

Checked by the dispatcher before a command, a recognised intent or a fallback runs for a message, with one Redis
script (fixed windows). A member's minute and hour budgets are per place (a room, or their direct messages); their day
budget counts every place together, so no member can spend the account's daily sending budget by spreading requests
over rooms and direct messages. The first refusal in a window gets one polite "please slow down"; later ones are silent, so
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
    member_per_minute: int = 10
    member_per_hour: int = 60
    member_per_day: int = 300
    """Answers one member gets in a day, all rooms and direct messages together (UTC days)."""
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


# KEYS: the counters (member/minute, member/hour, member/day, room/minute, service/minute), then the member's
# "warned" flag and muted-until. ARGV: the counters' limits, their windows in seconds, now (ms). Counts the request
# (a refused one too); returns 0 ok, 1 slow down, 2 silent.
_SCRIPT = """
local n = #KEYS - 2
local muted = redis.call('GET', KEYS[n + 2])
if muted and tonumber(muted) > tonumber(ARGV[2 * n + 1]) then return 2 end
local over = false
for i = 1, n do
  local count = redis.call('INCR', KEYS[i])
  if count == 1 then redis.call('EXPIRE', KEYS[i], ARGV[n + i]) end
  if count > tonumber(ARGV[i]) then over = true end
end
if not over then return 0 end
if redis.call('SET', KEYS[n + 1], '1', 'NX', 'EX', 60) then return 1 end
return 2
"""


class ReplyQuota:
    def __init__(self, redis: Redis, service: str, limits: QuotaLimits) -> None:
        self._service = service
        self.limits = limits
        self._script = redis.register_script(_SCRIPT)

    async def take(self, bot_id: str, room_id: str | None, member_id: str, now: datetime) -> Verdict:
        epoch = int(now.timestamp())
        minute, hour, day = epoch // 60, epoch // 3600, epoch // 86400
        place = place_of(room_id, member_id)
        prefix = f"qun:quota:{bot_id}"
        limits = self.limits
        counters = [  # (key, limit, window in seconds)
            (f"{prefix}:m:{place}:{member_id}:{minute}", limits.member_per_minute, 60),
            (f"{prefix}:mh:{place}:{member_id}:{hour}", limits.member_per_hour, 3600),
            (f"{prefix}:md:{member_id}:{day}", limits.member_per_day, 86400),
            (f"{prefix}:r:{place}:{minute}", limits.room_per_minute, 60),
            (f"{prefix}:s:{self._service}:{minute}", limits.service_per_minute, 60),
        ]
        result = await self._script(
            keys=[
                *(key for key, _, _ in counters),
                f"{prefix}:warned:{place}:{member_id}:{minute}",
                muted_until_key(bot_id, place, member_id),
            ],
            args=[
                *(limit for _, limit, _ in counters),
                *(window for _, _, window in counters),
                int(now.timestamp() * 1000),
            ],
        )
        return (Verdict.OK, Verdict.SLOW_DOWN, Verdict.SILENT)[int(result)]
