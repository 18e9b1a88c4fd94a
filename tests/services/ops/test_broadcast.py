"""Broadcasts: choosing rooms (pure), and delivery over real NATS and Redis: each room exactly once across runner
restarts, a window of messages with the gateway, cancel, deadline."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from nats.aio.client import Client as NatsClient
from redis.asyncio import Redis

from schemas import Command, SayText, SendFile, streams
from services.ops import bus
from services.ops.accounts import RoomSeen
from services.ops.broadcast import (
    BroadcastError,
    BroadcastRunner,
    BroadcastStore,
    Image,
    Selection,
    choose,
    command_id,
    new_broadcast,
    topic_matches,
)

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
ROOMS = [
    RoomSeen("r1@chatroom", "bot", "开源交流群", 120),
    RoomSeen("r2@chatroom", "bot", "开源交流群 二群", 80),
    RoomSeen("r3@chatroom", "bot", "Test Room", 5),
    RoomSeen("r4@chatroom", "bot", "开源 旧群", 3, gone=True),
    RoomSeen("r5@chatroom", "other", "ＯＰＳ 值班", 9),
]


def test_topic_patterns_ignore_case_and_width() -> None:
    assert topic_matches("开源*", "开源交流群")
    assert topic_matches("ops*", "ＯＰＳ 值班")
    assert topic_matches("交流", "开源交流群 二群")  # no wildcard: a substring
    assert not topic_matches("开源", "Test Room")


def test_choose_unites_ids_patterns_and_lists_without_rooms_left() -> None:
    chosen = choose(ROOMS, Selection(room_ids=("r3@chatroom",), topic="开源*"), {})
    assert [room.id for room in chosen] == ["r3@chatroom", "r1@chatroom", "r2@chatroom"]  # r4: the bot left
    by_list = choose(ROOMS, Selection(list_name="ops"), {"ops": ["r5@chatroom", "r1@chatroom"]})
    assert {room.id for room in by_list} == {"r1@chatroom", "r5@chatroom"}
    only_other = choose(ROOMS, Selection(topic="*", bot_id="other"), {})
    assert [room.id for room in only_other] == ["r5@chatroom"]


@pytest.mark.parametrize(
    ("selection", "saved", "error"),
    [
        (Selection(), {}, "choose rooms"),
        (Selection(room_ids=("nope@chatroom",)), {}, "not known"),
        (Selection(list_name="missing"), {}, "no saved room list"),
        (Selection(topic="没有这个群"), {}, "no room matches"),
        (Selection(room_ids=("r4@chatroom",)), {}, "not known"),
    ],
)
def test_choose_says_what_is_wrong(selection: Selection, saved: dict[str, list[str]], error: str) -> None:
    with pytest.raises(BroadcastError, match=error):
        choose(ROOMS, selection, saved)


def test_a_broadcast_needs_content_and_images_are_checked() -> None:
    with pytest.raises(BroadcastError, match="text or an image"):
        new_broadcast("  ", None, ROOMS[:1], now=NOW, deadline_s=60)
    with pytest.raises(BroadcastError, match="not a PNG"):
        Image.of("x.png", b"hello")
    with pytest.raises(BroadcastError, match="at most"):
        Image.of("big.png", PNG + b"\x00" * 600_000)
    assert Image.of("x.png", PNG).mime_type == "image/png"


def test_commands_are_stable_per_broadcast_and_room_at_broadcast_priority() -> None:
    broadcast = new_broadcast("通知", Image.of("a.png", PNG), ROOMS[:2], now=NOW, deadline_s=3600)
    first = broadcast.commands(broadcast.recipients[0], "aGVsbG8=")
    again = broadcast.commands(broadcast.recipients[0], "aGVsbG8=")
    assert [type(c) for c in first] == [SendFile, SayText]
    assert [c.id for c in first] == [c.id for c in again]
    assert first[1].id == command_id(broadcast.id, "r1@chatroom", "say")
    assert {c.priority for c in first} == {"broadcast"}
    assert {c.deadline for c in first} == {NOW + timedelta(hours=1)}
    other_room = broadcast.commands(broadcast.recipients[1], "aGVsbG8=")
    assert not {c.id for c in first} & {c.id for c in other_room}


# -- delivery over NATS and Redis -------------------------------------------------------------------------------


async def stored_commands(nc: NatsClient) -> list[str]:
    """Ids of every command stored in QUN_CMD, in order."""
    js = nc.jetstream()
    info = await js.stream_info(streams.COMMANDS.name)
    if not info.state.messages:
        return []
    ids = []
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        message = await js.get_msg(streams.COMMANDS.name, seq)
        ids.append(SayText.model_validate_json(message.data or b"").id)
    return ids


class Gateway:
    """What the runner sees of the gateway: the ack floor, moved by the test."""

    def __init__(self) -> None:
        self.floor: int | None = 0

    async def __call__(self, _bot_id: str) -> int | None:
        return self.floor


class CrashError(Exception):
    pass


def runner_for(store: BroadcastStore, nc: NatsClient, gateway: Gateway, **kwargs: Any) -> BroadcastRunner:
    async def publish(bot_id: str, command: Command) -> int:
        return await bus.publish_command(nc, bot_id, command)

    return BroadcastRunner(store, publish, gateway, lambda: NOW, tick_s=0.01, **kwargs)


async def test_each_room_once_across_a_crash_between_publishing_and_recording(
    nc: NatsClient, redis: Redis
) -> None:
    store = BroadcastStore(redis)
    broadcast = new_broadcast("停机通知", None, ROOMS[:3], now=NOW, deadline_s=3600)
    await store.create(broadcast, None)
    gateway = Gateway()

    published = 0

    async def publish_then_crash(bot_id: str, command: Command) -> int:
        nonlocal published
        seq = await bus.publish_command(nc, bot_id, command)
        published += 1
        if published == 2:
            raise CrashError  # stored in JetStream, but the runner dies before recording it
        return seq

    crashing = BroadcastRunner(store, publish_then_crash, gateway, lambda: NOW, window=3, owner="first")
    with pytest.raises(CrashError):
        await crashing.step(broadcast.id)
    await store.release(broadcast.id, "first")

    restarted = runner_for(store, nc, gateway, window=3)
    progress = await restarted.step(broadcast.id)
    assert progress is not None
    assert progress.counts()["queued"] == 3
    expected = [command_id(broadcast.id, r.room_id, "say") for r in broadcast.recipients]
    assert await stored_commands(nc) == expected  # the repeat was dropped as a duplicate

    gateway.floor = 10**9  # the gateway acked everything
    assert await restarted.run(broadcast.id)
    final = await store.progress(broadcast.id)
    assert final is not None
    assert final.finished
    assert final.counts()["done"] == 3
    assert await store.active() == []


async def test_no_more_than_the_window_waits_at_the_gateway_and_cancel_stops_the_rest(
    nc: NatsClient, redis: Redis
) -> None:
    store = BroadcastStore(redis)
    broadcast = new_broadcast("通知", None, ROOMS[:3] + ROOMS[4:], now=NOW, deadline_s=3600)
    await store.create(broadcast, None)
    gateway = Gateway()
    runner = runner_for(store, nc, gateway, window=2)
    progress = await runner.step(broadcast.id)
    assert progress is not None
    assert progress.counts() == {"waiting": 2, "queued": 2, "done": 0, "cancelled": 0, "expired": 0}
    progress = await runner.step(broadcast.id)  # nothing acknowledged yet: nothing more handed over
    assert progress is not None
    assert progress.counts()["queued"] == 2
    assert len(await stored_commands(nc)) == 2

    gateway.floor = (
        await nc.jetstream().stream_info(streams.COMMANDS.name)
    ).state.first_seq  # first one done
    progress = await runner.step(broadcast.id)
    assert progress is not None
    assert progress.counts() == {"waiting": 1, "queued": 2, "done": 1, "cancelled": 0, "expired": 0}

    assert await store.cancel(broadcast.id)
    progress = await runner.step(broadcast.id)
    assert progress is not None
    assert progress.counts() == {"waiting": 0, "queued": 2, "done": 1, "cancelled": 1, "expired": 0}
    assert not progress.finished  # the two at the gateway may still go out
    gateway.floor = 10**9
    progress = await runner.step(broadcast.id)
    assert progress is not None
    assert progress.finished
    assert len(await stored_commands(nc)) == 3


async def test_past_its_deadline_nothing_more_is_handed_over(nc: NatsClient, redis: Redis) -> None:
    store = BroadcastStore(redis)
    broadcast = new_broadcast("通知", None, ROOMS[:3], now=NOW, deadline_s=60)
    await store.create(broadcast, None)
    late = BroadcastRunner(
        store, lambda *_: asyncio.sleep(0, 1), Gateway(), lambda: NOW + timedelta(minutes=2)
    )
    progress = await late.step(broadcast.id)
    assert progress is not None
    assert progress.finished
    assert progress.counts()["expired"] == 3
    assert await stored_commands(nc) == []


async def test_one_runner_per_broadcast(nc: NatsClient, redis: Redis) -> None:
    store = BroadcastStore(redis)
    broadcast = new_broadcast("通知", None, ROOMS[:1], now=NOW, deadline_s=60)
    await store.create(broadcast, None)
    assert await store.take_lease(broadcast.id, "one")
    assert not await runner_for(store, nc, Gateway(), owner="two").run(broadcast.id)


async def test_image_broadcast_sends_the_file_inline(nc: NatsClient, redis: Redis) -> None:
    store = BroadcastStore(redis)
    broadcast = new_broadcast("", Image.of("海报.png", PNG), ROOMS[:1], now=NOW, deadline_s=60)
    await store.create(broadcast, PNG)
    await runner_for(store, nc, Gateway()).step(broadcast.id)
    message = await nc.jetstream().get_msg(streams.COMMANDS.name, 1)
    assert message.subject == "qun.cmd.bot.file"
    sent = SendFile.model_validate_json(message.data or b"")
    assert sent.name == "海报.png"
    assert sent.mime_type == "image/png"
    assert sent.size == len(PNG)
    assert sent.priority == "broadcast"
