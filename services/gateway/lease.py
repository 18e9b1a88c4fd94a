"""Only one gateway process sends for an account: a lease in Redis with a fencing token.

The lease's value is `<holder>:<token>`, the token a counter incremented at every acquisition. The send script
(`services.gateway.budget`) compares it before every WeChat call, so a process that lost the lease (paused, cut off,
its lease expired and taken over) cannot send even once more. A second process waits until the lease is free.
"""

from __future__ import annotations

import asyncio
import logging

from redis.asyncio import Redis

from services.shared.consumer import is_outage

log = logging.getLogger("qunbus.gateway.lease")

_RENEW = """
local current = redis.call('GET', KEYS[1])
if current == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if not current then
  -- Expired while Redis was away (a restart): nobody took it meanwhile, so it is still ours.
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class LeaseLostError(ConnectionError):
    """This process does not hold the send lease (any more). A `ConnectionError`, so the command consumer treats it
    as an outage: the command waits instead of using up a delivery, and goes back to JetStream for the holder."""


class SendLease:
    def __init__(self, redis: Redis, key: str, holder: str, ttl_s: float) -> None:
        self.redis = redis
        self.key = key
        self.holder = holder
        self.ttl_ms = max(1, int(ttl_s * 1000))
        self.value = ""
        """`<holder>:<token>` while held, "" otherwise."""
        self.other_holder = ""
        """Who holds it while this process waits ("" when nobody is known to)."""
        self._renew = redis.register_script(_RENEW)
        self._release = redis.register_script(_RELEASE)

    @property
    def held(self) -> bool:
        return bool(self.value)

    @property
    def period_s(self) -> float:
        return self.ttl_ms / 3000

    async def try_acquire(self) -> bool:
        token = await self.redis.incr(f"{self.key}:fence")
        value = f"{self.holder}:{token}"
        if await self.redis.set(self.key, value, nx=True, px=self.ttl_ms):
            self.value, self.other_holder = value, ""
            log.info("holding the send lease of %s (token %s)", self.key, token)
            return True
        self.other_holder = str(await self.redis.get(self.key) or "")
        return False

    async def acquire(self) -> None:
        """Wait until this process holds the lease."""
        told = False
        while True:
            try:
                if await self.try_acquire():
                    return
                if not told and self.other_holder:
                    log.warning(
                        "another gateway process (%s) sends for this account; waiting", self.other_holder
                    )
                    told = True
            except Exception as error:
                if not is_outage(error):
                    raise
                log.warning("cannot reach Redis for the send lease (%s); retrying", type(error).__name__)
            await asyncio.sleep(self.period_s)

    async def keep(self) -> None:
        """Renew until the lease is lost to another process (then return). While Redis is unreachable the lease
        cannot be checked, but no part can be sent either: the send script needs Redis."""
        while True:
            await asyncio.sleep(self.period_s)
            try:
                kept = await self._renew(keys=[self.key], args=[self.value, self.ttl_ms])
            except Exception as error:
                if not is_outage(error):
                    raise
                log.warning("cannot renew the send lease (%s); retrying", type(error).__name__)
                continue
            if not kept:
                self.other_holder = str(await self.redis.get(self.key) or "")
                log.error("the send lease was taken over by %s; stop sending", self.other_holder)
                self.value = ""
                return

    async def release(self) -> None:
        value, self.value = self.value, ""
        if value:
            await self._release(keys=[self.key], args=[value])
