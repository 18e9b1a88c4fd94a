"""One answer per addressed message, from the service that understands it, over real NATS and Redis."""

from __future__ import annotations

import asyncio
import time

from schemas import ChatCommand, MessageReceived, SayText
from services.shared import Context, Intent, QunService, QunSettings, quotas
from tests.conftest import Bus, RunService
from tests.factories import ALICE, BOB, message

Ctx = Context[QunSettings, None]


def reminders() -> QunService[QunSettings, None]:
    service: QunService[QunSettings, None] = QunService("reminders", version="0", settings=QunSettings)

    @service.command(ChatCommand(name="remind", keywords_zh=["提醒"], keywords_en=["remind"]))
    async def remind(event: MessageReceived, ctx: Ctx, args: str) -> None:
        await ctx.reply(f"reminder: {args}")

    @service.recogniser("remind")
    def natural(event: MessageReceived, ctx: Ctx) -> Intent | None:
        return Intent(0.9, args=event.body) if "提醒我" in event.body else None

    return service


def answers(*, slow_s: float = 0.0, speculative: bool = False) -> QunService[QunSettings, None]:
    service: QunService[QunSettings, None] = QunService("answers", version="0", settings=QunSettings)

    @service.command(ChatCommand(name="ask", keywords_zh=["问"]))
    async def ask(event: MessageReceived, ctx: Ctx, args: str) -> None:
        await ctx.reply(f"answer: {args}")

    @service.recogniser("ask")
    async def maybe(event: MessageReceived, ctx: Ctx) -> Intent | None:
        await asyncio.sleep(slow_s)
        return Intent(0.3)  # a weak guess: it must not beat a confident recogniser

    @service.fallback(rank=10, speculative=speculative)
    async def answer(event: MessageReceived, ctx: Ctx) -> None:
        await ctx.reply(f"fallback: {event.body}")

    return service


def front_desk() -> QunService[QunSettings, None]:
    service: QunService[QunSettings, None] = QunService("desk", version="0", settings=QunSettings)

    @service.command(ChatCommand(name="help", keywords_zh=["帮助"], keywords_en=["help"], rooms_only=True))
    async def help_(event: MessageReceived, ctx: Ctx, args: str) -> None:
        await ctx.reply("help")

    @service.fallback(rank=0)
    async def not_understood(event: MessageReceived, ctx: Ctx) -> None:
        await ctx.reply("did you mean …")

    return service


async def settle(bus: Bus, *durables: str) -> None:
    for durable in durables:
        await bus.consumer_settled(durable)


async def test_the_confident_recogniser_answers_and_nobody_else(bus: Bus, run_service: RunService) -> None:
    async with run_service(reminders()), run_service(answers()), run_service(front_desk()):
        await bus.publish_event(message("下午四点提醒我接孩子", id="m1"))
        await bus.says(lambda say: say.text.startswith("reminder"))
        await settle(bus, "reminders", "answers", "desk")
    assert [say.text for say in bus.commands(SayText)] == ["reminder: 下午四点提醒我接孩子"]


async def test_what_nobody_recognises_goes_to_the_highest_fallback(bus: Bus, run_service: RunService) -> None:
    async with run_service(reminders()), run_service(answers()), run_service(front_desk()):
        await bus.publish_event(message("周会是什么时候", id="m1"))
        await bus.says()
        await settle(bus, "reminders", "answers", "desk")
    assert [say.text for say in bus.commands(SayText)] == ["fallback: 周会是什么时候"]


async def test_without_the_answering_service_the_next_fallback_answers(
    bus: Bus, run_service: RunService
) -> None:
    async with run_service(reminders()), run_service(front_desk()):
        await bus.publish_event(message("asdf", id="m1"))
        await bus.says()
        await settle(bus, "reminders", "desk")
    assert [say.text for say in bus.commands(SayText)] == ["did you mean …"]


async def test_a_keyword_of_another_live_service_beats_every_recogniser(
    bus: Bus, run_service: RunService
) -> None:
    async with run_service(reminders()), run_service(answers()):
        await bus.publish_event(message("问 提醒我的事", id="m1"))  # "提醒我" recognised, but 问 is a keyword
        await bus.says()
        await settle(bus, "reminders", "answers")
    assert [say.text for say in bus.commands(SayText)] == ["answer: 提醒我的事"]


async def test_unaddressed_chatter_gets_no_answer(bus: Bus, run_service: RunService) -> None:
    async with run_service(reminders()), run_service(answers()):
        await bus.publish_event(message("明天提醒我一下好吗", mentions_bot=False, id="m1"))
        await bus.publish_event(message("问 这个", mentions_bot=True, id="m2"))
        await bus.says()
        await settle(bus, "reminders", "answers")
    assert [say.reply_to for say in bus.commands(SayText)] == ["m2"]


async def test_two_replicas_of_each_answer_every_message_exactly_once(
    bus: Bus, run_service: RunService
) -> None:
    # Routing with replicas, not the deadline (its own test below): a loaded CI machine may not hurry the claims.
    patient = {"claim_deadline_s": 10.0}
    async with (
        run_service(reminders(), **patient) as r1,
        run_service(reminders(), **patient) as r2,
        run_service(answers(), **patient) as a1,
        run_service(answers(), **patient) as a2,
    ):
        deadline = time.monotonic() + 10
        while any(sorted(r.registry.claimers()) != ["answers", "reminders"] for r in (r1, r2, a1, a2)):
            assert time.monotonic() < deadline, "the replicas never saw each other"
            await asyncio.sleep(0.02)
        for n in range(20):
            body = f"{n}点提醒我喝水" if n % 2 else f"问题{n}"
            await bus.publish_event(message(body, id=f"m{n}"))
        await bus.says(count=20, timeout=15)
        await settle(bus, "reminders", "answers")
    replies = bus.commands(SayText)
    assert sorted(say.reply_to for say in replies) == sorted(f"m{n}" for n in range(20))
    assert all(say.text.startswith("reminder") == (int(say.reply_to[1:]) % 2 == 1) for say in replies)


async def test_a_slow_claimer_delays_the_answer_only_until_the_deadline(
    bus: Bus, run_service: RunService
) -> None:
    async with (
        run_service(answers(slow_s=3.0), claim_deadline_s=0.3),
        run_service(front_desk(), claim_deadline_s=0.3),
    ):
        await bus.publish_event(message("hello?", id="m1"))
        [reply] = await bus.says(timeout=2.5)  # the slow one has not even claimed yet
        await settle(bus, "answers", "desk")
    assert reply.text == "did you mean …"
    assert len(bus.commands(SayText)) == 1


async def test_a_service_switched_off_in_the_room_declines_at_once(bus: Bus, run_service: RunService) -> None:
    async with run_service(reminders()), run_service(answers(), claim_deadline_s=5.0) as runtime:
        await runtime.rooms.set_service_enabled("room1@chatroom", "reminders", enabled=False)
        loop = asyncio.get_running_loop()
        started = loop.time()
        await bus.publish_event(message("下午四点提醒我接孩子", id="m1"))
        [reply] = await bus.says()
        assert loop.time() - started < 4.0  # not waiting for the switched-off service's claim
    assert reply.text.startswith("fallback")


async def test_a_rooms_only_command_in_a_direct_message_gets_one_clear_answer(
    bus: Bus, run_service: RunService
) -> None:
    async with run_service(front_desk()):
        await bus.publish_event(message("帮助", room=None, id="m1"))
        [reply] = await bus.says()
    assert reply.text == "这个命令只能在群里用。"


async def test_a_member_who_asks_too_often_is_told_once_to_slow_down(
    bus: Bus, run_service: RunService
) -> None:
    async with run_service(answers(), quota_member_per_minute=3):
        for n in range(6):
            await bus.publish_event(message(f"问 第{n}个问题", id=f"m{n}"))
        await bus.says(count=4)
        await settle(bus, "answers")
    texts = [say.text for say in bus.commands(SayText)]
    assert texts[:3] == ["answer: 第0个问题", "answer: 第1个问题", "answer: 第2个问题"]
    assert texts[3:] == ["你发得有点快，我先歇一会儿，请稍后再试。"]


async def test_a_speculative_fallback_speaks_only_when_it_wins(bus: Bus, run_service: RunService) -> None:
    async with run_service(reminders()), run_service(answers(speculative=True)), run_service(front_desk()):
        await bus.publish_event(message("下午四点提醒我接孩子", id="lost"))
        await bus.publish_event(message("周会是什么时候", id="won", room=None))  # DM: another order key
        await bus.says(count=2)
        await settle(bus, "reminders", "answers", "desk")
    replies = {say.reply_to: say.text for say in bus.commands(SayText)}
    assert replies == {"lost": "reminder: 下午四点提醒我接孩子", "won": "fallback: 周会是什么时候"}


async def test_a_member_muted_for_flooding_gets_no_answer_from_any_service(
    bus: Bus, run_service: RunService
) -> None:
    async with run_service(answers()) as runtime:
        until_ms = int((time.time() + 60) * 1000)
        await runtime.redis.set(quotas.muted_until_key("bot", "dm:alice", "alice"), until_ms)
        await bus.publish_event(message("问 一", room=None, talker=ALICE, id="muted"))
        await bus.publish_event(message("问 二", room=None, talker=BOB, id="heard"))
        await bus.says()
        await settle(bus, "answers")
    assert [say.reply_to for say in bus.commands(SayText)] == ["heard"]
