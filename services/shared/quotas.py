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

# KEYS: member/minute, member/hour, room/minute, service/minute counters, then the member's "warned" flag.
# ARGV: the four limits, the four windows in seconds. Counts the request; returns 0 ok, 1 slow down, 2 silent.
_SCRIPT = """
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
        place = room_id or f"dm:{member_id}"
        prefix = f"qun:quota:{bot_id}"
        limits = self.limits
        result = await self._script(
            keys=[
                f"{prefix}:m:{place}:{member_id}:{minute}",
                f"{prefix}:mh:{place}:{member_id}:{hour}",
                f"{prefix}:r:{place}:{minute}",
                f"{prefix}:s:{self._service}:{minute}",
                f"{prefix}:warned:{place}:{member_id}:{minute}",
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
            ],
        )
        return (Verdict.OK, Verdict.SLOW_DOWN, Verdict.SILENT)[int(result)]
