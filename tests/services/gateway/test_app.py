"""The gateway over real NATS + Redis, on the simulated WeChat world (python-wechaty in between)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY

from schemas import (
    AcceptFriendship,
    AddToRoom,
    ChangeRoomTopic,
    DeadLettered,
    FriendshipRequested,
    GatewayErrored,
    GatewayReady,
    GatewayStatus,
    LoggedIn,
    LoggedOut,
    MessageReceived,
    RemoveFromRoom,
    RoomJoined,
    RoomLeft,
    RoomTopicChanged,
    SayText,
    ScanUpdated,
    subjects,
)
from services.gateway._wechaty_compat import wechaty_puppet
from services.gateway.app import make_service
from services.gateway.gateway import Gateway, free_port
from services.gateway.parsing import MENTION_SEPARATOR
from services.gateway.settings import GatewaySettings
from services.shared import QunService, Runtime
from services.simulator.puppet import SimulatorPuppet
from services.simulator.world import QuotedText, SimulatorWorld
from tests.conftest import Bus, RunService

EventLoginPayload = wechaty_puppet.EventLoginPayload
BOT = "qunbot"
FAST = {
    "room_per_second": 1000.0,
    "room_burst": 100,
    "account_per_minute": 60000.0,
    "account_burst": 100,
    "jitter_s": 0.0,
    "retry_base_s": 0.05,
    "ready_timeout_s": 0.2,
}


class Chat:
    """The simulated world with a room: Alice (owner), Bob, and the bot."""

    def __init__(self) -> None:
        self.world = SimulatorWorld(bot_id=BOT, bot_name="QunBot", seed=False)
        self.alice = self.world.add_contact("Alice").id
        self.bob = self.world.add_contact("Bob").id
        self.room = self.world.add_room(
            "开源群", owner_id=self.alice, member_ids=[self.alice, self.bob], aliases={BOT: "小助手"}
        ).id

    def service(self) -> QunService[GatewaySettings, Gateway]:
        @asynccontextmanager
        async def simulated(_: GatewaySettings) -> AsyncIterator[Any]:
            yield SimulatorPuppet(self.world)

        return make_service(simulated)


async def eventually(check: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


@asynccontextmanager
async def running(
    chat: Chat, run_service: RunService, bus: Bus, **settings: Any
) -> AsyncIterator[Runtime[Any, Any]]:
    async with run_service(chat.service(), **{**FAST, **settings}) as runtime:
        await bus.wait_for(f"qun.evt.{BOT}.login", LoggedIn)
        await eventually(lambda: runtime.context.deps.outbound is not None)
        yield runtime


def sent_texts(chat: Chat) -> list[str]:
    return [message.text for message in chat.world.bot_sent()]


async def test_login_and_ready_are_published(run_service: RunService, bus: Bus) -> None:
    chat = Chat()
    async with running(chat, run_service, bus):
        login = (await bus.wait_for(f"qun.evt.{BOT}.login", LoggedIn))[0]
        await bus.wait_for(f"qun.evt.{BOT}.ready", GatewayReady)

    assert (login.bot_id, login.name) == (BOT, "QunBot")


async def test_a_quoted_reply_mentioning_the_bot_by_its_room_alias(run_service: RunService, bus: Bus) -> None:
    chat = Chat()
    async with running(chat, run_service, bus):
        chat.world.say(
            chat.room,
            chat.alice,
            "标记 会议",
            mention_ids=[BOT],
            quote=QuotedText(talker_name="Bob", text="周四晚8点\n开会"),
        )
        event = (await bus.wait_for(f"qun.evt.{BOT}.message", MessageReceived))[0]

    assert event.text == f"@小助手{MENTION_SEPARATOR}标记 会议"
    assert event.body == "标记 会议"
    assert event.quote is not None
    assert (event.quote.talker_name, event.quote.text) == ("Bob", "周四晚8点\n开会")
    assert event.mentions_bot
    assert BOT in event.mention_ids
    assert event.room is not None
    assert (event.room.id, event.room.topic, event.room.owner_id, event.room.member_count) == (
        chat.room,
        "开源群",
        chat.alice,
        3,
    )
    assert (event.talker.id, event.talker.name) == (chat.alice, "Alice")


async def test_a_direct_message_has_no_room(run_service: RunService, bus: Bus) -> None:
    chat = Chat()
    async with running(chat, run_service, bus):
        chat.world.direct_message(chat.bob, "ding")
        event = (await bus.wait_for(f"qun.evt.{BOT}.message", MessageReceived))[0]

    assert (event.room, event.body, event.talker.id) == (None, "ding", chat.bob)


async def test_say_with_a_mention_reaches_wechat_as_wechat_renders_it(
    run_service: RunService, bus: Bus
) -> None:
    chat = Chat()
    async with running(chat, run_service, bus):
        say = SayText(room_id=chat.room, text="dong", mention_ids=[chat.alice])
        await bus.js.publish(subjects.command(BOT, SayText), say.model_dump_json().encode())
        await eventually(lambda: bool(chat.world.bot_sent()))

    sent = chat.world.bot_sent()[0]
    assert sent.text == f"@Alice{MENTION_SEPARATOR}dong"
    assert sent.mention_ids == (chat.alice,)


async def test_the_bots_own_messages_are_not_published_by_default(run_service: RunService, bus: Bus) -> None:
    chat = Chat()
    async with running(chat, run_service, bus):
        await bus.js.publish(
            subjects.command(BOT, SayText), SayText(room_id=chat.room, text="hi").model_dump_json().encode()
        )
        await eventually(lambda: bool(chat.world.bot_sent()))
        chat.world.say(
            chat.room, chat.bob, "after"
        )  # published after the bot's message, so it was seen and skipped
        messages = await bus.wait_for(f"qun.evt.{BOT}.message", MessageReceived)

    assert [message.body for message in messages] == ["after"]


async def test_the_bots_own_messages_can_be_published_marked_from_self(
    run_service: RunService, bus: Bus
) -> None:
    chat = Chat()
    async with running(chat, run_service, bus, publish_self=True):
        await bus.js.publish(
            subjects.command(BOT, SayText), SayText(room_id=chat.room, text="hi").model_dump_json().encode()
        )
        own = await bus.wait_for(f"qun.evt.{BOT}.message", MessageReceived, lambda event: event.from_self)

    assert own[0].text == "hi"


async def test_the_same_command_id_is_carried_out_once(run_service: RunService, bus: Bus) -> None:
    chat = Chat()
    say = SayText(id="cmd-once", room_id=chat.room, text="only once")
    async with running(chat, run_service, bus):
        # Different Nats-Msg-Ids get past JetStream's dedupe: the gateway's own dedupe must catch the repeat.
        await bus.publish_raw(subjects.command(BOT, SayText), say.model_dump_json().encode(), msg_id="a")
        await eventually(lambda: bool(chat.world.bot_sent()))
        await bus.publish_raw(subjects.command(BOT, SayText), say.model_dump_json().encode(), msg_id="b")
        await bus.publish_raw(
            subjects.command(BOT, SayText),
            SayText(room_id=chat.room, text="marker").model_dump_json().encode(),
        )
        await eventually(lambda: "marker" in sent_texts(chat))

    assert sent_texts(chat) == ["only once", "marker"]


async def test_the_same_wechat_message_is_published_once(run_service: RunService, bus: Bus) -> None:
    chat = Chat()
    async with running(chat, run_service, bus) as runtime:
        message = chat.world.say(chat.room, chat.bob, "hello")
        await bus.wait_for(f"qun.evt.{BOT}.message", MessageReceived)
        gateway: Gateway = runtime.context.deps
        assert gateway.wechaty is not None
        payload = type("Payload", (), {"message_id": message.id})()
        await gateway.handle_event("message", payload, gateway.wechaty.puppet)  # the puppet repeats itself
        chat.world.say(chat.room, chat.bob, "marker")
        await bus.wait_for(f"qun.evt.{BOT}.message", MessageReceived, lambda event: event.body == "marker")
        # What the services read is the stream (a repeat racing the first publish is also dropped by its
        # Nats-Msg-Id there), not what a core subscriber happened to see.
        stored = await bus.js.stream_info("QUN_EVT", subjects_filter=f"qun.evt.{BOT}.message")

    assert stored.state.subjects == {f"qun.evt.{BOT}.message": 2}


async def test_long_text_is_split_on_lines_and_the_mention_goes_first(
    run_service: RunService, bus: Bus
) -> None:
    chat = Chat()
    text = "\n".join(f"第{index}行 " + "字" * 40 for index in range(6))
    async with running(chat, run_service, bus, max_message_chars=100):
        say = SayText(room_id=chat.room, text=text, mention_ids=[chat.bob])
        await bus.js.publish(subjects.command(BOT, SayText), say.model_dump_json().encode())
        await eventually(lambda: len(chat.world.bot_sent()) == 3)

    sent = chat.world.bot_sent()
    assert sent[0].text.startswith(f"@Bob{MENTION_SEPARATOR}第0行")
    assert [message.mention_ids for message in sent] == [(chat.bob,), (), ()]
    assert "\n".join(message.text for message in sent).removeprefix(f"@Bob{MENTION_SEPARATOR}") == text


async def test_rooms_are_served_fairly_under_the_rate_limit(run_service: RunService, bus: Bus) -> None:
    chat = Chat()
    quiet = chat.world.add_room("安静群", owner_id=chat.bob, member_ids=[chat.bob]).id
    async with running(chat, run_service, bus, room_per_second=20.0, room_burst=1, max_in_flight=10):
        for index in range(4):
            busy = SayText(room_id=chat.room, text=f"busy {index}")
            await bus.js.publish(subjects.command(BOT, SayText), busy.model_dump_json().encode())
        await bus.js.publish(
            subjects.command(BOT, SayText), SayText(room_id=quiet, text="quiet").model_dump_json().encode()
        )
        await eventually(lambda: len(chat.world.bot_sent()) == 5)

    order = sent_texts(chat)
    assert order.index("quiet") < order.index("busy 3")
    assert [text for text in order if text.startswith("busy")] == ["busy 0", "busy 1", "busy 2", "busy 3"]


async def test_remove_from_room_reaches_wechat_and_the_leave_is_published(
    run_service: RunService, bus: Bus
) -> None:
    chat = Chat()
    chat.world.add_room("管理群", owner_id=BOT, member_ids=[chat.alice, chat.bob], room_id="managed@chatroom")
    async with running(chat, run_service, bus):
        remove = RemoveFromRoom(room_id="managed@chatroom", contact_id=chat.bob, reason="test")
        await bus.js.publish(subjects.command(BOT, RemoveFromRoom), remove.model_dump_json().encode())
        left = await bus.wait_for(f"qun.evt.{BOT}.room.leave", RoomLeft)

    assert chat.bob not in chat.world.room("managed@chatroom").member_ids
    assert [leaver.id for leaver in left[0].leavers] == [chat.bob]
    assert left[0].remover is not None
    assert left[0].remover.id == BOT


async def test_a_big_room_gets_an_invitation_instead_of_a_direct_add(
    run_service: RunService, bus: Bus
) -> None:
    chat = Chat()
    crowd = [chat.world.add_contact(f"member{index}").id for index in range(45)]
    big = chat.world.add_room("大群", owner_id=BOT, member_ids=crowd).id
    carol = chat.world.add_contact("Carol").id
    async with running(chat, run_service, bus):
        add = AddToRoom(room_id=big, contact_id=carol)
        await bus.js.publish(subjects.command(BOT, AddToRoom), add.model_dump_json().encode())
        await eventually(lambda: bool(chat.world.invitations()))

    invitation = chat.world.invitations()[0]
    assert (invitation.room_id, invitation.contact_id) == (big, carol)


async def test_join_and_topic_change_are_published(run_service: RunService, bus: Bus) -> None:
    chat = Chat()
    async with running(chat, run_service, bus):
        chat.world.join(chat.room, name="Dave")
        joined = (await bus.wait_for(f"qun.evt.{BOT}.room.join", RoomJoined))[0]
        chat.world.change_topic(chat.room, "新群名", changer_id=chat.alice)
        topic = (await bus.wait_for(f"qun.evt.{BOT}.room.topic", RoomTopicChanged))[0]

    assert [invitee.name for invitee in joined.invitees] == ["Dave"]
    assert joined.inviter is not None
    assert joined.inviter.id == chat.alice
    assert joined.room.member_count == 4
    assert (topic.room.topic, topic.old_topic) == ("新群名", "开源群")


async def test_a_command_that_keeps_failing_is_dead_lettered(run_service: RunService, bus: Bus) -> None:
    chat = Chat()
    async with running(chat, run_service, bus, max_deliver=2):
        doomed = SayText(contact_id="wxid_nobody", text="hello?")
        await bus.js.publish(subjects.command(BOT, SayText), doomed.model_dump_json().encode())
        letters = await bus.wait_for("qun.dlq.gateway", DeadLettered)

    assert letters[0].subject == subjects.command(BOT, SayText)
    assert letters[0].deliveries == 2
    assert chat.world.bot_sent() == []


async def test_an_invalid_command_is_dead_lettered_at_once(run_service: RunService, bus: Bus) -> None:
    chat = Chat()
    async with running(chat, run_service, bus):
        await bus.publish_raw(subjects.command(BOT, SayText), b'{"text": ""}')
        letters = await bus.wait_for("qun.dlq.gateway", DeadLettered)

    assert letters[0].deliveries == 1
    assert "invalid payload" in letters[0].error


async def test_status_answers_with_login_and_queues(run_service: RunService, bus: Bus) -> None:
    chat = Chat()
    async with running(chat, run_service, bus):
        await bus.js.publish(
            subjects.command(BOT, SayText), SayText(room_id=chat.room, text="x").model_dump_json().encode()
        )
        await eventually(lambda: bool(chat.world.bot_sent()))
        reply = await bus.connection.request(subjects.gateway_status(BOT), b"", timeout=2)

    status = GatewayStatus.model_validate_json(reply.data)
    assert (status.bot_id, status.logged_in, status.name) == (BOT, True, "QunBot")
    assert status.sent == 1
    assert status.outbound_queue == {}


async def test_status_is_also_answered_on_the_configured_id(run_service: RunService, bus: Bus) -> None:
    chat = Chat()
    async with running(chat, run_service, bus):
        reply = await bus.connection.request(subjects.gateway_status("pending"), b"", timeout=2)

    assert GatewayStatus.model_validate_json(reply.data).bot_id == BOT


class FlakyPuppet(SimulatorPuppet):
    """A puppet service that is unreachable for the first `failures` connection attempts."""

    def __init__(self, world: SimulatorWorld, failures: int) -> None:
        super().__init__(world)
        self.failures = failures

    async def start(self) -> None:
        if self.failures > 0:
            self.failures -= 1
            raise ConnectionRefusedError("puppet service unavailable")
        await super().start()


async def test_an_unreachable_puppet_is_retried_with_backoff_until_login(
    run_service: RunService, bus: Bus
) -> None:
    chat = Chat()

    @asynccontextmanager
    async def flaky(_: GatewaySettings) -> AsyncIterator[Any]:
        yield FlakyPuppet(chat.world, failures=2)

    async with run_service(make_service(flaky), **FAST, reconnect_min_s=0.01, reconnect_max_s=0.05):
        errors = await bus.wait_for("qun.evt.pending.error", GatewayErrored, count=2)
        await bus.wait_for(f"qun.evt.{BOT}.login", LoggedIn)
        chat.world.say(chat.room, chat.bob, "back")
        message = (await bus.wait_for(f"qun.evt.{BOT}.message", MessageReceived))[0]

    assert all("puppet service unavailable" in error.message for error in errors)
    assert message.body == "back"


async def test_a_puppet_service_that_is_not_there_is_reported_and_retried(
    run_service: RunService, bus: Bus
) -> None:
    closed_port = free_port()
    settings = {"puppet": "service", "puppet_service_endpoint": f"127.0.0.1:{closed_port}"}
    async with run_service(make_service(), **FAST, **settings, reconnect_min_s=0.01, reconnect_max_s=0.05):
        errors = await bus.wait_for("qun.evt.pending.error", GatewayErrored, count=3)

    assert "ConnectionRefusedError" in errors[0].message


async def test_first_login_publishes_the_qr_code_and_serves_it_on_qr(
    run_service: RunService, bus: Bus
) -> None:
    chat = Chat()
    puppet = SimulatorPuppet(chat.world, require_scan=True)

    @asynccontextmanager
    async def needs_scan(_: GatewaySettings) -> AsyncIterator[Any]:
        yield puppet

    async with run_service(make_service(needs_scan), **FAST, show_qr=False) as runtime:
        scan = (await bus.wait_for("qun.evt.pending.scan", ScanUpdated))[0]
        transport = httpx.ASGITransport(app=runtime.http_app())
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            waiting = await client.get("/qr")
            await puppet.confirm_scan()
            await bus.wait_for(f"qun.evt.{BOT}.login", LoggedIn)
            after = await client.get("/qr")

    assert scan.status == "waiting"
    assert scan.qrcode
    assert scan.url is not None
    assert scan.url.startswith("https://")
    assert waiting.status_code == 200
    assert "<svg" in waiting.text
    assert "<svg" not in after.text
    assert "logged in" in after.text


class SilentPuppet(SimulatorPuppet):
    """Logs in but never says `ready`, like wechaty-puppet-mock."""

    async def login(self, user_id: str) -> None:
        self._logged_in_as = user_id
        self._events.emit("login", EventLoginPayload(contact_id=user_id))


async def test_ready_is_published_after_a_timeout_when_the_puppet_never_says_it(
    run_service: RunService, bus: Bus
) -> None:
    chat = Chat()

    @asynccontextmanager
    async def silent(_: GatewaySettings) -> AsyncIterator[Any]:
        yield SilentPuppet(chat.world)

    async with run_service(make_service(silent), **{**FAST, "ready_timeout_s": 0.3}) as runtime:
        login = (await bus.wait_for(f"qun.evt.{BOT}.login", LoggedIn))[0]
        ready = (await bus.wait_for(f"qun.evt.{BOT}.ready", GatewayReady))[0]
        gateway: Gateway = runtime.context.deps

    assert (ready.timestamp - login.timestamp).total_seconds() >= 0.3
    assert gateway.rooms == 1


async def test_a_friend_request_is_published_and_can_be_accepted(run_service: RunService, bus: Bus) -> None:
    chat = Chat()
    async with running(chat, run_service, bus):
        request = chat.world.request_friendship(name="Eve", hello="加群 qunbus")
        event = (await bus.wait_for(f"qun.evt.{BOT}.friendship", FriendshipRequested))[0]
        accept = AcceptFriendship(friendship_id=event.friendship_id)
        await bus.js.publish(subjects.command(BOT, AcceptFriendship), accept.model_dump_json().encode())
        await eventually(lambda: chat.world.friend_request(request.id).accepted)

    assert (event.friendship_id, event.contact.name, event.hello) == (request.id, "Eve", "加群 qunbus")


async def test_change_room_topic_reaches_wechat(run_service: RunService, bus: Bus) -> None:
    chat = Chat()
    async with running(chat, run_service, bus):
        rename = ChangeRoomTopic(room_id=chat.room, topic="qunbus 用户群")
        await bus.js.publish(subjects.command(BOT, ChangeRoomTopic), rename.model_dump_json().encode())
        changed = (await bus.wait_for(f"qun.evt.{BOT}.room.topic", RoomTopicChanged))[0]

    assert chat.world.room(chat.room).topic == "qunbus 用户群"
    assert changed.changer is not None
    assert changed.changer.id == BOT


async def test_logout_is_published_and_commands_wait_for_the_next_login(
    run_service: RunService, bus: Bus
) -> None:
    chat = Chat()
    puppet = SimulatorPuppet(chat.world)

    @asynccontextmanager
    async def simulated(_: GatewaySettings) -> AsyncIterator[Any]:
        yield puppet

    async with run_service(make_service(simulated), **FAST) as runtime:
        gateway: Gateway = runtime.context.deps
        await bus.wait_for(f"qun.evt.{BOT}.login", LoggedIn)
        await eventually(lambda: gateway.outbound is not None)
        await puppet.logout()
        await bus.wait_for(f"qun.evt.{BOT}.logout", LoggedOut)
        await eventually(lambda: gateway.outbound is None)
        say = SayText(room_id=chat.room, text="after login")
        await bus.js.publish(subjects.command(BOT, SayText), say.model_dump_json().encode())
        await puppet.login(BOT)
        await eventually(lambda: "after login" in sent_texts(chat))

    assert sent_texts(chat) == ["after login"]


class WirePuppet(SimulatorPuppet):
    """Hands friendship types over as plain ints, as python-wechaty's service puppet does."""

    async def friendship_payload(self, friendship_id: str, payload: Any = None) -> Any:
        friendship = await super().friendship_payload(friendship_id, payload)
        friendship.type = int(friendship.type)
        return friendship


async def test_a_friend_request_whose_type_comes_as_a_plain_int_is_published(
    run_service: RunService, bus: Bus
) -> None:
    chat = Chat()

    @asynccontextmanager
    async def over_the_wire(_: GatewaySettings) -> AsyncIterator[Any]:
        yield WirePuppet(chat.world)

    async with run_service(make_service(over_the_wire), **FAST):
        await bus.wait_for(f"qun.evt.{BOT}.login", LoggedIn)
        chat.world.request_friendship(name="Eve", hello="hi")
        event = (await bus.wait_for(f"qun.evt.{BOT}.friendship", FriendshipRequested))[0]

    assert event.contact.name == "Eve"


async def test_outbound_queue_and_rate_limit_waits_are_prometheus_metrics(
    run_service: RunService, bus: Bus
) -> None:
    chat = Chat()
    async with running(chat, run_service, bus, room_per_second=0.01, room_burst=1):
        for n in range(3):
            say = SayText(room_id=chat.room, text=f"第{n}条")
            await bus.js.publish(subjects.command(BOT, SayText), say.model_dump_json().encode())
        await eventually(lambda: len(chat.world.bot_sent()) >= 1)
        await eventually(
            lambda: (REGISTRY.get_sample_value("qun_gateway_outbound_queue", {"bot_id": BOT}) or 0) >= 1
        )
        waits = REGISTRY.get_sample_value("qun_gateway_rate_limit_waits_total", {"bot_id": BOT})
        sent = REGISTRY.get_sample_value("qun_gateway_sent_total", {"bot_id": BOT})
    assert waits is not None
    assert waits >= 1
    assert sent == 1
    assert (
        REGISTRY.get_sample_value("qun_gateway_outbound_queue", {"bot_id": BOT}) is None
    )  # unregistered on stop


async def test_on_the_simulator_the_page_admin_panel_is_fed_from_the_bus(
    run_service: RunService, bus: Bus
) -> None:
    chat = Chat()
    async with running(chat, run_service, bus):
        assert chat.world.admin_source is not None
        chat.world.direct_message(chat.bob, "hello")
        await bus.wait_for(f"qun.evt.{BOT}.message", MessageReceived)
        snapshot = await chat.world.admin_source()
    assert "gateway" in str(snapshot["services"])
    assert "hello" in str(snapshot["events"])


async def test_logged_in_without_a_command_loop_is_unhealthy(run_service: RunService, bus: Bus) -> None:
    chat = Chat()
    async with running(chat, run_service, bus) as runtime:
        gateway = runtime.context.deps
        assert gateway.healthy()
        task = gateway._outbound_task
        assert task is not None
        task.cancel()  # as if the loop had died
        await asyncio.gather(task, return_exceptions=True)
        assert not gateway.healthy()


async def test_the_puppet_service_token_never_reaches_a_log(
    run_service: RunService, bus: Bus, caplog: pytest.LogCaptureFixture
) -> None:
    """python-wechaty logs `token<…>` at WARNING whenever an endpoint and a token are both set (the documented
    setup): the gateway has it masked."""
    caplog.set_level(logging.DEBUG)
    token = "insecure_" + "s3cret" * 6

    async def silent(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    listener = await asyncio.start_server(silent, "127.0.0.1", 0)  # the probe gets through; gRPC does not
    port = listener.sockets[0].getsockname()[1]
    settings = {
        "puppet": "service",
        "puppet_service_endpoint": f"127.0.0.1:{port}",
        "puppet_service_token": token,
        "reconnect_min_s": 0.01,
        "reconnect_max_s": 0.05,
    }
    try:
        async with run_service(make_service(), **FAST, **settings):
            await eventually(lambda: "there are endpoint<" in caplog.text, timeout=10)
    finally:
        listener.close()
        await listener.wait_closed()
    assert "token<***>" in caplog.text
    assert token not in caplog.text
