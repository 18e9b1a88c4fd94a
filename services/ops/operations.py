"""What an operator can ask and do, in one place: the console's API and `qunctl` both call these. Reads come
from Redis (what the ops service learnt from the bus) and from the bus itself (gateways, registry, JetStream)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any

from nats.aio.client import Client as NatsClient
from redis.asyncio import Redis

from schemas import GatewayStatus
from services.ops import alerts, bus, deadletters, keys
from services.ops.accounts import AccountBook, RoomBook
from services.ops.book import AlertBook
from services.ops.broadcast import (
    Broadcast,
    BroadcastStore,
    Image,
    Recipient,
    Selection,
    choose,
    new_broadcast,
)
from services.ops.settings import OpsSettings
from services.shared.context import Clock
from services.shared.rooms import RoomPrefs, RoomStore


class Operations:
    def __init__(
        self,
        settings: OpsSettings,
        redis: Redis,
        connection: NatsClient,
        book: AlertBook,
        *,
        clock: Clock | None = None,
        prefs: Callable[[str], Awaitable[RoomPrefs]] | None = None,
    ) -> None:
        """`prefs`: the running service's cached room preferences; a command-line tool reads Redis each time."""
        self.settings = settings
        self.redis = redis
        self.nats = connection
        self.book = book
        self.clock = clock or Clock(settings.clock_offset_s)
        self.accounts = AccountBook(redis)
        self.rooms_seen = RoomBook(redis)
        self.broadcast_store = BroadcastStore(redis)
        self._prefs = prefs or RoomStore(redis).prefs

    def now(self) -> datetime:
        return self.clock.now()

    # -- accounts, services, queues ------------------------------------------------------------------------------

    async def account_ids(self) -> list[str]:
        return [account.bot_id for account in await self.accounts.all(self.settings.bots)]

    async def gateways(self) -> list[dict[str, Any]]:
        """Every known account with what its gateway answers now (login, queue, daily budgets)."""
        accounts = await self.accounts.all(self.settings.bots)

        async def ask(bot_id: str, forwarded: str) -> GatewayStatus | None:
            return None if forwarded else await bus.gateway_status(self.nats, bot_id)

        statuses = await asyncio.gather(*(ask(a.bot_id, a.logged_in_as) for a in accounts))
        return [
            {
                **asdict(account),
                "qr_link": self.settings.qr_link(account.bot_id) if account.qrcode else "",
                "answering": status is not None,
                "status": status.model_dump(mode="json") if status else None,
            }
            for account, status in zip(accounts, statuses, strict=True)
        ]

    async def services(self) -> dict[str, Any]:
        live = await bus.live_services(self.nats, self.settings.discover_window_s)
        raw = await self.redis.get(keys.RULE_STATE)
        state = alerts.RuleState.from_json(json.loads(raw)) if raw else alerts.RuleState()
        names = {service.name for service in live}
        gone = [
            {"name": name, "last_seen": last, "missing_since": state.missing_since.get(name, "")}
            for name, last in sorted(state.services_seen.items())
            if name not in names
        ]
        return {"live": [asdict(service) for service in live], "gone": gone}

    async def queues(self) -> dict[str, Any]:
        consumers = await bus.consumers(self.nats)
        return {
            "consumers": [asdict(consumer) for consumer in consumers],
            "dead_letters": await bus.dead_letter_counts(self.nats),
            "streams": await bus.stream_sizes(self.nats),
        }

    async def forget_service(self, name: str) -> bool:
        raw = await self.redis.get(keys.RULE_STATE)
        if not raw:
            return False
        state = alerts.RuleState.from_json(json.loads(raw))
        if name not in state.services_seen:
            return False
        await self.redis.set(keys.RULE_STATE, json.dumps(state.forget_service(name).to_json()))
        return True

    async def overview(self) -> dict[str, Any]:
        return {
            "now": self.now().isoformat(),
            "accounts": await self.gateways(),
            "services": await self.services(),
            "queues": await self.queues(),
            "alerts": {"active": await self.book.active(), "recent": await self.book.recent(30)},
            "broadcasts": await self.broadcasts(10),
            "room_lists": await self.broadcast_store.lists(),
        }

    async def qr_svg(self, bot_id: str) -> bytes | None:
        for account in await self.accounts.all():
            if account.bot_id == bot_id and account.qrcode:
                return _qr_svg(account.qrcode)
        return None

    # -- rooms ------------------------------------------------------------------------------------------------

    async def rooms(self, bot_id: str | None = None) -> list[dict[str, Any]]:
        bots = [bot_id] if bot_id else await self.account_ids()
        rows = []
        for room in await self.rooms_seen.rooms(bots):
            prefs = await self._prefs(room.id)
            rows.append(
                {
                    **room.to_json(),
                    "services_off": sorted(prefs.disabled_services),
                    "lang": prefs.lang or "",
                    "timezone": prefs.timezone or "",
                }
            )
        return rows

    # -- dead letters -----------------------------------------------------------------------------------------

    async def dead_letters(self, selection: deadletters.Filter, limit: int = 100) -> list[dict[str, Any]]:
        return [letter.summary() async for letter in deadletters.letters(self.nats, selection, limit)]

    async def dead_letter(self, seq: int) -> dict[str, Any] | None:
        letter = await deadletters.find(self.nats, seq)
        return letter.detail() if letter else None

    async def replay(
        self, selection: deadletters.Filter, *, remove: bool = False, dry_run: bool = False
    ) -> list[deadletters.ReplayResult]:
        return await deadletters.replay(self.nats, selection, remove=remove, dry_run=dry_run)

    async def purge(self, selection: deadletters.Filter, *, dry_run: bool = False) -> int:
        return await deadletters.purge(self.nats, selection, dry_run=dry_run)

    # -- broadcasts -------------------------------------------------------------------------------------------

    async def recipients(self, selection: Selection) -> list[Recipient]:
        rooms = await self.rooms_seen.rooms(
            [selection.bot_id] if selection.bot_id else await self.account_ids()
        )
        return [Recipient.of(room) for room in choose(rooms, selection, await self.broadcast_store.lists())]

    async def create_broadcast(
        self,
        selection: Selection,
        text: str,
        image: Image | None,
        image_data: bytes | None,
        created_by: str = "",
    ) -> Broadcast:
        rooms = await self.rooms_seen.rooms(
            [selection.bot_id] if selection.bot_id else await self.account_ids()
        )
        chosen = choose(rooms, selection, await self.broadcast_store.lists())
        broadcast = new_broadcast(
            text,
            image,
            chosen,
            now=self.now(),
            deadline_s=self.settings.broadcast_deadline_s,
            created_by=created_by,
        )
        await self.broadcast_store.create(broadcast, image_data)
        return broadcast

    async def broadcast(self, broadcast_id: str) -> dict[str, Any] | None:
        progress = await self.broadcast_store.progress(broadcast_id)
        return progress.to_json() if progress else None

    async def broadcasts(self, limit: int = 20) -> list[dict[str, Any]]:
        found = []
        for progress in await self.broadcast_store.recent(limit):
            data = progress.to_json()
            data.pop("rooms")
            found.append(data)
        return found

    async def cancel_broadcast(self, broadcast_id: str) -> bool:
        return await self.broadcast_store.cancel(broadcast_id)

    async def save_room_list(self, name: str, room_ids: Sequence[str]) -> None:
        await self.broadcast_store.save_list(name, room_ids)


def _qr_svg(content: str) -> bytes:
    import qrcode  # noqa: PLC0415 - only when a QR code is shown
    import qrcode.image.svg  # noqa: PLC0415

    code = qrcode.QRCode(border=1)
    code.add_data(content)
    code.make(fit=True)
    return bytes(code.make_image(image_factory=qrcode.image.svg.SvgPathImage).to_string())
