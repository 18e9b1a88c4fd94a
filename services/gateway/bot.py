"""python-wechaty's `Wechaty`, run the way a long-lived gateway needs.

`Wechaty.start()` catches connection errors itself, sleeps a fixed 60 s and restarts recursively, stops the whole
event loop on a puppet error, and prints anything else. `GatewayWechaty.start()` lets every failure through to
`services.gateway.supervisor`, which reconnects with backoff.

Events are taken from the puppet as payloads (ids) and queued in arrival order, instead of through python-wechaty's
bridge: the bridge loads `Room`/`Contact` objects that stay cached with stale topics, fails a whole event when one
referenced contact cannot be loaded, handles `login` once per process, starts its plugin web server and scheduler
on login, and runs handlers concurrently so events may be published out of order.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from services.gateway._wechaty_compat import wechaty
from services.gateway.puppet_service_calls import is_puppet_service

log = logging.getLogger("qunbus.gateway.bot")

PUPPET_EVENTS = (
    "scan",
    "login",
    "logout",
    "ready",
    "message",
    "room-join",
    "room-leave",
    "room-topic",
    "friendship",
    "error",
)

PuppetEvent = tuple[str, Any]
"""(event name, the puppet's payload for it)."""


class SessionEndedError(ConnectionError):
    """The puppet's event stream ended: the puppet service went away or closed the stream."""


class GatewayWechaty(wechaty.Wechaty):  # type: ignore[misc]  # python-wechaty ships no type information
    _puppet: Any
    """The running puppet; None between sessions (python-wechaty's own attribute)."""

    def __init__(self, options: Any, events: asyncio.Queue[PuppetEvent]) -> None:
        super().__init__(options)
        self.events = events

    async def init_puppet_event_bridge(self, puppet: Any) -> None:
        for name in PUPPET_EVENTS:
            puppet.on(name, self._forwarder(name))

    def _forwarder(self, name: str) -> Any:
        # A plain function: pyee calls it synchronously, so the queue keeps the puppet's order.
        def forward(payload: Any = None) -> None:
            self.events.put_nowait((name, payload))

        return forward

    async def start(self) -> None:
        """Connect and run the session. Returns never; raises when the session ends."""
        await self.init_puppet()
        await self.init_puppet_event_bridge(self.puppet)
        log.info("starting puppet %s", type(self.puppet).__name__)
        await self.puppet.start()
        self.started = True
        if is_puppet_service(self.puppet):
            # The service puppet's start() returns only when its event stream ends.
            raise SessionEndedError("the puppet service closed the event stream")
        # An in-process puppet's start() returns at once; its session lasts until it is stopped.
        await asyncio.Event().wait()

    async def stop(self) -> None:
        puppet = self._puppet
        if puppet is None:
            return
        try:
            await super().stop()
        finally:
            # The service puppet closes its gRPC channel only after a successful goodbye to the server; when
            # the server is already gone that call fails and the channel would leak.
            channel = getattr(puppet, "channel", None)
            if channel is not None:
                channel.close()
                puppet.channel = None
            self._puppet = None
            self.started = False
