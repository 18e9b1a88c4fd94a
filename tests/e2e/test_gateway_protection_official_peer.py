"""The gateway's guarantees seen from the official peer (PuppetServer over PuppetMock): what the peer receives shows
that a kill -9 and restart grant no extra budget, stale commands never go out late, a huge text costs at most three
messages, one conversation's backlog delays only itself while replies go before reminders, notices and broadcasts,
and a picture arrives byte for byte; typed quotes are verified only when true."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from schemas import GatewayStatus, LoggedIn, MessageReceived, SayText, SendFile, subjects
from services.gateway.pacing import TRUNCATED_ZH
from tests.conftest import Bus, RunService
from tests.services.gateway.test_files import tiny_png

from .gateway_on_peer import GatewayProcess, Group, eventually, gateway_on
from .puppet_mock import PuppetMockWorld, quoted_reply
from .test_gateway_official_peer import publish

pytestmark = pytest.mark.slow


async def test_a_kill_and_restart_grants_no_extra_budget(
    puppet_mock: PuppetMockWorld, bus: Bus, nats_url: str, redis_url: str, tmp_path: Path
) -> None:
    world, bot = puppet_mock, puppet_mock.bot_id
    group = await Group.create(world, "e2e-restart")
    # As the issue measured: 6 per minute with a burst of 3 (one every 10 s after the burst). The lease lapses 2 s
    # after a killed holder stops renewing it; a command the killed process held comes back 3 s after its last
    # sign of life. The restart takes a few seconds, far less than the 10 s a token needs.
    limits = {
        "GATEWAY_ACCOUNT_PER_MINUTE": "6",
        "GATEWAY_ACCOUNT_BURST": "3",
        "GATEWAY_ROOM_PER_SECOND": "100",
        "GATEWAY_ROOM_BURST": "100",
        "GATEWAY_LEASE_TTL_S": "2",
        "QUN_ACK_WAIT_S": "3",
    }
    first = GatewayProcess(world, nats_url, redis_url, tmp_path, **limits)
    second = GatewayProcess(world, nats_url, redis_url, tmp_path, **limits)
    try:
        first.start()
        await bus.wait_for(f"qun.evt.{bot}.login", LoggedIn, timeout=30)
        await until_sending(bus, bot)
        for n in range(6):
            await publish(bus, bot, SayText(room_id=group.room_id, text=f"第{n}条"))
        await world.wait_for(lambda o: len(o.sent) >= 3)
        first.kill()
        second.start()
        observed = await world.wait_for(lambda o: len(o.sent) >= 5, within=40)
    finally:
        first.kill()
        second.stop()

    times = [message.at for message in observed.sent]
    # Without the buckets in Redis the new process sent three more at once (8 within 23 s in the issue).
    assert times[3] - times[0] >= 10.0 - 0.1, (times, second.log_tail())
    assert times[4] - times[0] >= 20.0 - 0.1, times
    assert len({message.text for message in observed.sent}) == len(observed.sent)  # none twice


async def until_sending(bus: Bus, bot: str, within: float = 20.0) -> None:
    """Poll the gateway's status until it holds the send lease."""
    deadline = time.monotonic() + within
    while True:
        try:
            reply = await bus.connection.request(subjects.gateway_status(bot), b"", timeout=1)
            if GatewayStatus.model_validate_json(reply.data).sending:
                return
        except Exception:  # not answering yet
            pass
        assert time.monotonic() < deadline, "the gateway never started sending"
        await asyncio.sleep(0.1)


async def test_stale_commands_never_reach_the_peer(
    puppet_mock: PuppetMockWorld, run_service: RunService, bus: Bus, tmp_path: Path
) -> None:
    world, bot = puppet_mock, puppet_mock.bot_id
    group = await Group.create(world, "e2e-stale")
    async with gateway_on(world, run_service, bus, tmp_path, max_command_age_s=2.0):
        pass  # the gateway's consumer exists; now the gateway is down
    await publish(bus, bot, SayText(room_id=group.room_id, text="waited too long"))
    deadline = datetime.now(UTC) + timedelta(seconds=1)
    await publish(bus, bot, SayText(room_id=group.room_id, text="past its deadline", deadline=deadline))
    await asyncio.sleep(2.5)  # older than GATEWAY_MAX_COMMAND_AGE_S: the subject of the test, not a sync
    async with gateway_on(world, run_service, bus, tmp_path, max_command_age_s=2.0) as runtime:
        await publish(bus, bot, SayText(room_id=group.room_id, text="fresh"))
        observed = await world.wait_for(lambda o: bool(o.sent))
        await eventually(lambda: runtime.context.deps.status().dropped_stale == 2)

    assert [message.text for message in observed.sent] == ["fresh"]


async def test_a_huge_text_reaches_the_peer_as_three_messages_at_most(
    puppet_mock: PuppetMockWorld, run_service: RunService, bus: Bus, tmp_path: Path
) -> None:
    world, bot = puppet_mock, puppet_mock.bot_id
    group = await Group.create(world, "e2e-size")
    text = "\n".join(f"第{n}行：" + "很长的内容" * 20 for n in range(300))  # about 30,000 characters
    async with gateway_on(world, run_service, bus, tmp_path):
        await publish(bus, bot, SayText(room_id=group.room_id, text=text))
        observed = await world.wait_for(lambda o: len(o.sent) >= 3)
        await asyncio.sleep(1)  # a fourth part would arrive now

    sent = (await world.observed()).sent
    assert len(text) > 30_000
    assert len(sent) == 3
    assert sent[-1].text.endswith(TRUNCATED_ZH)
    assert observed.sent[0].text.startswith("第0行：")


async def test_one_conversations_backlog_delays_only_itself_and_replies_go_first(
    puppet_mock: PuppetMockWorld, run_service: RunService, bus: Bus, tmp_path: Path
) -> None:
    world, bot = puppet_mock, puppet_mock.bot_id
    group = await Group.create(world, "e2e-fair")
    other = await Group.create(world, "e2e-fair-2")
    # Each conversation: one message per 2 s; the account: one per 0.5 s.
    pace = {"room_per_second": 0.5, "room_burst": 1, "account_per_minute": 120.0, "account_burst": 1}
    async with gateway_on(world, run_service, bus, tmp_path, **pace):
        for n in range(30):
            await publish(bus, bot, SayText(contact_id="dave", text=f"私信 {n}"))
        await publish(bus, bot, SayText(room_id=other.room_id, text="广播", priority="broadcast"))
        await publish(bus, bot, SayText(room_id=other.room_id, text="提醒", priority="reminder"))
        await publish(bus, bot, SayText(room_id=group.room_id, text="回复"))
        observed = await world.wait_for(
            lambda o: {"回复", "提醒", "广播"} <= {m.text for m in o.sent}, within=20
        )

    texts = [message.text for message in observed.sent]
    # Published after 30 direct messages to Dave, the room reply went out second, not 31st.
    assert texts.index("回复") <= 1
    assert texts.index("提醒") < texts.index("广播")
    assert texts.index("广播") < 10
    dave = [text for text in texts if text.startswith("私信")]
    assert dave == [f"私信 {n}" for n in range(len(dave))]


async def test_a_picture_reaches_the_peer_byte_for_byte(
    puppet_mock: PuppetMockWorld, run_service: RunService, bus: Bus, tmp_path: Path
) -> None:
    world, bot = puppet_mock, puppet_mock.bot_id
    group = await Group.create(world, "e2e-file")
    png = tiny_png(32, 16)
    picture = SendFile(
        room_id=group.room_id,
        name="日报.png",
        mime_type="image/png",
        size=len(png),
        sha256=hashlib.sha256(png).hexdigest(),
        data_base64=base64.b64encode(png).decode(),
    )
    async with gateway_on(world, run_service, bus, tmp_path):
        await publish(bus, bot, picture)
        observed = await world.wait_for(lambda o: bool(o.files))

    [received] = observed.files
    assert (received.room_id, received.name, received.size) == (group.room_id, "日报.png", len(png))
    assert received.sha256 == picture.sha256
    assert received.media_type == "image/png"


async def test_typed_quotes_are_verified_only_when_true(
    puppet_mock: PuppetMockWorld, run_service: RunService, bus: Bus, tmp_path: Path
) -> None:
    world, bot = puppet_mock, puppet_mock.bot_id
    group = await Group.create(world, "e2e-quotes", member_ids=("alice", "bob", "carol", "dave"))
    async with gateway_on(world, run_service, bus, tmp_path):
        await world.say_in_room("alice", group.room_id, "周四晚8点开会")
        await bus.wait_for(f"qun.evt.{bot}.message", MessageReceived)
        await world.say_in_room("bob", group.room_id, quoted_reply("Alice", "周四晚8点开会", "收到"))
        await world.say_in_room(
            "dave", group.room_id, quoted_reply("Alice", "会议费请转账到 6222-0000", "标记")
        )
        said, real, forged = await bus.wait_for(
            f"qun.evt.{bot}.message", MessageReceived, count=3, timeout=10
        )

    assert real.quote is not None
    assert (real.quote.verified, real.quote.talker_id, real.quote.message_id) == (True, "alice", said.id)
    assert forged.quote is not None
    assert (forged.quote.verified, forged.quote.talker_id, forged.quote.talker_name) == (False, None, "Alice")
