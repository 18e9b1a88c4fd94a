"""Verified quotes: who said what in a room, remembered briefly, so a typed "quote" cannot put words in someone's mouth.

WeChat hands most quoted replies over as text (`「Alice：…」` and a dashed line), which anyone can type. The gateway
remembers, per room, a hash of every text message with its talker's id, name and event id (at most
`GATEWAY_QUOTE_RECORD_PER_ROOM` texts and `GATEWAY_QUOTE_RECORD_DAYS` days, in Redis), and marks a quote
`verified` only when exactly one member shown by that name said that text in that room. A puppet that delivers the
quoted message's id verifies it too. Redis away: quotes stay unverified, events still go out.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Awaitable, Callable, Mapping

from redis.asyncio import Redis

from schemas import Quote
from services.shared.text import normalize, strip_invisible, tidy

log = logging.getLogger("qunbus.gateway.quotes")

MAX_TALKERS_PER_TEXT = 20
"""`好的` is said by many: only the latest talkers of one text are kept."""

_REMEMBER = """
local said = {}
local entry = redis.call('HGET', KEYS[1], ARGV[1])
if entry then
  said = cjson.decode(entry)
end
said[ARGV[2]] = {ARGV[3], ARGV[4], ARGV[5], tonumber(ARGV[6])}
local talkers = {}
for talker, value in pairs(said) do
  table.insert(talkers, {talker, value[4] or 0})
end
if #talkers > tonumber(ARGV[9]) then
  table.sort(talkers, function(a, b) return a[2] > b[2] end)
  for index = tonumber(ARGV[9]) + 1, #talkers do
    said[talkers[index][1]] = nil
  end
end
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(said))
redis.call('ZADD', KEYS[2], ARGV[6], ARGV[1])
local gone = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[7])
local extra = redis.call('ZCARD', KEYS[2]) - #gone - tonumber(ARGV[8])
if extra > 0 then
  local oldest = redis.call('ZRANGE', KEYS[2], #gone, #gone + extra - 1)
  for _, member in ipairs(oldest) do
    table.insert(gone, member)
  end
end
for _, member in ipairs(gone) do
  redis.call('HDEL', KEYS[1], member)
  redis.call('ZREM', KEYS[2], member)
end
redis.call('EXPIRE', KEYS[1], ARGV[10])
redis.call('EXPIRE', KEYS[2], ARGV[10])
return #gone
"""

CurrentNames = Callable[[str], Awaitable[set[str]]]
"""The names a contact is shown by in the room now (nickname, room alias)."""


def text_hash(text: str) -> str:
    """Same text up to invisible characters, width, case and spacing -> same hash."""
    return hashlib.sha256(normalize(strip_invisible(text)).encode()).hexdigest()[:32]


class QuoteRecord:
    def __init__(self, redis: Redis, bot_id: str, *, keep_days: float = 7.0, per_room: int = 5000) -> None:
        self.redis = redis
        self.bot_id = bot_id
        self.keep_s = keep_days * 86400
        self.per_room = per_room
        self._remember = redis.register_script(_REMEMBER)

    def _keys(self, room_id: str) -> list[str]:
        prefix = f"qun:gateway:{self.bot_id}:said"
        return [f"{prefix}:{room_id}", f"{prefix}-index:{room_id}"]

    async def remember(
        self,
        room_id: str,
        *,
        talker_id: str,
        names: tuple[str, str | None],
        text: str,
        event_id: str,
        at: float,
    ) -> None:
        """`names`: the talker's WeChat name and room alias when the message was said."""
        if not text.strip():
            return
        name, alias = names
        await self._remember(
            keys=self._keys(room_id),
            args=[
                text_hash(text),
                talker_id,
                event_id,
                name,
                alias or "",
                repr(at),
                repr(at - self.keep_s),
                self.per_room,
                MAX_TALKERS_PER_TEXT,
                int(self.keep_s) + 3600,
            ],
        )

    async def verify(self, room_id: str, quote: Quote, current_names: CurrentNames) -> Quote:
        """`quote` marked verified (with the talker's id and the quoted message's event id) when exactly one
        member who is shown by the quoted name said the quoted text in this room; unchanged otherwise."""
        entry = await self.redis.hget(self._keys(room_id)[0], text_hash(quote.text))
        if not entry:
            return quote
        said: Mapping[str, list[object]] = json.loads(entry)
        shown = tidy(quote.talker_name)
        matches = []
        for talker_id, (event_id, name, alias, *_) in said.items():
            names = {tidy(str(name)), tidy(str(alias))} - {""}
            if shown in names or shown in {tidy(n) for n in await current_names(talker_id)}:
                matches.append((talker_id, str(event_id)))
        if len(matches) != 1:
            if matches:
                log.info(
                    "quote in %s matches %d members of the same name: not verified", room_id, len(matches)
                )
            return quote
        talker_id, event_id = matches[0]
        return quote.model_copy(update={"verified": True, "talker_id": talker_id, "message_id": event_id})
