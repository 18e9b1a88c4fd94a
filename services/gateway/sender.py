"""The one loop that speaks to WeChat: parts of commands, paced and fair, one at a time.

`send(steps, ...)` queues the parts of one command and returns once WeChat accepted all of them (or raises the
first failure; the parts not sent yet are dropped). `run()` releases parts as the pacing allows.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from opentelemetry.trace import SpanKind, Tracer

from services.gateway.executor import Executor, Step, describe
from services.gateway.pacing import Outbox, PacingLimits, Wait
from services.shared import telemetry

log = logging.getLogger("qunbus.gateway.sender")

Sent = Callable[[int], Awaitable[None]]
"""Called with a step's index once WeChat accepted it (records the progress)."""


@dataclass(eq=False)
class _Job:
    headers: Mapping[str, str]
    on_sent: Sent
    left: int
    done: asyncio.Future[None] = field(default_factory=lambda: asyncio.get_running_loop().create_future())

    def fail(self, error: BaseException) -> None:
        if not self.done.done():
            self.done.set_exception(error)

    @property
    def over(self) -> bool:
        return self.done.done()


class Sender:
    def __init__(self, executor: Executor, limits: PacingLimits, tracer: Tracer) -> None:
        self.executor = executor
        self.tracer = tracer
        self.outbox: Outbox[tuple[_Job, Step]] = Outbox(limits)
        self.sent = 0
        self._work = asyncio.Event()

    @property
    def rate_limit_waits(self) -> int:
        return self.outbox.stats.rate_limit_waits

    def queue_sizes(self) -> dict[str, int]:
        return self.outbox.queue_sizes()

    async def send(self, steps: list[Step], headers: Mapping[str, str], on_sent: Sent) -> None:
        if not steps:
            return
        job = _Job(headers, on_sent, len(steps))
        for step in steps:
            self.outbox.push(step.conversation, (job, step))
        self._work.set()
        try:
            await job.done
        finally:
            if not job.over:  # cancelled (the consumer stopped): its parts must not go out any more
                job.fail(asyncio.CancelledError())
            self.outbox.remove(lambda item: item[0] is job)

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            self._work.clear()
            decision = self.outbox.next(loop.time())
            if isinstance(decision, Wait):
                # asyncio.timeout, not wait_for: Python 3.11's wait_for can swallow a cancellation.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(decision.seconds):
                        await self._work.wait()
                continue
            job, step = decision.item
            if job.over:
                continue
            await asyncio.sleep(self.outbox.jitter())
            await self._send(job, step)

    async def _send(self, job: _Job, step: Step) -> None:
        try:
            with telemetry.continued(self.tracer, "wechat send", job.headers, SpanKind.PRODUCER):
                await self.executor.run(step)
            self.sent += 1
            await job.on_sent(step.index)
        except Exception as error:  # noqa: BLE001 - the consumer decides: retry, pause or dead-letter
            log.warning("step %s failed: %s", describe(step), error)
            job.fail(error)
            return
        job.left -= 1
        if job.left == 0 and not job.over:
            job.done.set_result(None)
