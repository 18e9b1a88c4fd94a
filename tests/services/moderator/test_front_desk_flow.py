"""The front desk over real NATS + Redis: every message addressed to the bot gets exactly one answer."""

from __future__ import annotations

from schemas import ChatCommand, MessageReceived, SayText
from services.moderator.app import service as moderator
from services.shared import Context, QunService, QunSettings
from tests.conftest import Bus, RunService
from tests.factories import ROOM, message

Ctx = Context[QunSettings, None]


def reminders() -> QunService[QunSettings, None]:
    """Stands for the scheduler: a keyword with its usage."""
    service: QunService[QunSettings, None] = QunService(
        "reminders", version="0", settings=QunSettings, title_zh="提醒", title_en="reminders"
    )

    @service.command(
        ChatCommand(
            name="remind", keywords_zh=["提醒"], keywords_en=["remind"], usage_zh="提醒 <时间> <内容>"
        )
    )
    async def remind(event: MessageReceived, ctx: Ctx, args: str) -> None:
        await ctx.reply(f"reminder: {args}")

    return service


def questions() -> QunService[QunSettings, None]:
    """Stands for the tagger: the rank-10 fallback for questions in rooms."""
    service: QunService[QunSettings, None] = QunService("questions", version="0", settings=QunSettings)

    @service.command(ChatCommand(name="ask", keywords_zh=["问"], keywords_en=["ask"]))
    async def ask(event: MessageReceived, ctx: Ctx, args: str) -> None:
        await ctx.reply(f"answer: {args}")

    @service.fallback(rank=10, rooms_only=True, accepts=lambda event, ctx: len(event.body) > 3)
    async def answer(event: MessageReceived, ctx: Ctx) -> None:
        await ctx.reply(f"answer: {event.body}")

    return service


async def test_each_addressed_message_gets_one_answer_from_the_right_place(
    bus: Bus, run_service: RunService
) -> None:
    sent = {
        "bare": message(""),
        "dm-hello": message("你好", room=None),
        "typo": message("提型 30分钟后 喝水"),
        "question": message("周会是什么时候呀"),
        "gibberish-dm": message("asdf qwer", room=None),
        "thanks": message("谢谢！"),
        "english-typo": message("remnd me at 5pm to call mom"),
    }
    async with run_service(moderator), run_service(reminders()), run_service(questions()):
        for event in sent.values():
            await bus.publish_event(event)
        await bus.says(count=len(sent), timeout=10)
        for durable in ("moderator", "reminders", "questions"):
            await bus.consumer_settled(durable)
    replies: dict[str, list[SayText]] = {name: [] for name in sent}
    for say in bus.commands(SayText):
        replies[next(name for name, event in sent.items() if event.id == say.reply_to)].append(say)
    assert all(len(answers) == 1 for answers in replies.values()), replies
    answer = {name: answers[0] for name, answers in replies.items()}

    assert answer["bare"].mention_ids == ["alice"]
    assert answer["bare"].room_id == ROOM.id
    assert len(answer["bare"].text.splitlines()) <= 3
    assert "提醒" in answer["bare"].text
    assert "帮助" in answer["bare"].text
    assert answer["dm-hello"].contact_id == "alice"
    assert "发「帮助」" in answer["dm-hello"].text
    assert answer["typo"].text.startswith("你是不是想用「提醒」？")
    assert "提醒 <时间> <内容>" in answer["typo"].text
    assert answer["question"].text == "answer: 周会是什么时候呀"  # questions still go to the question service
    assert answer["gibberish-dm"].text.startswith("Sorry, I didn't understand")
    assert answer["thanks"].text == "不客气 🙂"
    assert answer["english-typo"].text.startswith("Did you mean `remind`?")
