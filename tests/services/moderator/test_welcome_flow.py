"""Welcome batching over real NATS + Redis, with one and two moderator replicas."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import redis.asyncio

from schemas import SayText
from services.moderator import keys
from services.moderator.app import service as moderator
from tests.conftest import Bus, RunService
from tests.factories import ROOM, joined, message
from tests.services.moderator.people import OWNER


async def test_welcome_batches_joins_across_replicas(
    bus: Bus, run_service: RunService, redis_url: str
) -> None:
    settings = {"welcome_window_s": 60.0, "welcome_tick_s": 0.02}
    async with run_service(moderator, **settings) as first, run_service(moderator, **settings) as second:
        for name in ("Ann", "Ben", "Cat", "Dan"):
            await bus.publish_event(joined(name))
        await bus.consumer_settled("moderator")
        assert bus.commands(SayText) == []  # still within the batching window
        for replica in (first, second):
            replica.clock.offset = timedelta(seconds=61)
        [welcome] = await bus.says()
        await _until_no_batch_is_due(redis_url)
    assert welcome.room_id == ROOM.id
    names = welcome.text.removeprefix("欢迎 ").split(" 加入")[0]
    assert sorted(names.split("、")) == ["Ann", "Ben", "Cat", "Dan"]  # in the order the replicas handled them
    assert "开源交流群" in welcome.text
    assert len(bus.commands(SayText)) == 1


async def test_welcome_survives_the_replica_that_saw_the_first_join(
    bus: Bus, run_service: RunService, redis_url: str
) -> None:
    settings = {"welcome_window_s": 60.0, "welcome_tick_s": 0.02}
    async with run_service(moderator, **settings):
        await bus.publish_event(joined("Ann"))
        await bus.consumer_settled("moderator")
    async with run_service(moderator, **settings) as survivor:
        await bus.publish_event(joined("Ben"))
        await bus.consumer_settled("moderator")
        survivor.clock.offset = timedelta(seconds=61)
        [welcome] = await bus.says()
    assert "Ann、Ben" in welcome.text


async def _until_no_batch_is_due(redis_url: str, timeout: float = 5.0) -> None:
    client = redis.asyncio.Redis.from_url(redis_url, decode_responses=True)
    try:
        deadline = time.monotonic() + timeout
        while await client.zcard(keys.WELCOME_DUE):
            assert time.monotonic() < deadline, "a welcome batch was never finished"
            await asyncio.sleep(0.01)
    finally:
        await client.aclose()


async def test_stale_joins_are_recorded_but_not_greeted(
    bus: Bus, run_service: RunService, redis_url: str
) -> None:
    async with run_service(moderator, max_event_age_s=0.001):  # every event is stale by the time it is read
        await bus.publish_event(joined("Ann"))
        await bus.consumer_settled("moderator")
        client = redis.asyncio.Redis.from_url(redis_url, decode_responses=True)
        members = await client.smembers(keys.room_members("bot", ROOM.id))
        batches = await client.zcard(keys.WELCOME_DUE)
        await client.aclose()
    assert members == {"ann"}
    assert batches == 0
    assert bus.commands(SayText) == []


async def test_room_welcome_template_set_by_an_admin(bus: Bus, run_service: RunService) -> None:
    async with run_service(moderator, welcome_window_s=60.0, welcome_tick_s=0.02) as runtime:
        await bus.publish_event(message("设置欢迎语 Welcome {names} to {topic}!", talker=OWNER))
        await bus.says(lambda s: "已设置欢迎语" in s.text)
        await bus.publish_event(joined("Ann"))
        await bus.consumer_settled("moderator")
        runtime.clock.offset = timedelta(seconds=61)
        [welcome] = await bus.says(lambda s: s.text.startswith("Welcome"))
    assert welcome.text == "Welcome Ann to 开源交流群!"
