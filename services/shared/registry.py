"""The live services as every replica sees them: refreshed in the background from `qun.svc.discover`.

Used where a message must be judged against every live service without asking each time: whose keyword a body
starts with (keyword commands win over recognisers), which services take part in claims (the others wait for
their claim), display names and commands for help, and "did you mean …" suggestions.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from nats.errors import Error as NatsError

from schemas import ChatCommand, ServiceInfo
from services.shared.commands import CommandMatcher, Match

log = logging.getLogger("qunbus.registry")

Ask = Callable[[], Awaitable[list[ServiceInfo]]]


class LiveRegistry:
    def __init__(self, ask: Ask, refresh_s: float, own: ServiceInfo) -> None:
        """`ask()` gathers the registry's answers (one per name); `own` is this service, always counted live."""
        self._ask = ask
        self.refresh_s = refresh_s
        self._own = own
        self._services: list[ServiceInfo] = [own]
        self._matcher = _matcher_of(self._services)
        self.refreshed_at = 0.0
        self._arrivals: dict[str, tuple[ServiceInfo, float]] = {}
        self.ready = asyncio.Event()

    @property
    def services(self) -> list[ServiceInfo]:
        return self._services

    def claimers(self) -> list[str]:
        """Names of live services that take part in claims for addressed messages."""
        return [info.name for info in self._services if info.claims]

    def keyword(self, body: str) -> tuple[ServiceInfo, Match] | None:
        """The live service whose chat command `body` starts with, if any (the longest keyword wins)."""
        match = self._matcher.match(body) if body else None
        if match is None:
            return None
        owner = next(info for info in self._services if match.command in info.commands)
        return owner, match

    def arrived(self, info: ServiceInfo) -> None:
        """A service announced itself as it started: count it at once, without waiting for the next refresh."""
        self._arrivals[info.name] = (info, time.monotonic())
        self._set([*(known for known in self._services if known.name != info.name), info])

    def update(self, found: list[ServiceInfo], *, asked_at: float = 0.0) -> None:
        """The answers of a refresh that started at `asked_at`: services that announced themselves since then
        are kept even if they were not live yet when it asked."""
        names = {info.name for info in found}
        late = [info for info, at in self._arrivals.values() if at >= asked_at and info.name not in names]
        self._arrivals = {name: (info, at) for name, (info, at) in self._arrivals.items() if at >= asked_at}
        self._set([*found, *late])
        self.refreshed_at = time.monotonic()
        self.ready.set()

    def _set(self, found: list[ServiceInfo]) -> None:
        names = {info.name for info in found}
        services = sorted([*found, *([] if self._own.name in names else [self._own])], key=lambda i: i.name)
        if [(i.name, i.version, i.commands, i.claims) for i in services] != [
            (i.name, i.version, i.commands, i.claims) for i in self._services
        ]:
            self._matcher = _matcher_of(services)
        self._services = services

    async def refresh(self) -> None:
        asked_at = time.monotonic()
        self.update(await self._ask(), asked_at=asked_at)

    async def keep_fresh(self) -> None:
        """Background loop for the instance's lifetime."""
        while True:
            try:
                await self.refresh()
            except (NatsError, OSError, TimeoutError) as error:  # NATS away: keep the last view, try again
                log.warning("registry refresh failed (%s); keeping the last view", type(error).__name__)
            await asyncio.sleep(self.refresh_s)


def _matcher_of(services: list[ServiceInfo]) -> CommandMatcher:
    commands: list[ChatCommand] = [command for info in services for command in info.commands]
    return CommandMatcher(commands)
