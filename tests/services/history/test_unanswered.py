from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from redis.asyncio import Redis

from schemas import ContactRef, QuestionUnanswered, Room
from services.history.unanswered import UnansweredRecord, UnansweredStore, best_answer, question_key
from tests.services.history.conversations import START, Line, build

ROOM = Room(id="room1@chatroom", topic="t")


def record(question: str, asker: str = "alice", ids: tuple[str, ...] = ("q",)) -> UnansweredRecord:
    at = START.timestamp()
    return UnansweredRecord(question, asker, asker.title(), at, at, question_ids=list(ids))


def answer_to(question: str, lines: list[Line], **extra: str) -> str | None:
    messages = build(lines)
    found = best_answer(record(question, ids=(messages[0].id,), **extra), messages)
    return found.message.text if found else None


def test_the_message_quoting_the_question_wins() -> None:
    lines: list[Line] = [
        (0, "Alice", "@QunBot 停车在哪里？"),
        (1, "Bob", "今天天气不错"),
        (2, "Carol", "地下车库B2，入口在东门", 0),
        (3, "Dave", "停车场旁边有家咖啡店"),
    ]
    assert answer_to("停车在哪里？", lines) == "地下车库B2，入口在东门"


def test_shared_words_soon_after_without_a_quote() -> None:
    lines: list[Line] = [
        (0, "Alice", "@QunBot where is the wifi password?"),
        (1, "Alice", "anyone?"),
        (2, "Bob", "the wifi password is on the fridge: qun2026"),
        (30, "Carol", "lunch at noon"),
    ]
    assert answer_to("where is the wifi password?", lines) == "the wifi password is on the fridge: qun2026"


def test_the_reply_right_after_the_question_in_other_words() -> None:
    lines: list[Line] = [(0, "Alice", "@QunBot 周会几点开？"), (1, "Bob", "晚上8点，腾讯会议")]
    assert answer_to("周会几点开？", lines) == "晚上8点，腾讯会议"


def test_no_answer_beats_a_wrong_one() -> None:
    lines: list[Line] = [
        (0, "Alice", "@QunBot 发票怎么报销？"),
        (20, "Bob", "今天中午吃火锅"),
        (40, "Carol", "谁有充电器？"),
        (60 * 30, "Dave", "发票报销找财务小王"),  # more than a day later
    ]
    assert answer_to("发票怎么报销？", lines) is None


def test_own_follow_ups_and_questions_are_not_answers() -> None:
    lines: list[Line] = [
        (0, "Alice", "@QunBot 打印机驱动在哪下载？"),
        (1, "Alice", "打印机驱动官网下载不了"),
        (2, "Bob", "打印机驱动你也找不到吗？"),
    ]
    assert answer_to("打印机驱动在哪下载？", lines) is None


@pytest.fixture
async def store(redis_url: str) -> AsyncIterator[UnansweredStore]:
    redis = Redis.from_url(redis_url)
    yield UnansweredStore(redis, timedelta(days=7))
    await redis.aclose()


def asked(question: str, event_id: str, asker: str = "alice", minute: int = 0) -> QuestionUnanswered:
    return QuestionUnanswered(
        id=f"e{event_id}",
        bot_id="bot",
        timestamp=START + timedelta(minutes=minute),
        question_id=event_id,
        room=ROOM,
        asker=ContactRef(id=asker, name=asker.title()),
        question=question,
    )


async def test_store_counts_spellings_together_once_per_event_and_numbers_listings(
    store: UnansweredStore,
) -> None:
    assert await store.record(asked("停车在哪里？", "1"))
    assert not await store.record(asked("停车在哪里？", "1"))  # redelivered
    assert await store.record(asked("停车在哪里?", "2", "bob", 5))  # half-width question mark
    assert await store.record(asked("Where is the wifi password", "3", minute=7))
    dm = asked("secret", "4").model_copy(update={"room": None})
    assert not await store.record(dm)
    recent = await store.recent(ROOM.id, START + timedelta(hours=1))
    assert [(r.question, r.count, r.asker_id) for _, r in recent] == [
        ("停车在哪里？", 2, "alice"),
        ("Where is the wifi password", 1, "alice"),
    ]
    assert recent[0][0] == question_key("停车在哪里？")
    assert isinstance(await store.listed(ROOM.id, 1), str)  # no listing yet
    await store.save_listing(ROOM.id, [key for key, _ in recent])
    second = await store.listed(ROOM.id, 2)
    assert isinstance(second, UnansweredRecord)
    assert second.question == "Where is the wifi password"
    assert await store.listed(ROOM.id, 3) == "no item 3: the latest listing has 2"
    await store.forget_asker(ROOM.id, "alice")
    assert await store.recent(ROOM.id, START + timedelta(hours=1)) == []
