"""A room's kept messages in Redis: one stream per room of packed entries, one table of the room's contacts.

One Lua script appends a message: it does nothing while the room is switched off, drops a redelivered event (same
event id among the room's latest entries), gives the talker and mentioned contacts their index in the room's
table (names stored once, updated when they change), appends, trims to `max_per_room` and to the retention, and
renews the keys' expiry. Times: the entry id is the WeChat time in ms, or just after the room's latest entry when a
message arrives late; the entry keeps how late it was, so reads return the WeChat time.

The client used here is binary (`decode_responses=False`): entries are packed bytes.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import cast

from redis.asyncio import Redis

from schemas import ContactRef, HistoryMessage, MessageReceived, Quote
from services.history import codec, keys
from services.shared.script_batch import BatchedScript

log = logging.getLogger("qunbus.history")

_APPEND = r"""
-- KEYS: log, contacts, off
-- ARGV: ts_ms, flags byte, id bytes, tail, talker id, talker name, max entries, min id ms, ttl ms, mention ids...
if redis.call('EXISTS', KEYS[3]) == 1 then return 0 end
local function varint(n)
  local out = {}
  while n >= 128 do
    table.insert(out, string.char(n % 128 + 128))
    n = math.floor(n / 128)
  end
  table.insert(out, string.char(n))
  return table.concat(out)
end
local function index(id, name)
  local idx = redis.call('HGET', KEYS[2], '#' .. id)
  local row = id .. '\31' .. name
  if not idx then
    idx = tostring(redis.call('HINCRBY', KEYS[2], 'n', 1) - 1)
    redis.call('HSET', KEYS[2], '#' .. id, idx, idx, row)
  elseif name ~= '' and redis.call('HGET', KEYS[2], idx) ~= row then
    redis.call('HSET', KEYS[2], idx, row)
  end
  return tonumber(idx)
end
local id_bytes = ARGV[3]
-- Only entries at or after the message's own time can be it (an entry id is never before its WeChat time), and
-- only the newest can move the new id: in order, that is none or one entry, not the last 64.
local recent = redis.call('XREVRANGE', KEYS[1], '+', ARGV[1], 'COUNT', 64)
for _, item in ipairs(recent) do
  local value = item[2][2]
  local at = 2
  while string.byte(value, at) >= 128 do at = at + 1 end
  at = at + 1
  if string.sub(value, at, at + #id_bytes - 1) == id_bytes then return 0 end
end
local ms, seq = tonumber(ARGV[1]), 0
local function after(id)
  local top_ms, top_seq = string.match(id, '(%d+)-(%d+)')
  top_ms, top_seq = tonumber(top_ms), tonumber(top_seq)
  if ms < top_ms or (ms == top_ms and seq <= top_seq) then ms, seq = top_ms, top_seq + 1 end
end
if recent[1] then after(recent[1][1]) end
local talker = index(ARGV[5], ARGV[6])
local mentions = ''
if #ARGV > 9 then
  local parts = {varint(#ARGV - 9)}
  for i = 10, #ARGV do table.insert(parts, varint(index(ARGV[i], ''))) end
  mentions = table.concat(parts)
end
local function entry()
  return ARGV[2] .. varint(ms - tonumber(ARGV[1])) .. id_bytes .. varint(talker) .. ARGV[4] .. mentions
end
local ok = pcall(redis.call, 'XADD', KEYS[1], 'MAXLEN', ARGV[7], ms .. '-' .. seq, 'm', entry())
if not ok then
  -- The stream's last id belongs to an entry deleted since (forget me): go after it.
  local info = redis.call('XINFO', 'STREAM', KEYS[1])
  for i = 1, #info, 2 do
    if info[i] == 'last-generated-id' then after(info[i + 1]) end
  end
  redis.call('XADD', KEYS[1], 'MAXLEN', ARGV[7], ms .. '-' .. seq, 'm', entry())
end
redis.call('XTRIM', KEYS[1], 'MINID', '~', ARGV[8])
redis.call('PEXPIRE', KEYS[1], ARGV[9])
redis.call('PEXPIRE', KEYS[2], ARGV[9])
return 1
"""

MAX_QUOTE_CHARS = 200
"""A quote keeps this much of the quoted text: enough to recognise it, and the quoted message itself is usually
kept too."""


def epoch_ms(instant: datetime) -> int:
    return round(instant.timestamp() * 1000)


def from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


@dataclass(frozen=True)
class Window:
    """What a read asks for: messages with since < time <= until."""

    since: datetime | None = None
    until: datetime | None = None
    talker_id: str | None = None
    limit: int = 500
    last: bool = False


@dataclass(frozen=True)
class Page:
    messages: list[HistoryMessage]
    more: bool


_LATE_SLACK_MS = 10 * 60 * 1000
"""A late message's entry id is after its WeChat time; reads look this far past `until` to find such messages."""
_CHUNK = 500
_Entries = list[tuple[bytes, dict[bytes, bytes]]]


class HistoryStore:
    def __init__(self, redis: Redis, *, retention: timedelta, max_per_room: int) -> None:
        """`redis` must be a binary client (decode_responses=False)."""
        self._redis = redis
        self.retention = retention
        self.max_per_room = max_per_room
        self._append = BatchedScript(redis, _APPEND)  # one pipeline for the messages of a fetched batch

    # -- writing ---------------------------------------------------------------------------------------------

    async def record(self, event: MessageReceived, now: datetime) -> bool:
        """Keep a room message. False when nothing was kept (room off, direct message, already kept)."""
        if event.room is None:
            return False
        quote = None
        if event.quote is not None:
            quote = codec.QuoteParts(
                talker_name=event.quote.talker_name,
                text=event.quote.text[:MAX_QUOTE_CHARS],
                verified=event.quote.verified,
                talker_id=event.quote.talker_id or "",
                message_id=event.quote.message_id or "",
            )
        mentions = list(dict.fromkeys(event.mention_ids))
        packed = codec.pack(
            event_id=event.id, text=event.text, kind=event.type, quote=quote, has_mentions=bool(mentions)
        )
        room = event.room.id
        kept = await self._append(
            keys=[keys.log(room), keys.contacts(room), keys.off(room)],
            args=[
                epoch_ms(event.timestamp),
                bytes([packed.flags]),
                packed.id_bytes,
                packed.tail,
                event.talker.id,
                event.talker.alias or event.talker.name,
                self.max_per_room,
                epoch_ms(now - self.retention),
                int(self.retention.total_seconds() * 1000),
                *mentions,
            ],
        )
        return bool(kept)

    async def forget_member(self, room_id: str, contact_id: str) -> int:
        """Delete every kept message of one member in the room and their name; returns how many."""
        index = await self._redis.hget(keys.contacts(room_id), f"#{contact_id}")
        if index is None:
            return 0
        wanted = int(index)
        doomed: list[bytes] = []
        async for entry_id, entry in self._scan(room_id, b"-", b"+"):
            try:
                if codec.talker_of(entry) == wanted:
                    doomed.append(entry_id)
            except codec.CorruptEntryError:
                continue
        async with self._redis.pipeline(transaction=False) as pipe:
            for at in range(0, len(doomed), 500):
                pipe.xdel(keys.log(room_id), *doomed[at : at + 500])
            pipe.hset(keys.contacts(room_id), str(wanted), f"{contact_id}\x1f")
            await pipe.execute()
        return len(doomed)

    async def set_recording(self, room_id: str, *, on: bool) -> None:
        """Off forgets everything kept for the room and keeps nothing more until switched on again."""
        async with self._redis.pipeline(transaction=True) as pipe:
            if on:
                pipe.delete(keys.off(room_id))
            else:
                pipe.set(keys.off(room_id), b"1")
                pipe.delete(*keys.room_keys(room_id))
            await pipe.execute()

    async def recording(self, room_id: str) -> bool:
        return not await self._redis.exists(keys.off(room_id))

    # -- reading ---------------------------------------------------------------------------------------------

    async def contacts(self, room_id: str) -> dict[int, ContactRef]:
        table = cast(dict[bytes, bytes], await self._redis.hgetall(keys.contacts(room_id)))
        found: dict[int, ContactRef] = {}
        for field, value in table.items():
            if field.isdigit():
                contact_id, _, name = value.decode("utf-8", errors="replace").partition("\x1f")
                found[int(field)] = ContactRef(id=contact_id, name=name)
        return found

    async def page(self, room_id: str, window: Window, now: datetime) -> Page:
        """Kept messages of the room in the window, oldest first, at most `window.limit`."""
        floor = now - self.retention
        since = max(window.since, floor) if window.since else floor
        low = epoch_ms(since)
        high = epoch_ms(window.until) + _LATE_SLACK_MS if window.until else None
        contacts = await self.contacts(room_id)
        wanted = None
        if window.talker_id is not None:
            wanted = next((i for i, c in contacts.items() if c.id == window.talker_id), -1)

        def keep(message: HistoryMessage, talker: int) -> bool:
            if wanted is not None and talker != wanted:
                return False
            if message.timestamp <= since:
                return False
            return window.until is None or message.timestamp <= window.until

        found: list[HistoryMessage] = []
        more = False
        low_id, high_id = str(low).encode(), b"+" if high is None else str(high).encode()
        async for entry_id, entry in self._scan(room_id, low_id, high_id, backwards=window.last):
            decoded = _decode(entry_id, entry, contacts)
            if decoded is not None and keep(*decoded):
                if len(found) == window.limit:
                    more = True
                    break
                found.append(decoded[0])
        found.sort(key=lambda m: m.timestamp)
        return Page(found, more)

    async def _scan(
        self, room_id: str, low: bytes, high: bytes, *, backwards: bool = False
    ) -> AsyncIterator[tuple[bytes, bytes]]:
        """(entry id, packed entry) of the room's stream between two ids, in chunks."""
        key = keys.log(room_id)
        while True:
            if backwards:
                chunk = cast(_Entries, await self._redis.xrevrange(key, max=high, min=low, count=_CHUNK))
            else:
                chunk = cast(_Entries, await self._redis.xrange(key, min=low, max=high, count=_CHUNK))
            for entry_id, fields in chunk:
                if b"m" in fields:
                    yield entry_id, fields[b"m"]
            if len(chunk) < _CHUNK:
                return
            if backwards:
                high = b"(" + chunk[-1][0]
            else:
                low = b"(" + chunk[-1][0]

    async def messages(
        self, room_id: str, since: datetime, until: datetime, now: datetime, limit: int = 20_000
    ) -> list[HistoryMessage]:
        """Everything kept in a window (summaries, reports), oldest first."""
        return (await self.page(room_id, Window(since=since, until=until, limit=limit), now)).messages

    async def memory_usage(self, room_id: str) -> int:
        """Bytes Redis uses for the room's messages and contact table (for the benchmark)."""
        total = 0
        for key in (keys.log(room_id), keys.contacts(room_id)):
            total += int(await self._redis.memory_usage(key, samples=0) or 0)
        return total

    async def count(self, room_id: str) -> int:
        return int(await self._redis.xlen(keys.log(room_id)))


def _decode(
    entry_id: bytes, entry: bytes, contacts: dict[int, ContactRef]
) -> tuple[HistoryMessage, int] | None:
    try:
        parts = codec.unpack(entry)
    except codec.CorruptEntryError:
        log.warning("history entry %s does not decode; skipped", entry_id.decode(errors="replace"))
        return None
    ms = int(entry_id.split(b"-", 1)[0]) - parts.late_ms
    talker = contacts.get(parts.talker) or ContactRef(id=f"?{parts.talker}", name="")
    quote = None
    if parts.quote is not None:
        quote = Quote(
            talker_name=parts.quote.talker_name,
            text=parts.quote.text,
            verified=parts.quote.verified,
            talker_id=parts.quote.talker_id or None,
            message_id=parts.quote.message_id or None,
        )
    message = HistoryMessage(
        id=parts.id,
        timestamp=from_ms(ms),
        talker=talker,
        text=parts.text,
        quote=quote,
        mention_ids=[contacts[m].id for m in parts.mentions if m in contacts],
        type=parts.type,
    )
    return message, parts.talker
