"""The periodic look at the system: one replica at a time (a lease in Redis) asks the gateways, the registry and
JetStream, runs the alert rules and settles the book."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import datetime, timedelta

from nats.aio.client import Client as NatsClient
from redis.asyncio import Redis

from schemas import GatewayStatus
from services.ops import alerts, bus, keys
from services.ops.accounts import AccountBook
from services.ops.book import AlertBook
from services.ops.channels import Notification
from services.ops.settings import OpsSettings

log = logging.getLogger("qunbus.ops.monitor")


def thresholds(settings: OpsSettings) -> alerts.Thresholds:
    return alerts.Thresholds(
        unreachable_after=timedelta(seconds=settings.unreachable_after_s),
        budget_warn_ratio=settings.budget_warn_ratio,
        lag_threshold=settings.lag_threshold,
        lag_for=timedelta(seconds=settings.lag_for_s),
        dead_letter_growth=settings.dead_letter_growth,
        service_gone_after=timedelta(seconds=settings.service_gone_after_s),
        service_forget_after=timedelta(seconds=settings.service_forget_after_s),
    )


class Monitor:
    def __init__(
        self,
        settings: OpsSettings,
        *,
        redis: Redis,
        connection: NatsClient,
        book: AlertBook,
        accounts: AccountBook,
        instance: str,
    ) -> None:
        self.settings = settings
        self._redis = redis
        self._nats = connection
        self._book = book
        self._accounts = accounts
        self._instance = instance

    async def lead(self) -> bool:
        """Take or keep the polling lease (three polls long)."""
        ttl = int(self.settings.poll_s * 3 * 1000)
        if await self._redis.set(keys.LEADER, self._instance, nx=True, px=ttl):
            return True
        if await self._redis.get(keys.LEADER) == self._instance:
            await self._redis.pexpire(keys.LEADER, ttl)
            return True
        return False

    async def observe(self) -> alerts.Observation:
        accounts = await self._accounts.all(self.settings.bots)
        bot_ids = [account.bot_id for account in accounts if not account.logged_in_as]
        statuses = await asyncio.gather(*(bus.gateway_status(self._nats, bot_id) for bot_id in bot_ids))
        gateways: dict[str, GatewayStatus | None] = dict(zip(bot_ids, statuses, strict=True))
        for bot_id, status in gateways.items():
            if status is not None:
                await self._accounts.status(bot_id, status)
                if status.logged_in:
                    await self._redis.hdel(keys.TROUBLE, status.bot_id)
        trouble = {
            str(bot_id): datetime.fromisoformat(str(at))
            for bot_id, at in (await self._redis.hgetall(keys.TROUBLE)).items()
        }
        services, consumers, dead = await asyncio.gather(
            bus.live_services(self._nats, self.settings.discover_window_s),
            bus.consumers(self._nats),
            bus.dead_letter_counts(self._nats),
        )
        return alerts.Observation(
            gateways=gateways,
            troubled_since=trouble,
            services=frozenset(service.name for service in services),
            consumers=tuple(consumers),
            dead_letters=dead,
        )

    async def poll(self, now: datetime) -> list[Notification]:
        observation = await self.observe()
        raw_state = await self._redis.get(keys.RULE_STATE)
        state = alerts.RuleState.from_json(json.loads(raw_state)) if raw_state else alerts.RuleState()
        result = alerts.evaluate(observation, state, thresholds(self.settings), now)
        notes = await self._book.sync(result.holding, now)
        for alert in result.once:
            note = await self._book.once(alert, now)
            if note is not None:
                notes.append(note)
        for account in await self._accounts.all():
            if account.logged_in or account.logged_in_as:
                note = await self._book.resolve(f"{alerts.SCAN_NEEDED}:{account.bot_id}", now)
                if note is not None:
                    notes.append(note)
        await self._redis.set(keys.RULE_STATE, json.dumps(result.state.to_json()))
        return notes
