"""Outbound pacing against bans: token buckets per conversation and per account, fair across rooms.

Pure and synchronous: every method takes `now` (seconds on a monotonic clock), so tests run instantly.
`services.gateway.sender` drives it with a real clock.
"""

from __future__ import annotations

import random
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class PacingLimits:
    """How fast the account may speak. WeChat bans accounts that post too fast or too regularly."""

    room_per_second: float = 1.0
    room_burst: int = 2
    account_per_minute: float = 20.0
    account_burst: int = 5
    jitter_seconds: float = 0.4
    """Up to this much random delay before every send, so the rhythm does not look machine-made."""

    def __post_init__(self) -> None:
        if self.room_per_second <= 0 or self.account_per_minute <= 0:
            raise ValueError("rates must be positive")
        if self.room_burst < 1 or self.account_burst < 1:
            raise ValueError("bursts must allow at least one message")
        if self.jitter_seconds < 0:
            raise ValueError("jitter cannot be negative")


class TokenBucket:
    """Classic token bucket: `capacity` tokens, refilled at `rate` tokens per second."""

    def __init__(self, rate: float, capacity: float, now: float) -> None:
        self.rate = rate
        self.capacity = capacity
        self._tokens = capacity
        self._updated = now

    def _refill(self, now: float) -> None:
        elapsed = max(0.0, now - self._updated)
        self._tokens = min(self.capacity, self._tokens + elapsed * self.rate)
        self._updated = max(self._updated, now)

    def delay(self, now: float) -> float:
        """Seconds until one token is available (0 when one is)."""
        self._refill(now)
        missing = 1.0 - self._tokens
        return 0.0 if missing <= 1e-9 else missing / self.rate

    def take(self, now: float) -> None:
        self._refill(now)
        self._tokens -= 1.0

    def is_full(self, now: float) -> bool:
        self._refill(now)
        return self._tokens >= self.capacity


@dataclass(frozen=True)
class Ready(Generic[T]):
    """Send this item now."""

    conversation: str
    item: T


@dataclass(frozen=True)
class Wait:
    """Nothing may be sent for `seconds` (or nothing is queued, then `seconds` is None)."""

    seconds: float | None


@dataclass
class PacingStats:
    sent: int = 0
    rate_limit_waits: int = 0
    """How often a queued message had to wait for a rate limit."""


class Outbox(Generic[T]):
    """Queues per conversation (room or contact id), released round-robin as the buckets allow.

    Order within a conversation is kept; across conversations the one that waited longest goes first, so one
    busy room cannot starve the others.
    """

    def __init__(self, limits: PacingLimits | None = None, rng: random.Random | None = None) -> None:
        self.limits = limits or PacingLimits()
        self.rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
        self.stats = PacingStats()
        self._queues: dict[str, deque[T]] = {}
        self._turns: deque[str] = deque()
        self._conversation_buckets: dict[str, TokenBucket] = {}
        self._account_bucket: TokenBucket | None = None
        self._waiting = False

    def push(self, conversation: str, item: T) -> None:
        queue = self._queues.get(conversation)
        if queue is None:
            queue = self._queues[conversation] = deque()
            self._turns.append(conversation)
        queue.append(item)

    def remove(self, unwanted: Callable[[T], bool]) -> None:
        """Drop every queued item for which `unwanted` is true (a command that failed or was handed back)."""
        for conversation in list(self._queues):
            kept = deque(item for item in self._queues[conversation] if not unwanted(item))
            if kept:
                self._queues[conversation] = kept
            else:
                del self._queues[conversation]
                self._turns.remove(conversation)

    def __len__(self) -> int:
        return sum(len(queue) for queue in self._queues.values())

    def queue_sizes(self) -> dict[str, int]:
        return {conversation: len(queue) for conversation, queue in self._queues.items()}

    def jitter(self) -> float:
        return self.rng.uniform(0.0, self.limits.jitter_seconds)

    def _account(self, now: float) -> TokenBucket:
        if self._account_bucket is None:
            rate = self.limits.account_per_minute / 60.0
            self._account_bucket = TokenBucket(rate, self.limits.account_burst, now)
        return self._account_bucket

    def _conversation(self, conversation: str, now: float) -> TokenBucket:
        bucket = self._conversation_buckets.get(conversation)
        if bucket is None:
            bucket = TokenBucket(self.limits.room_per_second, self.limits.room_burst, now)
            self._conversation_buckets[conversation] = bucket
        return bucket

    def next(self, now: float) -> Ready[T] | Wait:
        """The next item to send, fairly, or how long to wait before asking again."""
        if not self._turns:
            return Wait(None)
        account_delay = self._account(now).delay(now)
        soonest: float | None = None
        for conversation in self._turns:
            delay = max(account_delay, self._conversation(conversation, now).delay(now))
            if delay == 0.0:
                self._waiting = False
                return Ready(conversation, self._release(conversation, now))
            soonest = delay if soonest is None else min(soonest, delay)
        if not self._waiting:
            # Count each stretch of waiting once, not every time the sender asks.
            self._waiting = True
            self.stats.rate_limit_waits += 1
        return Wait(soonest)

    def _release(self, conversation: str, now: float) -> T:
        queue = self._queues[conversation]
        item = queue.popleft()
        self._turns.remove(conversation)
        if queue:
            self._turns.append(conversation)  # back of the line: the others go first
        else:
            del self._queues[conversation]
        self._conversation(conversation, now).take(now)
        self._account(now).take(now)
        self.stats.sent += 1
        self._forget_idle_buckets(now)
        return item

    def _forget_idle_buckets(self, now: float) -> None:
        """A full bucket of an empty conversation holds no information; drop it to bound memory."""
        idle = [
            conversation
            for conversation, bucket in self._conversation_buckets.items()
            if conversation not in self._queues and bucket.is_full(now)
        ]
        for conversation in idle:
            del self._conversation_buckets[conversation]


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
    """Ids seen recently (bounded by count and age): the dedupe of command and message ids."""

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
