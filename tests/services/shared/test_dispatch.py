"""Every rule of the dispatcher, against a real nats-server and redis-server."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from redis.asyncio import Redis

from schemas import ChatCommand, DeadLettered, MessageReceived, RemoveFromRoom, RoomJoined, SayText
from services.shared import Bilingual, Context, QunService, QunSettings
from tests.conftest import Bus, RunService
from tests.factories import ALICE, BOT, ROOM, joined, message

Ctx = Context[QunSettings, Redis]


@contextlib.asynccontextmanager
async def just_redis(_settings: QunSettings, redis: Redis) -> AsyncIterator[Redis]:
    yield redis


def probe_service(attempts: dict[str, int] | None = None) -> QunService[QunSettings, Redis]:
    """A service whose handlers record what they saw and misbehave on request."""
    service: QunService[QunSettings, Redis] = QunService(
        "probe", version="0", settings=QunSettings, deps=just_redis, publishes=(SayText, RemoveFromRoom)
    )
    attempts = {} if attempts is None else attempts

    @service.command(ChatCommand(name="echo", keywords_zh=["回声"], keywords_en=["echo"]))
    async def echo(event: MessageReceived, ctx: Ctx, args: str) -> None:
        await ctx.reply(Bilingual(zh=f"回声：{args}", en=f"echo: {args}"))

    @service.command(ChatCommand(name="kick", keywords_en=["kick"], admin_only=True))
    async def kick(event: MessageReceived, ctx: Ctx, args: str) -> None:
        await ctx.send(RemoveFromRoom(room_id=ROOM.id, contact_id=args))

    @service.command(ChatCommand(name="flaky", keywords_en=["flaky"]))
    async def flaky(event: MessageReceived, ctx: Ctx, args: str) -> None:
        attempts[event.id] = attempts.get(event.id, 0) + 1
        await ctx.reply("answered")  # published, then the handler fails: the retry re-publishes the same id
        if attempts[event.id] < int(args or "1000"):
            raise RuntimeError("storage unavailable")

    @service.command(ChatCommand(name="detour", keywords_en=["detour"]))
    async def detour(event: MessageReceived, ctx: Ctx, args: str) -> None:
        attempts[event.id] = attempts.get(event.id, 0) + 1
        if attempts[event.id] == 1:  # the first attempt says something else, then fails
            await ctx.reply("warning")
            raise RuntimeError("storage unavailable")
        await ctx.reply("answer")

    @service.on(RoomJoined)
    async def count_joins(event: RoomJoined, ctx: Ctx) -> None:
        await ctx.deps.incr("joins")
        await ctx.reply(zh="欢迎", en="welcome")

    return service


async def dead_letters(bus: Bus, count: int = 1) -> list[DeadLettered]:
    return await bus.wait_for("qun.dlq.probe", DeadLettered, count=count)


async def test_a_command_gets_a_reply_in_its_language(bus: Bus, run_service: RunService) -> None:
    async with run_service(probe_service()):
        await bus.publish_event(message("回声 你好"))
        await bus.publish_event(message("ECHO hi"))
        replies = await bus.says(count=2)
    assert sorted(r.text for r in replies) == ["echo: hi", "回声：你好"]


async def test_invalid_json_is_dead_lettered_at_once_and_the_service_goes_on(
    bus: Bus, run_service: RunService
) -> None:
    async with run_service(probe_service()):
        await bus.publish_raw(f"qun.evt.{BOT}.message", b"{not json")
        [letter] = await dead_letters(bus)
        await bus.publish_event(message("echo still alive"))
        await bus.says(lambda r: r.text == "echo: still alive")
    assert (letter.subject, letter.deliveries, letter.payload) == (f"qun.evt.{BOT}.message", 1, "{not json")
    assert letter.error.startswith("invalid payload: not JSON")


async def test_wrong_schema_and_unknown_version_are_dead_lettered(bus: Bus, run_service: RunService) -> None:
    async with run_service(probe_service()):
        await bus.publish_raw(f"qun.evt.{BOT}.message", b'{"id": "x", "body": "echo"}')
        future = message("echo from the future").model_dump(mode="json") | {"schema_version": 2}
        await bus.publish_raw(f"qun.evt.{BOT}.message", json.dumps(future).encode())
        letters = await dead_letters(bus, count=2)
    errors = sorted(letter.error for letter in letters)
    assert "bot_id: Field required" in errors[0]
    assert "unknown schema_version 2" in errors[1]
    assert bus.commands(SayText) == []


async def test_a_handler_that_always_fails_is_dead_lettered_after_max_deliver(
    bus: Bus, run_service: RunService
) -> None:
    async with run_service(probe_service(), max_deliver=3):
        event = message("flaky")
        await bus.publish_event(event)
        [letter] = await dead_letters(bus)
    assert letter.deliveries == 3
    assert letter.error == "RuntimeError: storage unavailable"
    assert MessageReceived.model_validate_json(letter.payload) == event


async def test_a_retried_handler_sends_its_reply_once(bus: Bus, run_service: RunService) -> None:
    attempts: dict[str, int] = {}
    async with run_service(probe_service(attempts)):
        event = message("flaky 3")  # fails twice, succeeds on the third delivery
        await bus.publish_event(event)
        await bus.consumer_settled("probe")
        stored = await bus.js.stream_info("QUN_CMD")
    assert attempts == {event.id: 3}
    assert stored.state.messages == 1  # three publishes of one command id, stored once


async def test_a_retry_on_another_path_is_not_taken_for_a_duplicate(
    bus: Bus, run_service: RunService
) -> None:
    async with run_service(probe_service()):
        await bus.publish_event(message("detour"))
        await bus.says(lambda r: r.text == "answer")
        await bus.consumer_settled("probe")
        stored = await bus.js.stream_info("QUN_CMD")
    assert stored.state.messages == 2  # "warning" and "answer": different commands, different ids


async def test_stale_events_change_state_but_get_no_reply(bus: Bus, run_service: RunService) -> None:
    async with run_service(probe_service(), max_event_age_s=0.2) as runtime:
        await runtime.stop()  # the service is down while an event waits on the bus
        await bus.publish_event(joined("Carol"))
        waited = asyncio.get_running_loop().time() + 0.3
        while (
            asyncio.get_running_loop().time() < waited
        ):  # the one wait that must be real time: the event ages
            await asyncio.sleep(0.05)
        await runtime.start()
        await bus.consumer_settled("probe")
        assert await runtime.redis.get("joins") == "1"
        runtime.clock.offset = timedelta(days=3)  # the service clock does not make events stale
        await bus.publish_event(joined("Dave"))
        [welcome] = await bus.says()
    assert welcome.text == "欢迎"


async def test_own_messages_and_switched_off_rooms_are_not_delivered(
    bus: Bus, run_service: RunService
) -> None:
    async with run_service(probe_service()) as runtime:
        await bus.publish_event(message("echo me", from_self=True))
        await runtime.rooms.set_service_enabled(ROOM.id, "probe", enabled=False)
        await bus.publish_event(message("echo off"))
        await bus.publish_event(message("echo dm", room=None))
        [reply] = await bus.says()
        await bus.consumer_settled("probe")
    assert reply.text == "echo: dm"
    assert len(bus.commands(SayText)) == 1


@pytest.mark.parametrize(
    ("talker_id", "admins", "room_admin", "allowed"),
    [
        ("alice", "", False, False),
        ("alice", "alice", False, True),  # QUN_ADMINS
        ("owner", "", False, True),  # the room owner
        ("alice", "", True, True),  # added as admin of this room
    ],
)
async def test_admin_only_commands_are_checked_in_one_place(
    bus: Bus, run_service: RunService, talker_id: str, admins: str, room_admin: bool, allowed: bool
) -> None:
    async with run_service(probe_service(), admins=admins) as runtime:
        if room_admin:
            await runtime.rooms.add_admin(ROOM.id, talker_id)
        await bus.publish_event(message("kick bob", talker=ALICE.model_copy(update={"id": talker_id})))
        await bus.consumer_settled("probe")
        await bus.wait_for("qun.cmd.*", SayText if not allowed else RemoveFromRoom)
    assert [c.contact_id for c in bus.commands(RemoveFromRoom)] == (["bob"] if allowed else [])
    if not allowed:
        assert "admins only" in bus.commands(SayText)[0].text


async def test_a_slow_handler_is_kept_alive_and_not_redelivered_meanwhile(
    bus: Bus, run_service: RunService
) -> None:
    calls: list[str] = []
    service: QunService[QunSettings, None] = QunService("slow", version="0", settings=QunSettings)

    @service.command(ChatCommand(name="slow", keywords_en=["slow"]))
    async def slow(event: MessageReceived, ctx: Ctx, args: str) -> None:
        calls.append(event.id)
        deadline = asyncio.get_running_loop().time() + 3  # three ack waits: real time is the point here
        while asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.05)
        await ctx.reply("done")

    async with run_service(service, ack_wait_s=1):
        await bus.publish_event(message("slow"))
        await bus.says(lambda r: r.text == "done", timeout=10)
        await bus.consumer_settled("slow")
    assert len(calls) == 1  # without in-progress acks JetStream would have redelivered it after 1 s


async def test_messages_of_one_room_are_handled_in_arrival_order(bus: Bus, run_service: RunService) -> None:
    """Regression: the room's queue was forgotten while a released lock still had waiters, so later messages
    overtook earlier ones."""
    seen: list[str] = []
    service: QunService[QunSettings, Redis] = QunService("order", version="0", settings=QunSettings)

    @service.on(MessageReceived)
    async def record(event: MessageReceived, ctx: Ctx) -> None:
        await asyncio.sleep(0.001 * (len(seen) % 3))  # uneven handler times
        seen.append(event.body)

    async with run_service(service):
        for n in range(30):
            await bus.publish_event(message(f"m{n}", mentions_bot=False))
        await bus.consumer_settled("order")
    assert seen == [f"m{n}" for n in range(30)]


async def test_an_event_a_handler_marks_secret_is_erased_from_the_stream(
    bus: Bus, run_service: RunService
) -> None:
    service: QunService[QunSettings, Redis] = QunService("vault", version="0", settings=QunSettings)

    @service.command(ChatCommand(name="secret", keywords_en=["secret"]))
    async def secret(event: MessageReceived, ctx: Ctx, args: str) -> None:
        ctx.erase_event()
        await ctx.reply("kept safe")

    async with run_service(service):
        event = message("secret hunter2hunter2", room=None)
        await bus.publish_event(event)
        await bus.says()
        await bus.consumer_settled("vault")
    info = await bus.js.stream_info("QUN_EVT")
    assert info.state.messages == 0  # the only event, with the password in it, is gone
