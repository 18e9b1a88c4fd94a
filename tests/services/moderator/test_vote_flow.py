"""Vote-kick over real NATS + Redis."""

from __future__ import annotations

from schemas import Contact, MessageReceived, RemoveFromRoom, Room, SayText, subjects
from services.moderator.app import service as moderator
from tests.conftest import Bus, RunService
from tests.factories import ALICE, BOB, BOT, ROOM, message
from tests.services.moderator.people import CAROL


async def test_vote_kick_ends_in_removal(bus: Bus, run_service: RunService) -> None:
    async with run_service(moderator):
        await bus.publish_event(message("[弱] @Dave", talker=ALICE, mentions_bot=False, mention_ids=["dave"]))
        await bus.says(lambda s: "1/3" in s.text)
        await bus.publish_event(message("@Dave [弱]", talker=BOB, mentions_bot=False, mention_ids=["dave"]))
        [two] = await bus.says(lambda s: "2/3" in s.text)
        await bus.publish_event(
            message("vote kick @Dave", talker=CAROL, mentions_bot=False, mention_ids=["dave"])
        )
        [removal] = await bus.wait_for("qun.cmd.bot.room.remove", RemoveFromRoom)
        [why] = await bus.says(lambda s: "3/3" in s.text)
        await bus.consumer_settled("moderator")
    assert (two.room_id, two.mention_ids) == (ROOM.id, ["dave"])
    assert (removal.room_id, removal.contact_id) == (ROOM.id, "dave")
    assert "3/3" in removal.reason
    assert why.mention_ids == ["dave"]
    assert why.text.startswith("3 members voted")  # the last vote was in English


async def test_vote_kick_immunity_and_withdrawal(bus: Bus, run_service: RunService) -> None:
    async with run_service(moderator):
        await bus.publish_event(message("踢 @Owner", talker=ALICE, mentions_bot=False, mention_ids=["owner"]))
        await bus.says(lambda s: "群主" in s.text)
        await bus.publish_event(message("踢 @Alice", talker=ALICE, mentions_bot=False, mention_ids=["alice"]))
        await bus.says(lambda s: "自己" in s.text)
        await bus.publish_event(message("踢 @Dave", talker=ALICE, mentions_bot=False, mention_ids=["dave"]))
        await bus.says(lambda s: "1/3" in s.text)
        await bus.publish_event(message("[强] @Dave", talker=ALICE, mentions_bot=False, mention_ids=["dave"]))
        await bus.says(lambda s: "撤回" in s.text and "0/3" in s.text)
        await bus.consumer_settled("moderator")
    assert bus.commands(RemoveFromRoom) == []


async def test_a_redelivered_vote_is_announced_once(bus: Bus, run_service: RunService) -> None:
    alice_votes = message("[弱] @Dave", talker=ALICE, mentions_bot=False, mention_ids=["dave"])
    alice_withdraws = message("[强] @Dave", talker=ALICE, mentions_bot=False, mention_ids=["dave"])

    async def redeliver(event: MessageReceived, msg_id: str) -> None:
        # The same event under another Nats-Msg-Id: JetStream delivers it again, as after a failed attempt.
        await bus.publish_raw(subjects.event(BOT, MessageReceived), event.model_dump_json().encode(), msg_id)

    async with run_service(moderator):
        await bus.publish_event(alice_votes)
        await bus.says(lambda s: "1/3" in s.text)
        await bus.publish_event(message("[弱] @Dave", talker=BOB, mentions_bot=False, mention_ids=["dave"]))
        await bus.says(lambda s: "2/3" in s.text)
        # After Bob's vote: a fresh tally would now say "2/3", or "you have already voted".
        await redeliver(alice_votes, "again-1")
        await bus.consumer_settled("moderator")
        after_votes = (await bus.js.stream_info("QUN_CMD")).state.messages
        await bus.publish_event(alice_withdraws)
        await bus.says(lambda s: "撤回" in s.text)
        await redeliver(alice_withdraws, "again-2")
        await bus.consumer_settled("moderator")
        stored = await bus.js.stream_info("QUN_CMD")
    assert len(bus.matching("qun.evt.bot.message")) == 5  # both events really came twice
    assert after_votes == 2  # "1/3" and "2/3"; the second "1/3" had the same id and was dropped
    assert stored.state.messages == 3  # one withdrawal, though handled twice


def _room(member_count: int) -> Room:
    return ROOM.model_copy(update={"member_count": member_count})


async def test_small_room_needs_fewer_votes(bus: Bus, run_service: RunService) -> None:
    async with run_service(moderator):
        await bus.publish_event(
            message("踢 @Dave", room=_room(3), talker=ALICE, mentions_bot=False, mention_ids=["dave"])
        )
        [removal] = await bus.wait_for("qun.cmd.bot.room.remove", RemoveFromRoom)
    assert "1/1" in removal.reason


async def test_every_vote_reply_names_the_right_person(bus: Bus, run_service: RunService) -> None:
    def vote(text: str, talker: Contact, target: str = "dave") -> MessageReceived:
        return message(text, talker=talker, mentions_bot=False, mention_ids=[target])

    async with run_service(moderator):
        cast, again = vote("[弱] @Dave", ALICE), vote("[弱] @Dave", ALICE)
        never, own = vote("[强] @Dave", BOB), vote("踢 @Alice", ALICE, target="alice")
        owner = vote("踢 @Owner", BOB, target="owner")
        for event in (cast, again, never, own, owner):
            await bus.publish_event(event)
        await bus.says(count=5)
        await bus.consumer_settled("moderator")
    to = {say.reply_to: (say.text, say.mention_ids) for say in bus.commands(SayText)}
    assert to[cast.id] == (to[cast.id][0], ["dave"])  # a new vote tells the member voted on
    assert to[again.id] == ("你已经投过票了（1/3）。", ["alice"])  # the voter, not Dave
    assert to[never.id] == ("你还没有投过票。", ["bob"])
    assert to[own.id] == ("不能投票移出自己。", ["alice"])
    assert to[owner.id] == ("群主不能被投票移出。", ["bob"])
