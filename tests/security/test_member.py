"""What a member (anyone in a room, anyone who can message the bot) cannot do: one test per line of the README's
"Who can do what" table. Real nats-server and redis-server; the gateway on the simulated WeChat world where the line
is about what WeChat hands over."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from datetime import timedelta
from typing import Any

import pytest
from redis.asyncio import Redis

from examples.dingdong.app import service as dingdong
from schemas import AddToRoom, Contact, MessageReceived, Quote, RemoveFromRoom, SayText
from services.github_sync.neutralise import ZWJ
from services.moderator.app import service as moderator
from services.scheduler.app import service as scheduler
from services.shared import quotas
from services.shared.rooms import RoomStore
from services.simulator.world import QuotedText
from services.tagger.app import service as tagger
from services.tagger.replies import who_zh
from tests.conftest import Bus, RunService
from tests.factories import ALICE, BOB, OTHER_ROOM, ROOM, message
from tests.security.chat import ask, start_of_next_minute
from tests.services.gateway.test_app import BOT as GATEWAY_BOT
from tests.services.gateway.test_app import Chat, running
from tests.services.github_sync.fake_github import FakeGitHub
from tests.services.github_sync.test_app import (
    NOTICE_42,
    announce_issue_42,
    chat,
    commented,
    replies_to,
    say_all,
)

OWNER = Contact(id=ROOM.owner_id or "owner", name="Owner")
CAROL = Contact(id="carol", name="Carol")
DAVE = Contact(id="dave", name="Dave")
MALLORY_AS_ALICE = Contact(id="mallory", name="Alice", alias="Alice")
"""Mallory took Alice's name and room alias: everything Alice may do by name, she may do too."""
MALLORY_AS_OWNER = Contact(id="mallory", name=OWNER.name, alias=OWNER.name)


async def test_a_member_cannot_put_words_in_another_members_mouth(run_service: RunService, bus: Bus) -> None:
    """Dave types a "quote" of Alice (WeChat hands quotes over as text) and tags it: the bot later attributes it to
    Dave, never to Alice. A quote of what Alice really said is hers."""
    world = Chat()
    dave = world.world.add_contact("Dave").id
    world.world.join(world.room, contact_id=dave)
    other = world.world.add_room(  # one tag per room: each question has one answer
        "第二群", owner_id=world.alice, member_ids=[world.alice, world.bob], aliases={GATEWAY_BOT: "小助手"}
    ).id
    async with running(world, run_service, bus), run_service(tagger) as memory:
        world.world.say(other, world.alice, "周会改到周四晚上8点")
        await bus.wait_for(f"qun.evt.{GATEWAY_BOT}.message", MessageReceived)
        world.world.say(
            world.room, dave, "@小助手 标记 会费", quote=QuotedText("Alice", "会费请转账到 6222-0000")
        )
        world.world.say(
            other, world.bob, "@小助手 标记 周会", quote=QuotedText("Alice", "周会改到周四晚上8点")
        )
        await bus.says(lambda say: say.text.startswith("已标记 #1"), count=2)
        world.world.say(world.room, world.bob, "@小助手 问 会费请转账到哪个账户？")
        [forged] = await bus.says(lambda say: "6222" in say.text and "已标记" not in say.text)
        world.world.say(other, world.bob, "@小助手 问 周会几点开")
        [genuine] = await bus.says(lambda say: "周四晚上8点" in say.text and "已标记" not in say.text)
        deps = memory.context.deps
        [kept] = await deps.store.all(deps.bases.for_room(world.room))
        [real] = await deps.store.all(deps.bases.for_room(other))
    assert "Alice" not in forged.text  # an answer or a "did you mean": never credited to Alice
    assert (kept.verified, who_zh(kept)) == (False, "Dave 标记（引用未核实）")  # how any answer credits it
    assert (real.verified, who_zh(real)) == (True, "Alice")  # what Alice really said is hers
    assert "Dave" not in genuine.text


async def _tag_deleted_by_name(bus: Bus, stack: AsyncExitStack, run_service: RunService, **_: Any) -> None:
    await stack.enter_async_context(run_service(tagger))
    quote = Quote(talker_name="老王", text="周会在腾讯会议 612-338-905", verified=True, talker_id="laowang")
    assert (await ask(bus, message("标记 周会", quote=quote))).text.startswith("已标记 #1")  # Alice tags it
    refused = await ask(bus, message("删除 1", talker=MALLORY_AS_ALICE))
    assert refused.text.startswith("抱歉，#1")
    assert (await ask(bus, message("删除 1"))).text == "已删除 #1。"  # it was still there: Alice, by id


async def _reminder_cancelled_by_name(
    bus: Bus, stack: AsyncExitStack, run_service: RunService, **_: Any
) -> None:
    await stack.enter_async_context(run_service(scheduler, poll_interval_s=0.05))
    confirmation = await ask(bus, message("提醒 明天9点 交周报"))
    found = re.search(r"#(\d+)", confirmation.text)
    assert found is not None, confirmation.text
    number = found[1]
    refused = await ask(bus, message(f"取消提醒 {number}", talker=MALLORY_AS_ALICE))
    assert refused.text == f"只有设置提醒 #{number} 的人或管理员可以取消它。"
    assert (await ask(bus, message(f"取消提醒 {number}"))).text == f"已取消提醒 #{number}。"


async def _vote_withdrawn_by_name(bus: Bus, stack: AsyncExitStack, run_service: RunService, **_: Any) -> None:
    await stack.enter_async_context(run_service(moderator))

    def vote(body: str, talker: Contact) -> MessageReceived:
        return message(body, talker=talker, mentions_bot=False, mention_ids=[CAROL.id])

    assert (await ask(bus, vote("踢 @Carol", ALICE))).text.startswith("投票移出：1/3")
    assert (await ask(bus, vote("[强] @Carol", MALLORY_AS_ALICE))).text == "你还没有投过票。"
    assert (await ask(bus, vote("踢 @Carol", BOB))).text.startswith("投票移出：2/3")  # Alice's still counts


async def _comment_posted_by_name(
    bus: Bus, stack: AsyncExitStack, run_service: RunService, start: Any, fake_github: FakeGitHub
) -> None:
    """Comments for admins only: the owner's name and alias gain nothing."""
    fake_github.add_issue("acme/widgets", 42, "Login button does nothing on Safari")
    runtime = await stack.enter_async_context(start(commenters="admins"))
    await announce_issue_42(bus, runtime)
    notice = Quote(talker_name="QunBot", text=NOTICE_42)
    borrowed = message("我是群主", talker=MALLORY_AS_OWNER, quote=notice)
    await say_all(bus, borrowed)
    [refused] = await bus.says(replies_to(borrowed))
    await say_all(bus, message("群主的回复", talker=OWNER, quote=notice))
    await bus.says(commented)
    assert refused.text == "本群只有管理员可以把回复转成 GitHub 评论。"
    assert [c["body"].split("\n")[0] for c in fake_github.comments("acme/widgets")] == ["群主的回复"]


BorrowedName = Callable[..., Awaitable[None]]


@pytest.mark.parametrize(
    "case",
    [_tag_deleted_by_name, _reminder_cancelled_by_name, _vote_withdrawn_by_name, _comment_posted_by_name],
    ids=["delete-a-tag", "cancel-a-reminder", "withdraw-a-vote", "comment-on-github"],
)
async def test_a_member_cannot_act_as_another_by_taking_their_name(
    case: BorrowedName, bus: Bus, run_service: RunService, request: pytest.FixtureRequest
) -> None:
    """Identity is the contact id: a member who took Alice's (or the owner's) name and room alias may not delete
    Alice's tag, cancel her reminder, withdraw her vote, or comment where only admins may."""
    github = case is _comment_posted_by_name
    extra = {"start": request.getfixturevalue("start"), "fake_github": request.getfixturevalue("fake_github")}
    async with AsyncExitStack() as stack:
        await case(bus, stack, run_service, **(extra if github else {}))


async def test_a_member_cannot_use_admin_commands(bus: Bus, run_service: RunService, redis_url: str) -> None:
    """`admin_only` commands are refused before their handler runs, also for a member wearing the owner's name;
    the owner (by id) passes."""
    async with run_service(moderator):
        for body in ("设置语言 英文", "设为管理员 @Mallory", "关闭 提醒"):
            event = message(body, talker=MALLORY_AS_OWNER, mention_ids=["bot", "mallory"])
            refused = await ask(bus, event)
            assert refused.text == f"抱歉，「{body.split()[0]}」只有管理员可以使用。"
        assert (await ask(bus, message("设置语言 英文", talker=OWNER))).text.startswith("OK")
    redis = Redis.from_url(redis_url, decode_responses=True)
    try:
        prefs = await RoomStore(redis).prefs(ROOM.id)
    finally:
        await redis.aclose()
    assert (prefs.lang, prefs.admins, prefs.disabled_services) == ("en", frozenset(), frozenset())


async def test_a_member_spends_only_their_own_reply_budget(
    bus: Bus, run_service: RunService, redis_url: str
) -> None:
    """Eight requests in a minute get six answers and one "slow down"; spread over another room and direct
    messages, the day's budget (here ten, refused requests count too) still holds; the next member is answered; a contact the moderator muted
    for flooding by DM is answered by no service. (Behind this, the gateway's pacing and daily budgets hold for
    whatever services ask: see the line "another service".)"""
    budgets = {
        "quota_member_per_minute": 6,
        "quota_member_per_hour": 60,
        "quota_member_per_day": 10,
        "quota_room_per_minute": 30,
    }
    async with run_service(dingdong, **budgets) as runtime:
        runtime.clock.offset = start_of_next_minute()
        flood = [message("ding", talker=MALLORY_AS_ALICE) for _ in range(8)]
        elsewhere = [message("ding", room=OTHER_ROOM, talker=MALLORY_AS_ALICE) for _ in range(3)]
        by_dm = [message("ding", room=None, talker=MALLORY_AS_ALICE) for _ in range(3)]
        for batch in (flood, elsewhere, by_dm):  # one place after the other (places are handled in parallel)
            for event in batch:
                await bus.publish_event(event)
            await bus.consumer_settled("dingdong")
        bob = await ask(bus, message("ding", talker=BOB))
        redis = Redis.from_url(redis_url, decode_responses=True)
        try:
            await quotas.mute(redis, "bot", None, DAVE.id, runtime.clock.now() + timedelta(minutes=10))
        finally:
            await redis.aclose()
        muted = message("ding", room=None, talker=DAVE)
        await bus.publish_event(muted)
        carol = await ask(bus, message("ding", room=None, talker=CAROL))
        await bus.consumer_settled("dingdong")

    def said_to(events: list[MessageReceived]) -> list[str]:
        ids = {event.id for event in events}
        return [say.text for say in bus.commands(SayText) if say.reply_to in ids]

    assert said_to(flood).count("dong") == 6
    assert [text for text in said_to(flood) if text != "dong"] == [quotas.SLOW_DOWN.en]
    assert said_to(elsewhere).count("dong") == 2  # 8 + 2: the day's 10, wherever asked
    assert said_to(by_dm) == [quotas.SLOW_DOWN.en]
    assert (bob.text, carol.text) == ("dong", "dong")
    assert said_to([muted]) == []


async def test_a_member_cannot_vote_out_the_owner_an_admin_or_the_bot_nor_vote_twice(
    bus: Bus, run_service: RunService
) -> None:
    def vote(target: str, talker: Contact = MALLORY_AS_ALICE) -> MessageReceived:
        return message(f"踢 @{target}", talker=talker, mentions_bot=False, mention_ids=[target])

    async with run_service(moderator):
        made = await ask(bus, message("设为管理员 @Bob", talker=OWNER, mention_ids=["bot", BOB.id]))
        assert made.text.startswith("已")
        assert (await ask(bus, vote(OWNER.id))).text == "群主不能被投票移出。"
        assert (await ask(bus, vote(BOB.id))).text == "管理员不能被投票移出。"
        assert (await ask(bus, vote("bot"))).text == "我不能被投票移出哦 🙂"
        assert (await ask(bus, vote(CAROL.id))).text.startswith("投票移出：1/3")
        assert (await ask(bus, vote(CAROL.id))).text == "你已经投过票了（1/3）。"
        # The same person under another name is still one voter: the id counts, not the name.
        again = await ask(bus, vote(CAROL.id, Contact(id="mallory", name="Someone Else")))
        assert again.text == "你已经投过票了（1/3）。"
        await bus.consumer_settled("moderator")
    assert bus.commands(RemoveFromRoom) == []


async def test_a_member_cannot_guess_a_room_password(bus: Bus, run_service: RunService) -> None:
    """Each DM that could be a password spends one of five guesses an hour; after that even the right password is
    not checked for that contact (others are not locked out)."""
    password = "open-sesame-42"
    async with run_service(moderator, password_invites=True, password_secret="s" * 32):
        await bus.publish_event(message("大家好", talker=BOB, mentions_bot=False))
        await bus.consumer_settled("moderator")  # the room is known
        await ask(bus, message(f"设置进群密码 开源交流群 {password}", room=None, talker=OWNER))
        for guess in range(5):
            await ask(bus, message(f"guess-number-{guess}", room=None, talker=DAVE))
        await bus.publish_event(message(password, room=None, talker=DAVE))
        await bus.publish_event(message(password, room=None, talker=CAROL))
        [added] = await bus.wait_for("qun.cmd.bot.room.add", AddToRoom)
        await bus.consumer_settled("moderator")
    assert added.contact_id == CAROL.id
    assert [a.contact_id for a in bus.commands(AddToRoom)] == [CAROL.id]


async def test_a_member_cannot_ping_strangers_or_load_images_on_github(
    bus: Bus, start: Any, fake_github: FakeGitHub
) -> None:
    """Chat text filed as an issue keeps its links, but cannot mention GitHub users, reference other issues, load a
    remote image or inject HTML."""
    trigger = chat("以上2条开工单 登录失败", seconds=10)
    async with start():
        await say_all(
            bus,
            chat("@octocat 看下 #12 和 acme/other#3", seconds=1),
            chat(
                "![x](https://evil.example/p.png) <img src=https://evil.example/q.png> https://example.org/a",
                seconds=2,
            ),
            trigger,
        )
        await bus.says(lambda say: say.text.startswith("已创建 Issue"))
    [issue] = fake_github.issues("acme/widgets")
    body = issue["body"]
    assert f"@{ZWJ}octocat" in body
    assert f"#{ZWJ}12" in body
    assert f"acme/other#{ZWJ}3" in body
    assert "![" not in body.replace("\\![", "")
    assert "<img" not in body
    assert "https://example.org/a" in body
