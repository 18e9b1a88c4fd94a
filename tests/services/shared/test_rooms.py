"""Room preferences and the admin rule, over a real redis-server, including cache freshness across replicas."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from schemas import ChatCommand, MessageReceived, Room
from services.shared import Context, QunService, QunSettings
from services.shared.notify import Notifications
from services.shared.rooms import AdminCheck, RoomStore
from tests.conftest import Bus, RunService
from tests.factories import message

OWNED = Room(id="r1", owner_id="owner")
ROOM = Room(id="room1@chatroom")


@contextlib.asynccontextmanager
async def replica(redis_url: str) -> AsyncIterator[RoomStore]:
    redis = Redis.from_url(redis_url, decode_responses=True)
    store = RoomStore(redis)
    notifications = Notifications.of(redis)
    listener = asyncio.create_task(notifications.listen())
    await asyncio.wait_for(notifications.listening.wait(), 5)
    try:
        yield store
    finally:
        listener.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await listener
        await redis.aclose()


async def eventually(check: object, timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not await check():  # type: ignore[operator]
            await asyncio.sleep(0.01)


async def test_a_change_through_one_replica_reaches_the_others_cache(redis_url: str) -> None:
    async with replica(redis_url) as one, replica(redis_url) as other:
        assert (await other.prefs("r1")).disabled_services == frozenset()  # now cached by `other`
        await one.set_service_enabled("r1", "tagger", enabled=False)
        await one.set_lang("r1", "en")
        await one.add_admin("r1", "alice")

        async def other_sees_it() -> bool:
            prefs = await other.prefs("r1")
            return prefs.disabled_services == {"tagger"} and prefs.lang == "en" and prefs.admins == {"alice"}

        await eventually(other_sees_it)
        await other.set_service_enabled("r1", "tagger", enabled=True)
        assert (await other.prefs("r1")).disabled_services == frozenset()  # the writer forgets at once


@pytest.mark.parametrize(
    ("who", "room", "expected"),
    [
        ("root", None, True),
        ("alice", None, False),
        ("owner", OWNED, True),
        ("bob", OWNED, False),
        ("alice", OWNED, True),
    ],
)
async def test_admin_rule(redis_url: str, who: str, room: Room | None, expected: bool) -> None:
    async with replica(redis_url) as store:
        await store.add_admin("r1", "alice")
        assert await AdminCheck(frozenset({"root"}), store).is_admin(who, room) is expected


async def test_a_rooms_time_zone_reaches_its_handlers(bus: Bus, run_service: RunService) -> None:
    seen: list[str] = []
    service: QunService[QunSettings, None] = QunService("zones", version="0", settings=QunSettings)

    @service.command(ChatCommand(name="now", keywords_en=["now"]))
    async def now(event: MessageReceived, ctx: Context[QunSettings, None], args: str) -> None:
        seen.append(ctx.zone.key)

    async with run_service(service, timezone="Asia/Shanghai") as runtime:
        await runtime.rooms.set_timezone(ROOM.id, "Europe/Berlin")
        await bus.publish_event(message("now"))
        await bus.consumer_settled("zones")
        await bus.publish_event(message("now", room=None))
        await bus.consumer_settled("zones")
    assert seen == ["Europe/Berlin", "Asia/Shanghai"]  # the room's override; the default for a direct message
