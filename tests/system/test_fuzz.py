"""Fuzz every service's handlers through the real dispatcher and a real Redis (hypothesis).

A valid event must never make a handler raise (that would end in retries and a dead letter); a malformed payload
must be dead-lettered. Publishing is recorded instead of sent: the bus itself is covered by the other tests.
"""

from __future__ import annotations

import asyncio
import importlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis.asyncio import Redis

from schemas import (
    Command,
    Contact,
    ContactRef,
    Event,
    FriendshipRequested,
    MessageReceived,
    Quote,
    Room,
    RoomJoined,
    RoomLeft,
    RoomTopicChanged,
    ServiceInfo,
    subjects,
)
from services.shared import AppContext, Clock, QunService, catalog
from services.shared.consumer import Permanent
from services.shared.dispatch import Dispatcher
from services.shared.intents import ClaimBoard
from services.shared.notify import Notifications
from services.shared.quotas import QuotaLimits, ReplyQuota
from services.shared.registry import LiveRegistry
from services.shared.rooms import AdminCheck, RoomStore
from tools.servers import free_port


def all_services() -> list[Any]:
    examples = [importlib.import_module("examples.dingdong.app").service]
    return [pytest.param(service, id=service.name) for service in [*examples, *catalog.event_services()]]


ids = st.sampled_from(["alice", "bob", "owner", "bot", "wxid_x"]) | st.text(min_size=1, max_size=12)
names = st.text(max_size=20)
rooms = st.builds(
    Room,
    id=st.sampled_from(["r1@chatroom", "r2@chatroom"]) | st.text(min_size=1, max_size=12),
    topic=names,
    owner_id=st.none() | ids,
    member_count=st.none() | st.integers(0, 600),
)
refs = st.builds(ContactRef, id=ids, name=names)
when = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 1, 1), timezones=st.just(UTC))
common = {"id": st.uuids().map(lambda u: u.hex), "bot_id": st.just("bot"), "timestamp": when}


def bodies(service: QunService[Any, Any]) -> st.SearchStrategy[str]:
    keywords = [keyword for command in service.chat_commands for keyword in command.keywords] or ["x"]
    return st.text(max_size=80) | st.builds(
        lambda keyword, rest: f"{keyword} {rest}", st.sampled_from(keywords), st.text(max_size=60)
    )


def events(service: QunService[Any, Any]) -> st.SearchStrategy[Event]:
    messages = st.builds(
        MessageReceived,
        **common,
        type=st.sampled_from(["text", "image"]),
        text=st.text(max_size=40),
        body=bodies(service),
        talker=st.builds(Contact, id=ids, name=names, alias=st.none() | names),
        room=st.none() | rooms,
        mention_ids=st.lists(ids, max_size=3),
        mentions_bot=st.booleans(),
        quote=st.none() | st.builds(Quote, talker_name=names, text=st.text(max_size=60)),
        from_self=st.booleans(),
    )
    others: dict[type[Event], st.SearchStrategy[Event]] = {
        RoomJoined: st.builds(
            RoomJoined, **common, room=rooms, invitees=st.lists(refs, max_size=4), inviter=st.none() | refs
        ),
        RoomLeft: st.builds(
            RoomLeft, **common, room=rooms, leavers=st.lists(refs, max_size=3), remover=st.none() | refs
        ),
        RoomTopicChanged: st.builds(
            RoomTopicChanged, **common, room=rooms, old_topic=names, changer=st.none() | refs
        ),
        FriendshipRequested: st.builds(
            FriendshipRequested, **common, friendship_id=ids, contact=refs, hello=st.text(max_size=40)
        ),
    }
    consumed = set(service.event_types.values())
    return st.one_of(messages, *(strategy for kind, strategy in others.items() if kind in consumed))


@dataclass(eq=False)  # compared by identity, like a real message
class FakeDelivery:
    """What the dispatcher reads of a pulled message."""

    subject: str
    data: bytes
    headers: dict[str, str] = field(default_factory=dict)
    deliveries: int = 1
    stream_sequence: int | None = 1
    published_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def age_s(self, now: datetime | None = None) -> float:
        return ((now or datetime.now(UTC)) - self.published_at).total_seconds()


@dataclass
class Recorder:
    """Stands in for the bus connection: records what the handlers publish."""

    commands: list[Command] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)

    async def send(self, bot_id: str, command: Command) -> None:
        self.commands.append(command)

    async def emit(self, event: Event) -> None:
        self.events.append(event)

    async def request(self, bot_id: str, request: Any, timeout: float) -> Any:
        raise TimeoutError("no other service in this harness")


async def no_services() -> list[ServiceInfo]:
    return []


OVERRIDES = {  # keep fuzzed services off the network: anything external is refused at once
    "github-sync": {"github_api_url": f"http://127.0.0.1:{free_port()}"},
}


@dataclass
class Harness:
    """The service's handlers behind the real dispatcher, with a real Redis and a recording publisher."""

    dispatcher: Dispatcher
    recorder: Recorder
    close: Any

    @classmethod
    async def open(cls, service: QunService[Any, Any], redis_url: str) -> Harness:
        settings_ = service.settings_type(redis_url=redis_url, **OVERRIDES.get(service.name, {}))
        redis = Redis.from_url(redis_url, decode_responses=True)
        notifications = Notifications.of(redis)
        rooms_ = RoomStore(redis)
        board = ClaimBoard(redis, notifications, service.name, deadline_s=0.05)
        deps_manager = service.deps_factory(settings_, redis)
        deps = await deps_manager.__aenter__()
        registry = LiveRegistry(no_services, 60.0, service.info("fuzz"))
        registry.update([])
        recorder = Recorder()
        app = AppContext(
            service=service.name,
            settings=settings_,
            deps=deps,
            _bus=recorder,  # type: ignore[arg-type]
            _registry=registry,
            _rooms=rooms_,
            _admins=AdminCheck(frozenset({"owner"}), rooms_),
            _clock=Clock(),
            _publishes=service.publishes,
        )

        async def close() -> None:
            await deps_manager.__aexit__(None, None, None)
            await redis.aclose()

        dispatcher = Dispatcher(
            service,
            app=app,
            registry=registry,
            board=board,
            quota=ReplyQuota(redis, service.name, QuotaLimits()),
            tracer=None,
        )
        return cls(dispatcher, recorder, close)

    async def feed(self, subject: str, data: bytes) -> str:
        """How the consumer would settle the message: ack, dead-letter (Permanent) or retry (any other error)."""
        try:
            await self.dispatcher.handle(FakeDelivery(subject, data))  # type: ignore[arg-type]
        except Permanent:
            return "dead-letter"
        except Exception as error:
            return f"retry: {type(error).__name__}: {error}"
        return "ack"


garbage = st.binary(max_size=64) | st.dictionaries(st.text(max_size=8), st.integers()).map(
    lambda d: json.dumps(d).encode()
)


@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.parametrize("service", all_services())
def test_handlers_survive_generated_events(service: QunService[Any, Any], redis_url: str) -> None:
    with asyncio.Runner() as runner:
        harness = runner.run(Harness.open(service, redis_url))

        @settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
        @given(event=events(service))
        def valid_events_never_raise(event: Event) -> None:
            outcome = runner.run(
                harness.feed(subjects.event("bot", type(event)), event.model_dump_json().encode())
            )
            assert outcome == "ack"

        @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
        @given(payload=garbage)
        def garbage_is_dead_lettered(payload: bytes) -> None:
            assert runner.run(harness.feed(subjects.event("bot", MessageReceived), payload)) == "dead-letter"

        try:
            valid_events_never_raise()
            garbage_is_dead_lettered()
        finally:
            runner.run(harness.close())
