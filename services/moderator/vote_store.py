"""Votes in Redis: one sorted set per room and target, voter id -> vote time (ms).

Each operation is one Lua script, so concurrent votes on different replicas can neither double-count a voter
nor both trigger the removal: the vote that reaches the threshold deletes the tally in the same atomic step.
Every operation also leaves its outcome under its event id, and a redelivered copy of the event gets that outcome
back instead of acting again: the replies it re-issues are the same words, hence the same command ids, and are
dropped downstream (a second attempt would otherwise read "you have already voted", or a count moved by others).
"""

from __future__ import annotations

from dataclasses import dataclass

from services.moderator import keys
from services.moderator.redis_types import StrRedis

# KEYS: the tally, the event's outcome. Both scripts return {changed, count, reached}.
_REPLAY = """
local done = redis.call('GET', KEYS[2])
if done then return cjson.decode(done) end
"""
_REMEMBER = """
local function remember(outcome)
  redis.call('SET', KEYS[2], cjson.encode(outcome), 'PX', ARGV[5])
  return outcome
end
"""

# ARGV: voter, now (ms), window (ms), threshold, replay (ms).
# A vote is live while now - voted_at < window: drop everything at or before now - window.
_CAST = (
    _REPLAY
    + _REMEMBER
    + """
local now, window = tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local added = redis.call('ZADD', KEYS[1], 'NX', now, ARGV[1])
local count = redis.call('ZCARD', KEYS[1])
if count >= tonumber(ARGV[4]) then
  redis.call('DEL', KEYS[1])
  return remember({added, count, 1})
end
redis.call('PEXPIRE', KEYS[1], window)
return remember({added, count, 0})
"""
)

# ARGV: voter, now (ms), window (ms), unused, replay (ms).
_WITHDRAW = (
    _REPLAY
    + _REMEMBER
    + """
local now, window = tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local removed = redis.call('ZREM', KEYS[1], ARGV[1])
return remember({removed, redis.call('ZCARD', KEYS[1]), 0})
"""
)

REPLAY_MS = 3_600_000
"""How long an outcome is kept for redeliveries (they come within minutes: retries back off, then dead-letter)."""


@dataclass(frozen=True)
class Tally:
    """The state of a vote after one voter acted on it."""

    changed: bool
    """The vote was newly cast (or withdrawn); False for a repeat."""
    count: int
    """Live votes (at the removal: the number that removed the target)."""
    reached: bool = False
    """This vote reached the threshold: the caller publishes the removal."""


class VoteStore:
    """Thin Redis layer for votes; thresholds and immunity are decided in ``votekick``."""

    def __init__(self, redis: StrRedis) -> None:
        self._redis = redis
        self._cast = redis.register_script(_CAST)
        self._withdraw = redis.register_script(_WITHDRAW)

    async def cast(
        self,
        *,
        bot_id: str,
        room_id: str,
        target_id: str,
        voter_id: str,
        event_id: str,
        threshold: int,
        now_ms: int,
        window_ms: int,
        replay_ms: int = REPLAY_MS,
    ) -> Tally:
        """Record ``voter_id``'s vote (idempotent per voter) and say whether it reached ``threshold``; the same
        ``event_id`` again gets the same tally."""
        added, count, reached = await self._cast(
            keys=[keys.votes(bot_id, room_id, target_id), keys.vote_outcome(bot_id, event_id)],
            args=[voter_id, now_ms, window_ms, threshold, replay_ms],
        )
        return Tally(changed=bool(added), count=int(count), reached=bool(reached))

    async def withdraw(
        self,
        *,
        bot_id: str,
        room_id: str,
        target_id: str,
        voter_id: str,
        event_id: str,
        now_ms: int,
        window_ms: int,
        replay_ms: int = REPLAY_MS,
    ) -> Tally:
        """Take ``voter_id``'s vote back; the same ``event_id`` again gets the same tally."""
        removed, count, _ = await self._withdraw(
            keys=[keys.votes(bot_id, room_id, target_id), keys.vote_outcome(bot_id, event_id)],
            args=[voter_id, now_ms, window_ms, 0, replay_ms],
        )
        return Tally(changed=bool(removed), count=int(count))
