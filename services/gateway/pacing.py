"""Pure parts of the send path: the limits, the fair queue, cutting long texts, and recent ids.

The token buckets themselves live in Redis (`services.gateway.budget`), so that restarts and a second gateway
process never grant extra budget; this module decides the order in which parts are offered to them.
"""

from __future__ import annotations

import re
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar, get_args

from schemas.base import Priority

T = TypeVar("T")

PRIORITIES: tuple[Priority, ...] = get_args(Priority)
"""Send classes, most urgent first: replies to members, reminders, notices, broadcasts."""

TRUNCATED_ZH = "…（内容过长，已截断）"
TRUNCATED_EN = "…(truncated)"
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


@dataclass(frozen=True)
class PacingLimits:
    """How fast the account may speak. WeChat bans accounts that post too fast or too regularly."""

    room_per_second: float = 1.0
    room_burst: int = 2
    account_per_minute: float = 20.0
    account_burst: int = 5
    jitter_seconds: float = 0.4
    """Up to this much random pause after every send, so the rhythm does not look machine-made."""

    def __post_init__(self) -> None:
        if self.room_per_second <= 0 or self.account_per_minute <= 0:
            raise ValueError("rates must be positive")
        if self.room_burst < 1 or self.account_burst < 1:
            raise ValueError("bursts must allow at least one message")
        if self.jitter_seconds < 0:
            raise ValueError("jitter cannot be negative")


class FairQueue(Generic[T]):
    """Parts waiting to be sent, by priority class and conversation (room or contact id).

    `candidates` offers, class by class (replies first), one head per conversation, conversations in turn: the one
    served last goes to the back of its class. A conversation whose own bucket is empty is `defer`red and skipped
    until then, so its backlog delays only itself. Order within one conversation and class is kept.
    """

    def __init__(self) -> None:
        self._queues: dict[Priority, dict[str, deque[T]]] = {priority: {} for priority in PRIORITIES}
        self._not_before: dict[str, float] = {}

    def push(self, priority: Priority, conversation: str, item: T) -> None:
        self._queues[priority].setdefault(conversation, deque()).append(item)

    def candidates(self, now: float) -> Iterator[tuple[Priority, str]]:
        """(class, conversation) whose head may be offered now, in serving order. Safe to `pop` while iterating
        only the pair just yielded."""
        for priority in PRIORITIES:
            for conversation in list(self._queues[priority]):
                if self._not_before.get(conversation, 0.0) <= now:
                    yield priority, conversation

    def head(self, priority: Priority, conversation: str) -> T:
        return self._queues[priority][conversation][0]

    def pop(self, priority: Priority, conversation: str) -> T:
        """Take the head; the conversation goes to the back of its class."""
        queues = self._queues[priority]
        queue = queues.pop(conversation)
        item = queue.popleft()
        if queue:
            queues[conversation] = queue  # dicts keep insertion order: this is the back of the line
        return item

    def defer(self, conversation: str, until: float) -> None:
        self._not_before[conversation] = until

    def soonest(self, now: float) -> float | None:
        """Seconds until a deferred conversation with queued parts may be offered again (None: none deferred)."""
        waits = [
            self._not_before[conversation] - now
            for queues in self._queues.values()
            for conversation in queues
            if self._not_before.get(conversation, 0.0) > now
        ]
        self._not_before = {c: t for c, t in self._not_before.items() if t > now}
        return min(waits) if waits else None

    def remove(self, unwanted: Callable[[T], bool]) -> None:
        """Drop every queued item for which `unwanted` is true (a command that failed, went stale or was handed
        back)."""
        for queues in self._queues.values():
            for conversation in list(queues):
                kept = deque(item for item in queues[conversation] if not unwanted(item))
                if kept:
                    queues[conversation] = kept
                else:
                    del queues[conversation]

    def __len__(self) -> int:
        return sum(len(queue) for queues in self._queues.values() for queue in queues.values())

    def sizes_by_conversation(self) -> dict[str, int]:
        sizes: dict[str, int] = {}
        for queues in self._queues.values():
            for conversation, queue in queues.items():
                sizes[conversation] = sizes.get(conversation, 0) + len(queue)
        return sizes

    def sizes_by_priority(self) -> dict[str, int]:
        return {
            priority: total
            for priority, queues in self._queues.items()
            if (total := sum(len(queue) for queue in queues.values()))
        }


def truncation_marker(text: str) -> str:
    return TRUNCATED_ZH if _CJK.search(text) else TRUNCATED_EN


def bounded_parts(text: str, limit: int, max_parts: int) -> list[str]:
    """`text` as at most `max_parts` WeChat messages of at most `limit` characters. A longer text is cut at a line
    boundary (a space, or hard, when one line is too long) and ends with a clear marker in the text's language."""
    parts = split_text(text, limit)
    if len(parts) <= max_parts:
        return parts
    marker = truncation_marker(text)
    kept, last = parts[: max_parts - 1], parts[max_parts - 1]
    room = limit - len(marker) - 1
    while len(last) > room:
        cut = last.rfind("\n", 0, room + 1)
        if cut <= 0:
            cut = last.rfind(" ", 0, room + 1)
        last = last[: cut if cut > 0 else room].rstrip()
    return [*kept, f"{last}\n{marker}" if last else marker]


def split_text(text: str, limit: int) -> list[str]:
    """Split a long text into messages of at most `limit` characters, on line boundaries where possible.

    A single line longer than the limit is cut at the last space before the limit, or hard at the limit
    (Chinese has no spaces). Blank lines at the cut points are dropped; empty input gives no messages.
    """
    if limit < 1:
        raise ValueError("limit must be positive")
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    for line in text.split("\n"):
        for piece in _cut_line(line, limit):
            added = len(piece) + (1 if current else 0)
            if current and size + added > limit:
                chunks.append("\n".join(current))
                current, size = [], 0
                added = len(piece)
            current.append(piece)
            size += added
    chunks.append("\n".join(current))
    return [chunk.strip("\n") for chunk in chunks if chunk.strip()]


def _cut_line(line: str, limit: int) -> list[str]:
    pieces: list[str] = []
    while len(line) > limit:
        cut = line.rfind(" ", 0, limit + 1)
        if cut <= 0:
            cut = limit
        pieces.append(line[:cut].rstrip())
        line = line[cut:].lstrip(" ")
    pieces.append(line)
    return pieces


class RecentIds:
    """Ids seen recently (bounded by count and age): the dedupe of message ids."""

    def __init__(self, max_size: int = 10_000, ttl_seconds: float = 3600.0) -> None:
        if max_size < 1:
            raise ValueError("max_size must be positive")
        self.max_size = max_size
        self.ttl_seconds = ttl_seconds
        self._seen: OrderedDict[str, float] = OrderedDict()

    def __contains__(self, key: object) -> bool:
        return key in self._seen

    def seen(self, key: str, now: float) -> bool:
        """Whether `key` was added within the TTL."""
        self._expire(now)
        return key in self._seen

    def add(self, key: str, now: float) -> None:
        self._seen[key] = now
        self._seen.move_to_end(key)
        self._expire(now)
        while len(self._seen) > self.max_size:
            self._seen.popitem(last=False)

    def first_time(self, key: str, now: float) -> bool:
        """True the first time `key` is seen within the TTL (and remembers it)."""
        if self.seen(key, now):
            return False
        self.add(key, now)
        return True

    def _expire(self, now: float) -> None:
        while self._seen:
            key, added = next(iter(self._seen.items()))
            if now - added < self.ttl_seconds:
                break
            del self._seen[key]
