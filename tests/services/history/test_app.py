"""The history service over real NATS + Redis: recording, forget me, switching off, requests, summaries,
unanswered questions and reports."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from redis.asyncio import Redis

from schemas import (
    Contact,
    HistoryPage,
    HistoryQuery,
    MessageReceived,
    QuestionUnanswered,
    SayText,
    SendFile,
    UnansweredItem,
    UnansweredQuery,
    subjects,
)
from services.history.app import service
from services.history.keys import REPORTS_DUE
from tests.conftest import Bus, RunService
from tests.factories import ALICE, BOB, ROOM, message
from tests.services.history.conversations import CHINESE, Line, build
from tests.services.history.fake_llm import FakeLlm, running

OWNER = Contact(id=ROOM.owner_id or "owner", name="Owner")


def replying_to(event: MessageReceived) -> Any:
    return lambda say: say.reply_to == event.id


async def send(bus: Bus, event: MessageReceived, timeout: float = 5.0) -> SayText:
    await bus.publish_event(event)
    [reply] = await bus.says(replying_to(event), timeout=timeout)
    assert isinstance(reply, SayText)
    return reply


def chat(body: str, talker: Contact = ALICE, **extra: Any) -> MessageReceived:
    return message(body, talker=talker, mentions_bot=False, **extra)


async def ask_history(bus: Bus, query: HistoryQuery, bot: str = "bot") -> HistoryPage:
    reply = await bus.connection.request(
        subjects.request(bot, HistoryQuery), query.model_dump_json().encode(), timeout=3
    )
    return HistoryPage.model_validate_json(reply.data)


async def kept(bus: Bus, count: int, timeout: float = 5.0) -> HistoryPage:
    """Poll the history through the request subject until it holds `count` messages."""
    deadline = time.monotonic() + timeout
    while True:
        page = await ask_history(bus, HistoryQuery(room_id=ROOM.id))
        if len(page.messages) >= count:
            return page
        assert time.monotonic() < deadline, f"{len(page.messages)} messages kept, not {count}"
        await asyncio.sleep(0.02)


async def test_room_messages_are_kept_and_served_to_other_services(bus: Bus, run_service: RunService) -> None:
    async with run_service(service):
        start = datetime.now(UTC)
        for n, (body, talker) in enumerate([("周四开会吗？", ALICE), ("开，晚上8点", BOB), ("ok", ALICE)]):
            await bus.publish_event(chat(body, talker, timestamp=start + timedelta(seconds=n)))
        await bus.publish_event(message("secret", room=None))  # a direct message is never kept
        page = await kept(bus, 3)
        assert [(m.talker.id, m.text) for m in page.messages] == [
            ("alice", "周四开会吗？"),
            ("bob", "开，晚上8点"),
            ("alice", "ok"),
        ]
        assert page.recording
        await bus.consumer_settled("history")
        assert len((await ask_history(bus, HistoryQuery(room_id=ROOM.id))).messages) == 3
        last_two = await ask_history(bus, HistoryQuery(room_id=ROOM.id, limit=2, last=True))
        assert [m.text for m in last_two.messages] == ["开，晚上8点", "ok"]
        assert last_two.more


async def test_forget_me_deletes_only_the_members_messages(bus: Bus, run_service: RunService) -> None:
    async with run_service(service):
        for body, talker in [("a1", ALICE), ("b1", BOB), ("a2", ALICE)]:
            await bus.publish_event(chat(body, talker))
        await kept(bus, 3)
        reply = await send(bus, message("忘记我", talker=ALICE))
        assert reply.text == "好的，已删除你在本群保存的 2 条消息。"
        page = await ask_history(bus, HistoryQuery(room_id=ROOM.id))
        assert [m.text for m in page.messages] == ["b1"]
        english = await send(bus, message("forget me", talker=ALICE))
        assert english.text == "Nothing of yours is kept in this room."


async def test_admin_switches_recording_off_which_forgets(bus: Bus, run_service: RunService) -> None:
    async with run_service(service):
        await bus.publish_event(chat("kept before"))
        await kept(bus, 1)
        refused = await send(bus, message("聊天记录 关", talker=BOB))
        assert refused.text.startswith("抱歉")
        assert (await send(bus, message("聊天记录 关", talker=OWNER))).text.startswith("好的，已停止保存")
        await bus.publish_event(chat("said while off"))
        status = await send(bus, message("history", talker=OWNER))
        assert status.text.startswith("This room's messages are not kept")
        page = await ask_history(bus, HistoryQuery(room_id=ROOM.id))
        assert page.messages == []
        assert not page.recording
        assert (await send(bus, message("history on", talker=OWNER))).text.startswith("OK: this room's")
        await bus.publish_event(chat("kept after"))
        assert [m.text for m in (await kept(bus, 1)).messages] == ["kept after"]


async def test_requests_reply_only_to_an_inbox(bus: Bus, run_service: RunService) -> None:
    async with run_service(service):
        await bus.publish_event(chat("hello"))
        await kept(bus, 1)
        query = HistoryQuery(room_id=ROOM.id).model_dump_json().encode()
        await bus.connection.publish(subjects.request("bot", HistoryQuery), query, reply="qun.cmd.bot.say")
        # A proper request after the bad one is answered, so the bad one was seen (and refused) before it.
        assert (await ask_history(bus, HistoryQuery(room_id=ROOM.id))).messages
        await bus.connection.flush()
        assert bus.matching("qun.cmd.>") == []


async def test_malformed_request_gets_an_error_page(bus: Bus, run_service: RunService) -> None:
    async with run_service(service):
        reply = await bus.connection.request(
            subjects.request("bot", HistoryQuery), b'{"room_id": "r", "limit": 0}', timeout=3
        )
        page = HistoryPage.model_validate_json(reply.data)
        assert page.room_id == "r"
        assert page.error.startswith("invalid HistoryQuery")


async def publish_conversation(bus: Bus, lines: list[Line]) -> list[MessageReceived]:
    """The conversation as it happens now: the last line a minute ago."""
    start = datetime.now(UTC) - timedelta(minutes=lines[-1][0] + 1)
    events = []
    for kept_message in build(lines, start):
        event = chat(kept_message.text, Contact(id=kept_message.talker.id, name=kept_message.talker.name))
        event = event.model_copy(update={"timestamp": kept_message.timestamp})
        await bus.publish_event(event)
        events.append(event)
    await kept(bus, len(events))
    return events


async def test_summary_of_the_last_hours(bus: Bus, run_service: RunService) -> None:
    async with run_service(service):
        await publish_conversation(bus, CHINESE)
        reply = await send(bus, message("总结 最近3小时", talker=BOB))
        lines = reply.text.splitlines()
        assert lines[0] == "最近3小时群聊总结（18 条消息，4 人）："
        assert 3 <= len(lines) <= 10
        assert "火锅" in reply.text
        english = await send(bus, message("summary last 3 hours", talker=BOB))
        assert english.text.startswith("Summary of the last 3 hours (18 messages, 4 people):")
        dm = await send(bus, message("总结", room=None))
        assert dm.text == "这个命令只能在群里用。"


async def test_llm_summary_per_room_with_offline_fallback(
    bus: Bus, run_service: RunService, caplog: pytest.LogCaptureFixture
) -> None:
    with running(FakeLlm(reply="LLM：今天主要聊了发布和火锅")) as fake:
        settings = {
            "llm_base_url": fake.url,
            "llm_model": "m",
            "llm_api_key": "sk-secret-123",
            "llm_timeout_s": 2,
        }
        async with run_service(service, **settings):
            await publish_conversation(bus, CHINESE)
            offline = await send(bus, message("总结 最近3小时"))
            assert offline.text.startswith("最近3小时群聊总结")  # not switched on in this room yet
            assert fake.requests == []
            assert (await send(bus, message("AI总结 开", talker=OWNER))).text.startswith(
                "好的，本群的总结由大模型"
            )
            assert (await send(bus, message("总结 最近3小时"))).text == "LLM：今天主要聊了发布和火锅"
            assert "火锅" in fake.requests[-1]["body"]["messages"][1]["content"]
            fake.mode = "error"
            fallback = await send(bus, message("总结 最近3小时"))
            assert fallback.text.startswith("最近3小时群聊总结")
            asked = len(fake.requests)
            await send(bus, message("总结", room=None))  # direct messages never reach the LLM
            assert len(fake.requests) == asked
    assert "sk-secret-123" not in caplog.text


async def test_llm_switch_without_an_operator_llm(bus: Bus, run_service: RunService) -> None:
    async with run_service(service):
        reply = await send(bus, message("ai summary on", talker=OWNER))
        assert reply.text.startswith("No LLM is configured")


async def test_unanswered_questions_listed_with_answers_and_served_to_the_tagger(
    bus: Bus, run_service: RunService
) -> None:
    async with run_service(service):
        now = datetime.now(UTC)
        question = message("停车在哪里？", talker=ALICE, timestamp=now - timedelta(minutes=5))
        await bus.publish_event(question)
        answer = chat("地下车库B2，入口在东门", BOB, timestamp=now - timedelta(minutes=4))
        await bus.publish_event(answer)
        await kept(bus, 1)  # the answer; the question was addressed to the bot: a request, not kept
        for n in range(2):  # the same question twice, and one redelivery
            unknown = QuestionUnanswered(
                id=f"u{n}",
                bot_id="bot",
                timestamp=question.timestamp,
                question_id=question.id if n == 0 else f"later{n}",
                room=ROOM,
                asker=ALICE,
                question="停车在哪里？",
            )
            await bus.publish_event(unknown)
        await bus.publish_event(unknown.model_copy(update={"id": "u-redelivered"}))
        await bus.consumer_settled("history")
        assert (await send(bus, message("没答上的问题", talker=BOB))).text.startswith("抱歉")
        listing = await send(bus, message("unanswered", talker=OWNER))
        assert listing.text.splitlines()[1:] == [
            "1. 停车在哪里？ (2x, Alice)",
            "   Likely answer: Bob: 地下车库B2，入口在东门",
        ]
        reply = await bus.connection.request(
            subjects.request("bot", UnansweredQuery),
            UnansweredQuery(room_id=ROOM.id, number=1).model_dump_json().encode(),
            timeout=3,
        )
        item = UnansweredItem.model_validate_json(reply.data)
        assert (item.question, item.count, item.error) == ("停车在哪里？", 2, "")
        assert item.answer is not None
        assert item.answer.id == answer.id
        missing = await bus.connection.request(
            subjects.request("bot", UnansweredQuery),
            UnansweredQuery(room_id=ROOM.id, number=9).model_dump_json().encode(),
            timeout=3,
        )
        assert UnansweredItem.model_validate_json(missing.data).error == "no item 9: the latest listing has 1"


async def test_daily_report_fires_once_across_two_replicas_with_text_and_chart(
    bus: Bus, run_service: RunService
) -> None:
    fast = {"report_poll_s": 0.05}
    async with run_service(service, **fast) as first, run_service(service, **fast) as second:
        await publish_conversation(bus, CHINESE)
        await send(bus, message("活跃榜 开", talker=OWNER))
        zone = ZoneInfo("Asia/Shanghai")
        at = (datetime.now(zone) + timedelta(hours=1)).replace(second=0, microsecond=0)
        enabled = await send(bus, message(f"日报 开 {at:%H:%M}", talker=OWNER))
        assert enabled.text.startswith(f"好的，日报每天 {at:%H:%M}（本群时区 Asia/Shanghai）")
        for runtime in (first, second):  # an hour and a minute later
            runtime.clock.offset = at - datetime.now(zone) + timedelta(minutes=1)
        [report] = await bus.says(lambda say: say.priority == "notice", timeout=10)
        [picture] = await bus.wait_for("qun.cmd.*.file", SendFile, timeout=10)
        assert report.room_id == ROOM.id
        assert report.text.startswith("📊 开源交流群 日报")
        assert "消息 18 条，活跃 4 人" in report.text
        assert "活跃榜：老王 6" in report.text
        png = base64.b64decode(picture.data_base64 or "")
        assert png.startswith(b"\x89PNG")
        assert (picture.size, picture.sha256) == (len(png), hashlib.sha256(png).hexdigest())
        assert (picture.mime_type, picture.priority, picture.room_id) == ("image/png", "notice", ROOM.id)
        assert picture.name == f"日报-{at:%Y-%m-%d}.png"
        # rescheduled for tomorrow, and only one of the replicas sent it
        redis = Redis.from_url(first.settings.redis_url.get_secret_value())
        try:
            deadline = time.monotonic() + 5
            while (await redis.zscore(REPORTS_DUE, f"{ROOM.id}|daily") or 0) < (
                at + timedelta(hours=23)
            ).timestamp() * 1000:
                assert time.monotonic() < deadline
                await asyncio.sleep(0.02)
        finally:
            await redis.aclose()
        assert len([s for s in bus.matching("qun.cmd.*.say", SayText) if s.priority == "notice"]) == 1
        assert len(bus.commands(SendFile)) == 1
