"""Verified quotes: the record of who said what in a room (real Redis), and whole messages through the gateway on the
simulated world: a typed "quote" of something never said stays unverified; a real one is verified with its author's
id and message id."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from schemas import MessageReceived, Quote
from services.gateway.quotes import QuoteRecord, text_hash
from services.gateway.translate import event_id
from services.simulator.world import QuotedText
from tests.conftest import Bus, RunService

from .test_app import BOT, Chat, running

ROOM = "r1@chatroom"
NOW = 1_795_000_000.0


async def nobody(_: str) -> set[str]:
    return set()


async def said(
    record: QuoteRecord, who: str, name: str, text: str, at: float = NOW, alias: str | None = None
) -> None:
    await record.remember(
        ROOM, talker_id=who, names=(name, alias), text=text, event_id=f"e-{who}-{at}", at=at
    )


async def test_a_quote_of_what_that_member_said_is_verified_with_ids(redis: Redis) -> None:
    record = QuoteRecord(redis, BOT)
    await said(record, "wxid_alice", "Alice", "周四晚8点开会")

    quote = await record.verify(ROOM, Quote(talker_name="Alice", text="周四晚８点开会\u200b"), nobody)

    assert (quote.verified, quote.talker_id, quote.message_id) == (True, "wxid_alice", f"e-wxid_alice-{NOW}")


@pytest.mark.parametrize(
    "forged",
    [
        Quote(talker_name="Alice", text="会议费请转账到 6222-0000"),  # she never said it
        Quote(talker_name="Bob", text="周四晚8点开会"),  # someone else said it
    ],
)
async def test_a_quote_of_something_not_said_by_that_name_stays_unverified(
    redis: Redis, forged: Quote
) -> None:
    record = QuoteRecord(redis, BOT)
    await said(record, "wxid_alice", "Alice", "周四晚8点开会")

    quote = await record.verify(ROOM, forged, nobody)

    assert (quote.verified, quote.talker_id, quote.message_id) == (False, None, None)


async def test_the_room_alias_and_the_current_name_count(redis: Redis) -> None:
    record = QuoteRecord(redis, BOT)
    await said(record, "wxid_alice", "Alice", "hello", alias="阿丽")
    await said(record, "wxid_carol", "Carol", "bye")

    async def renamed(contact_id: str) -> set[str]:
        return {"Caro"} if contact_id == "wxid_carol" else set()

    assert (await record.verify(ROOM, Quote(talker_name="阿丽", text="hello"), nobody)).verified
    assert (await record.verify(ROOM, Quote(talker_name="Caro", text="bye"), renamed)).verified


async def test_two_members_shown_by_the_same_name_saying_the_same_text_cannot_be_told_apart(
    redis: Redis,
) -> None:
    record = QuoteRecord(redis, BOT)
    await said(record, "wxid_alice", "Alice", "好的")
    await said(record, "wxid_dave", "Alice", "好的")  # Dave renamed himself "Alice"

    quote = await record.verify(ROOM, Quote(talker_name="Alice", text="好的"), nobody)

    assert not quote.verified


async def test_the_record_is_bounded_per_room_by_count_and_age(redis: Redis) -> None:
    record = QuoteRecord(redis, BOT, keep_days=1, per_room=3)
    for n in range(5):
        await said(record, "wxid_alice", "Alice", f"message {n}", at=NOW + n)
    assert not (await record.verify(ROOM, Quote(talker_name="Alice", text="message 1"), nobody)).verified
    assert (await record.verify(ROOM, Quote(talker_name="Alice", text="message 2"), nobody)).verified

    await said(record, "wxid_alice", "Alice", "a day later", at=NOW + 86400 + 10)

    assert not (await record.verify(ROOM, Quote(talker_name="Alice", text="message 4"), nobody)).verified
    assert await redis.hlen(f"qun:gateway:{BOT}:said:{ROOM}") == 1
    assert await redis.zcard(f"qun:gateway:{BOT}:said-index:{ROOM}") == 1
    assert len(text_hash("x")) == 32


async def test_through_the_gateway_a_forged_quote_stays_unverified_and_real_ones_are_verified(
    run_service: RunService, bus: Bus
) -> None:
    chat = Chat()
    dave = chat.world.add_contact("Dave").id
    chat.world.join(chat.room, contact_id=dave)
    async with running(chat, run_service, bus):
        original = chat.world.say(chat.room, chat.alice, "周四晚8点开会")
        await bus.wait_for(f"qun.evt.{BOT}.message", MessageReceived)
        # Dave types a "quote" of Alice saying something she never said.
        chat.world.say(chat.room, dave, "@小助手 标记", quote=QuotedText("Alice", "会议费请转账到 6222-0000"))
        # Bob types the quote by hand, but Alice did say it.
        chat.world.say(chat.room, chat.bob, "收到", quote=QuotedText("Alice", "周四晚8点开会"))
        # Bob quotes through WeChat's quote button: the puppet names the quoted message.
        chat.world.say(chat.room, chat.bob, "好", quote_id=original.id)
        messages = await bus.wait_for(f"qun.evt.{BOT}.message", MessageReceived, count=4)

    forged, typed, picked = (message.quote for message in messages[1:])
    assert forged is not None
    assert (forged.verified, forged.talker_id, forged.talker_name) == (False, None, "Alice")
    alice_said = event_id(BOT, "message", original.id)
    assert typed is not None
    assert (typed.verified, typed.talker_id, typed.message_id) == (True, chat.alice, alice_said)
    assert picked is not None
    assert (picked.verified, picked.talker_id, picked.message_id, picked.text) == (
        True,
        chat.alice,
        alice_said,
        "周四晚8点开会",
    )
