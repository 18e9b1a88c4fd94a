"""Intent claims: one answer per message addressed to the bot, from the service that understands it best.

A service declares recognisers next to its keyword commands (`@service.recogniser("remind")`): functions that look
at a message and return an `Intent` with a confidence, or None. For a message addressed to the bot (an @-mention in
a room, or a direct message) whose body starts with no live service's keyword, every service that takes part in
claims (`ServiceInfo.claims`) records its best claim for the message id in Redis — its best recogniser's
confidence, and the rank of its fallback handler if it has one — and the decision is taken once, atomically, by
whichever claim completes the set of live claimers (`CLAIM_SCRIPT`):

- the highest confidence at or above the threshold wins (ties: the service name, so every replica agrees);
- otherwise the fallback with the highest rank answers (the tagger's question answering, the moderator's "did you
  mean …");
- otherwise nobody answers.

The decision is published on `qun:claims`; services that could win wait for it, for at most `deadline_s` — then
the first one to give up decides with the claims present (a dead or slow claimer cannot keep a member waiting).
A service that cannot win (no intent, no fallback) records its "no" and goes on at once. A redelivered message finds
the decision already taken and gets the same answer from the same service.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection
from dataclasses import dataclass

from redis.asyncio import Redis

from services.shared.notify import Notifications

log = logging.getLogger("qunbus.intents")

CHANNEL = "qun:claims"
NOBODY = ""
_DECIDED = "~"


@dataclass(frozen=True)
class Intent:
    """What a recogniser understood: how sure it is (0..1) and the arguments for its command's handler."""

    confidence: float
    args: str = ""

    def __post_init__(self) -> None:
        if not 0.0 <= self.confidence <= 1.0:
            raise ValueError(f"confidence must be within 0..1, not {self.confidence}")


@dataclass(frozen=True)
class Claim:
    """One service's bid for a message: its best recogniser's confidence, and its fallback's rank (-1: none)."""

    confidence: float = 0.0
    fallback_rank: int = -1

    def can_win(self, threshold: float) -> bool:
        return self.confidence >= threshold or self.fallback_rank >= 0


@dataclass(frozen=True)
class Decision:
    winner: str
    """The service that answers, or NOBODY."""
    by_intent: bool
    """It won with a recogniser (else as the fallback)."""


# KEYS[1] the message's claims hash. ARGV: me, confidence, fallback rank, threshold, ttl, force ("1": decide with the
# claims present), then the expected claimers. Returns the decision as "<winner>|<i or f>" or false (still open).
CLAIM_SCRIPT = """
local decided = redis.call('HGET', KEYS[1], '~')
if decided then return decided end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. '|' .. ARGV[3])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[5]))
if ARGV[6] ~= '1' then
  for i = 7, #ARGV do
    if redis.call('HEXISTS', KEYS[1], ARGV[i]) == 0 then return false end
  end
end
local threshold = tonumber(ARGV[4])
local best, best_conf, fallback, best_rank = '', -1, '', -1
local claims = redis.call('HGETALL', KEYS[1])
for i = 1, #claims, 2 do
  local name = claims[i]
  if name ~= '~' then
    local sep = string.find(claims[i + 1], '|', 1, true)
    local conf = tonumber(string.sub(claims[i + 1], 1, sep - 1))
    local rank = tonumber(string.sub(claims[i + 1], sep + 1))
    if conf >= threshold and (conf > best_conf or (conf == best_conf and name < best)) then
      best, best_conf = name, conf
    end
    if rank >= 0 and (rank > best_rank or (rank == best_rank and name < fallback)) then
      fallback, best_rank = name, rank
    end
  end
end
local result
if best ~= '' then result = best .. '|i' else result = fallback .. '|f' end
redis.call('HSET', KEYS[1], '~', result)
redis.call('PUBLISH', 'qun:claims', KEYS[1] .. ' ' .. result)
return result
"""


def claims_key(bot_id: str, message_id: str) -> str:
    return f"qun:claims:{bot_id}:{message_id}"


def _decision(raw: str) -> Decision:
    winner, _, how = raw.rpartition("|")
    return Decision(winner=winner, by_intent=how == "i")


class ClaimBoard:
    def __init__(
        self,
        redis: Redis,
        notifications: Notifications,
        service: str,
        *,
        threshold: float = 0.5,
        deadline_s: float = 1.0,
        ttl_s: int = 3600,
    ) -> None:
        self._redis = redis
        self._service = service
        self.threshold = threshold
        self.deadline_s = deadline_s
        self._ttl_s = ttl_s
        self._script = redis.register_script(CLAIM_SCRIPT)
        self._waiting: dict[str, asyncio.Future[str]] = {}
        self.deadlines_hit = 0
        notifications.on(CHANNEL, self._noticed)

    async def decide(self, bot_id: str, message_id: str, claim: Claim, claimers: Collection[str]) -> Decision:
        """Record this service's claim and return the decision (waiting for it if this service could win)."""
        key = claims_key(bot_id, message_id)
        expected = sorted({*claimers, self._service})
        if not claim.can_win(self.threshold):
            raw = await self._claim(key, claim, expected, force=False)
            return _decision(raw) if raw else Decision(NOBODY, by_intent=False)
        waiter: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._waiting[key] = waiter
        try:
            raw = await self._claim(key, claim, expected, force=False)
            if not raw:
                try:
                    async with asyncio.timeout(self.deadline_s):
                        raw = await waiter
                except TimeoutError:
                    self.deadlines_hit += 1
                    raw = await self._claim(key, claim, expected, force=True)
                    log.info("claims for %s decided at the deadline: %s", message_id, raw)
        finally:
            if self._waiting.get(key) is waiter:
                del self._waiting[key]
        return _decision(raw)

    async def _claim(self, key: str, claim: Claim, expected: list[str], *, force: bool) -> str:
        result = await self._script(
            keys=[key],
            args=[
                self._service,
                f"{claim.confidence:.4f}",
                claim.fallback_rank,
                self.threshold,
                self._ttl_s,
                "1" if force else "0",
                *expected,
            ],
        )
        return str(result) if result else ""

    def _noticed(self, text: str) -> None:
        key, _, result = text.partition(" ")
        waiter = self._waiting.get(key)
        if waiter is not None and not waiter.done():
            waiter.set_result(result)
