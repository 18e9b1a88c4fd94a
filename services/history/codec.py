"""The packed form of one kept message: a few bytes of header and the text, nothing repeated.

An entry is the value of one Redis stream entry, whose id carries the time (milliseconds). Talkers and mentioned
contacts are small numbers into the room's table of contacts (id and name stored once per contact), so an entry
holds no id or name of a member. The event id (32 hex characters) is kept as 16 bytes.

    flags        1 byte   QUOTE | MENTIONS | RAW_ID | TYPED
    late         varint   milliseconds between the stream id and the WeChat time (0 unless it arrived late)
    id           16 bytes (hex event id) or varint length + UTF-8 (RAW_ID)
    talker       varint   index in the room's contact table
    [type]       string   when TYPED (not "text")
    text         string
    [quote]      1 byte verified, string talker name, string talker id, string message id, string text
    [mentions]   varint count, varint indexes

Strings are a varint length then UTF-8. The header up to the talker and the part after it are built here; the
Lua script that appends writes `late`, the talker's index and the mentions, which only Redis knows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

QUOTE = 1
MENTIONS = 2
RAW_ID = 4
TYPED = 8

_HEX_ID = re.compile(r"^[0-9a-f]{32}$")


class CorruptEntryError(ValueError):
    """An entry that does not decode (written by hand or by another version)."""


@dataclass(frozen=True)
class QuoteParts:
    talker_name: str
    text: str
    verified: bool = False
    talker_id: str = ""
    message_id: str = ""


@dataclass(frozen=True)
class Packed:
    """A message split around the parts Redis fills in: `flags`, then `id_bytes`, then the talker's index, then
    `tail`, then the mentions."""

    flags: int
    id_bytes: bytes
    tail: bytes


@dataclass(frozen=True)
class Unpacked:
    late_ms: int
    id: str
    talker: int
    type: str
    text: str
    quote: QuoteParts | None
    mentions: tuple[int, ...]


def varint(number: int) -> bytes:
    if number < 0:
        raise ValueError("varints are unsigned")
    out = bytearray()
    while number >= 0x80:
        out.append((number & 0x7F) | 0x80)
        number >>= 7
    out.append(number)
    return bytes(out)


def _string(text: str) -> bytes:
    data = text.encode("utf-8")
    return varint(len(data)) + data


def pack(
    *,
    event_id: str,
    text: str,
    kind: str = "text",
    quote: QuoteParts | None = None,
    has_mentions: bool = False,
) -> Packed:
    flags = 0
    if _HEX_ID.match(event_id):
        id_bytes = bytes.fromhex(event_id)
    else:
        flags |= RAW_ID
        id_bytes = _string(event_id)
    tail = bytearray()
    if kind != "text":
        flags |= TYPED
        tail += _string(kind)
    tail += _string(text)
    if quote is not None:
        flags |= QUOTE
        tail.append(1 if quote.verified else 0)
        tail += _string(quote.talker_name) + _string(quote.talker_id)
        tail += _string(quote.message_id) + _string(quote.text)
    if has_mentions:
        flags |= MENTIONS
    return Packed(flags=flags, id_bytes=id_bytes, tail=bytes(tail))


def assemble(packed: Packed, *, late_ms: int, talker: int, mentions: tuple[int, ...] = ()) -> bytes:
    """What the append script builds in Redis (used by tests and benchmarks to check the two agree)."""
    entry = bytes([packed.flags]) + varint(late_ms) + packed.id_bytes + varint(talker) + packed.tail
    if packed.flags & MENTIONS:
        entry += varint(len(mentions)) + b"".join(varint(m) for m in mentions)
    return entry


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.at = 0

    def byte(self) -> int:
        if self.at >= len(self.data):
            raise CorruptEntryError("entry ends early")
        value = self.data[self.at]
        self.at += 1
        return value

    def varint(self) -> int:
        shift, value = 0, 0
        while True:
            byte = self.byte()
            value |= (byte & 0x7F) << shift
            if byte < 0x80:
                return value
            shift += 7
            if shift > 63:
                raise CorruptEntryError("varint too long")

    def raw(self, length: int) -> bytes:
        if self.at + length > len(self.data):
            raise CorruptEntryError("entry ends early")
        chunk = self.data[self.at : self.at + length]
        self.at += length
        return chunk

    def string(self) -> str:
        try:
            return self.raw(self.varint()).decode("utf-8")
        except UnicodeDecodeError as error:
            raise CorruptEntryError("not UTF-8") from error


def unpack(entry: bytes) -> Unpacked:
    reader = _Reader(entry)
    flags = reader.byte()
    late_ms = reader.varint()
    event_id = reader.string() if flags & RAW_ID else reader.raw(16).hex()
    talker = reader.varint()
    kind = reader.string() if flags & TYPED else "text"
    text = reader.string()
    quote = None
    if flags & QUOTE:
        verified = bool(reader.byte())
        quote = QuoteParts(
            verified=verified,
            talker_name=reader.string(),
            talker_id=reader.string(),
            message_id=reader.string(),
            text=reader.string(),
        )
    mentions: tuple[int, ...] = ()
    if flags & MENTIONS:
        mentions = tuple(reader.varint() for _ in range(reader.varint()))
    if reader.at != len(entry):
        raise CorruptEntryError("trailing bytes")
    return Unpacked(late_ms, event_id, talker, kind, text, quote, mentions)


def talker_of(entry: bytes) -> int:
    """The talker's index alone, without decoding the text (forget-me scans every entry of a room)."""
    reader = _Reader(entry)
    flags = reader.byte()
    reader.varint()
    if flags & RAW_ID:
        reader.raw(reader.varint())
    else:
        reader.raw(16)
    return reader.varint()
