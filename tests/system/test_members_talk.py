"""Members talk, they don't type commands: with every answering service live (real NATS and Redis), each message
addressed to the bot gets exactly one answer, from the service that understands it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from schemas import MessageReceived, Quote, SayText
from services.history.app import service as history
from services.moderator.app import service as moderator
from services.scheduler.app import service as scheduler
from services.tagger.app import service as tagger
from tests.conftest import Bus, RunService
from tests.factories import ALICE, BOB, message

FACT = Quote(talker_name="老王", text="每周四晚上 8 点在腾讯会议开社区周会，会议号 612-338-905")

# (what a member writes, something the one answer must contain)
CONVERSATION = [
    ("下午四点提醒我接孩子", "已设置提醒"),
    ("20分钟后叫我去开会", "已设置提醒"),
    ("at 6pm remind us to deploy", "Reminder #"),
    ("周会几点开？", "612-338-905"),
    ("明天几点开会？", ""),  # a question with a time: not a reminder
    ("总结一下今天的群聊", "总结"),
    ("你好", "帮助"),
    ("", "帮助"),  # a bare @-mention
    ("提型 30分钟后 喝水", "提醒"),  # a mistyped keyword: did you mean …
    ("帮助", "提醒"),
]


@pytest.fixture
async def everyone(run_service: RunService, bus: Bus) -> AsyncIterator[None]:
    async with (
        run_service(tagger),
        run_service(scheduler),
        run_service(moderator),
        run_service(history),
    ):
        tagged = message("标记 周会", quote=FACT, talker=BOB)
        await bus.publish_event(tagged)
        await bus.says(lambda say: say.reply_to == tagged.id, timeout=10)
        # what the members said to each other today: the summary's material
        for body in ("周四的周会改到线上了", "好的，我会准时参加", "记得带上周的数据"):
            await bus.publish_event(message(body, talker=BOB, mentions_bot=False))
        await bus.consumer_settled("history")
        yield


async def one_answer(bus: Bus, event: MessageReceived) -> SayText:
    await bus.publish_event(event)
    [answer] = await bus.says(lambda say: say.reply_to == event.id, timeout=10)
    assert isinstance(answer, SayText)
    return answer


@pytest.mark.slow
async def test_every_message_addressed_to_the_bot_gets_exactly_one_answer(bus: Bus, everyone: None) -> None:
    events = [message(body, talker=ALICE, id=f"talk-{n}") for n, (body, _) in enumerate(CONVERSATION)]
    answers = [await one_answer(bus, event) for event in events]
    for durable in ("tagger", "scheduler", "moderator", "history"):
        await bus.consumer_settled(durable)
    for event, (body, expected), answer in zip(events, CONVERSATION, answers, strict=True):
        assert expected in answer.text, (body, answer.text)
        replies = [say for say in bus.commands(SayText) if say.reply_to == event.id]
        assert len(replies) == 1, (body, [say.text for say in replies])
    assert "已设置提醒" not in answers[4].text


@pytest.mark.slow
async def test_a_direct_greeting_is_answered_once(bus: Bus, everyone: None) -> None:
    greeting = message("你好", room=None, talker=ALICE, id="dm-hello")
    answer = await one_answer(bus, greeting)
    for durable in ("tagger", "scheduler", "moderator", "history"):
        await bus.consumer_settled(durable)
    assert answer.contact_id == ALICE.id
    assert len(answer.text.splitlines()) <= 3
    assert len([say for say in bus.commands(SayText) if say.reply_to == greeting.id]) == 1
