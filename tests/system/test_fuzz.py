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
    DeadLettered,
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
from services.shared import AppContext, Clock, QunService
from services.shared.dispatch import Dispatcher
from services.shared.rooms import AdminCheck, RoomStore
from tools.servers import free_port

MODULES = [
    "examples.dingdong.app",
    *(f"services.{name}.app" for name in ("tagger", "scheduler", "moderator", "github_sync")),
]


def all_services() -> list[Any]:
    return [
        pytest.param(importlib.import_module(module).service, id=module.split(".")[-2]) for module in MODULES
    ]


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
    subject: str
    data: bytes
    deliveries: int = 1
    stream_sequence: int | None = 1
    published_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    outcome: str = "pending"

    async def ack(self) -> None:
        self.outcome = "ack" if self.outcome == "pending" else self.outcome

    async def nak(self, delay: float) -> None:
        self.outcome = "nak"

    async def in_progress(self) -> None:
        pass


@dataclass
class Recorder:
    commands: list[Command] = field(default_factory=list)
    dead: list[DeadLettered] = field(default_factory=list)

    async def publish(self, bot_id: str, command: Command) -> None:
        self.commands.append(command)

    async def dead_letter(self, letter: DeadLettered) -> None:
        self.dead.append(letter)


async def no_services(_: float) -> list[ServiceInfo]:
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
        deps_manager = service.deps_factory(settings_, redis)
        deps = await deps_manager.__aenter__()
        rooms_ = RoomStore(redis)
        recorder = Recorder()
        app = AppContext(
            service=service.name,
            settings=settings_,
            deps=deps,
            redis=redis,
            rooms=rooms_,
            admins=AdminCheck(frozenset({"owner"}), rooms_),
            clock=Clock(),
            _publish=recorder.publish,
            _discover=no_services,
        )

        async def close() -> None:
            await deps_manager.__aexit__(None, None, None)
            await redis.aclose()

        return cls(Dispatcher(service, app, recorder.dead_letter, retry_base_s=0), recorder, close)

    async def feed(self, subject: str, data: bytes) -> FakeDelivery:
        delivery = FakeDelivery(subject, data)
        await self.dispatcher.handle(delivery)
        return delivery


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
            delivery = runner.run(
                harness.feed(subjects.event("bot", type(event)), event.model_dump_json().encode())
            )
            assert delivery.outcome == "ack", harness.recorder.dead[-1:] or "nak"

        @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
        @given(payload=garbage)
        def garbage_is_dead_lettered(payload: bytes) -> None:
            before = len(harness.recorder.dead)
            delivery = runner.run(harness.feed(subjects.event("bot", MessageReceived), payload))
            assert delivery.outcome == "ack"
            assert len(harness.recorder.dead) == before + 1

        try:
            valid_events_never_raise()
            garbage_is_dead_lettered()
        finally:
            runner.run(harness.close())
