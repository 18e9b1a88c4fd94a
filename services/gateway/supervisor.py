"""Keeping the WeChat session alive: run it, and when it ends or fails, start it again with backoff.

python-wechaty's own retry sleeps a fixed 60 s and, for some errors, stops the whole event loop; the gateway
runs the session through `supervise` instead (see `services.gateway.bot.GatewayWechaty.start`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("qunbus.gateway.supervisor")


@dataclass
class Backoff:
    """Exponential backoff with full jitter, capped; `reset` after a session that lasted."""

    initial_s: float = 1.0
    maximum_s: float = 60.0
    factor: float = 2.0
    rng: random.Random = field(default_factory=random.Random)
    attempt: int = 0

    def next_delay(self) -> float:
        ceiling = min(self.maximum_s, self.initial_s * self.factor**self.attempt)
        self.attempt += 1
        # Half fixed, half random: never hammer the puppet service, never line up with other gateways.
        return ceiling / 2 + self.rng.uniform(0.0, ceiling / 2)

    def reset(self) -> None:
        self.attempt = 0


Sleep = Callable[[float], Awaitable[None]]
Monotonic = Callable[[], float]


async def supervise(
    session: Callable[[], Awaitable[None]],
    cleanup: Callable[[], Coroutine[Any, Any, None]],
    on_ended: Callable[[BaseException | None, float], Awaitable[None]],
    backoff: Backoff,
    *,
    healthy_after_s: float = 60.0,
    sleep: Sleep = asyncio.sleep,
    monotonic: Monotonic | None = None,
) -> None:
    """Run `session` forever. It ends (returns or raises) when the connection goes away.

    After each end: `cleanup`, report through `on_ended(error, delay)`, sleep with backoff, start again. A
    session that lasted `healthy_after_s` resets the backoff. Cancellation stops the loop (after cleanup).
    """
    clock = monotonic or asyncio.get_running_loop().time
    while True:
        started = clock()
        error: BaseException | None = None
        try:
            await session()
        except asyncio.CancelledError:
            await _uninterrupted(cleanup)
            raise
        except Exception as exc:  # noqa: BLE001 - any failure of the session means: reconnect
            error = exc
        await cleanup()
        if clock() - started >= healthy_after_s:
            backoff.reset()
        delay = backoff.next_delay()
        await on_ended(error, delay)
        await sleep(delay)


async def _uninterrupted(cleanup: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run `cleanup` to its end although the shutdown cancels again and again (the service runtime does, for tasks
    that swallow a cancellation): unfinished commands must go back to JetStream while NATS is still connected, and
    the send lease be released. The cleanup bounds its own waits."""
    task = asyncio.create_task(cleanup())
    while not task.done():
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.shield(task)
    task.result()
