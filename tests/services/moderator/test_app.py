"""The moderator over real NATS + Redis: each test starts its own servers and the services it needs."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import redis.asyncio

from examples.dingdong.app import service as dingdong
from schemas import (
    AcceptFriendship,
    AddToRoom,
    Contact,
    ContactRef,
    FriendshipRequested,
    RemoveFromRoom,
    Room,
    SayText,
    new_id,
)
from services.moderator import keys
from services.moderator.app import service as moderator
from tests.conftest import Bus, RunService
from tests.factories import ALICE, BOB, ROOM, joined, message

CAROL = Contact(id="carol", name="Carol")
DAVE = Contact(id="dave", name="Dave")
OWNER = Contact(id="owner", name="Owner")  # ROOM's owner


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


async def test_help_lists_exactly_the_running_services(bus: Bus, run_service: RunService) -> None:
    async with run_service(moderator):
        async with run_service(dingdong):
            await bus.publish_event(message("help"))
            [with_dingdong] = await bus.says()
        await bus.publish_event(message("帮助"))
        [without] = await bus.says(lambda s: s.id != with_dingdong.id)
        await bus.publish_event(message("help ding"))
        [unknown] = await bus.says(lambda s: s.id not in {with_dingdong.id, without.id})
    assert with_dingdong.text.count("【") == 2
    assert "【dingdong】 answers ding" in with_dingdong.text
    assert "【moderator】 welcome" in with_dingdong.text
    assert "· ding — I answer dong" in with_dingdong.text
    assert without.text.count("【") == 1
    assert "dingdong" not in without.text
    assert "No service or command called 'ding'" in unknown.text


async def test_password_invite_both_paths(bus: Bus, run_service: RunService, redis_url: str) -> None:
    async with run_service(moderator, password_secret="test-secret"):
        await bus.publish_event(
            message("大家好", talker=BOB, mentions_bot=False)
        )  # the room and Bob are seen
        await bus.publish_event(message("设置进群密码 开源交流群 sesame42", talker=ALICE, mentions_bot=False))
        [refused] = await bus.says(lambda s: s.room_id == ROOM.id)
        await bus.publish_event(message("设置进群密码 开源交流群 芝麻开门", room=None, talker=BOB))
        await bus.says(lambda s: s.contact_id == "bob" and "管理员" in s.text)
        await bus.publish_event(message("设置进群密码 开源交流群 芝麻开门", room=None, talker=OWNER))
        await bus.says(lambda s: s.contact_id == "owner" and "已设置" in s.text)

        await bus.publish_event(message("芝麻开门", room=None, talker=CAROL))
        [added] = await bus.wait_for("qun.cmd.bot.room.add", AddToRoom)
        await bus.says(lambda s: s.contact_id == "carol")
        await bus.publish_event(message("  芝麻开门 ", room=None, talker=BOB))
        [nudge] = await bus.says(lambda s: s.room_id == ROOM.id and s.mention_ids == ["bob"])
        await bus.says(lambda s: s.contact_id == "bob" and "已经在" in s.text)
        await bus.publish_event(message("wrong guess", room=None, talker=DAVE))
        await bus.consumer_settled("moderator")
        stored = await _everything_in(redis_url)
    assert "私聊" in refused.text
    assert (added.room_id, added.contact_id) == (ROOM.id, "carol")
    assert nudge.text.startswith("👋")
    assert not [s for s in bus.commands(SayText) if s.contact_id == "dave"]
    assert len(bus.commands(AddToRoom)) == 1
    assert "芝麻开门" not in stored
    assert "sesame42" not in stored  # the one typed in the group was not stored either


async def _everything_in(redis_url: str) -> str:
    """Every key, hash and string value in Redis, as one string (to show what is not stored)."""
    client = redis.asyncio.Redis.from_url(redis_url, decode_responses=True)
    try:
        dumped = []
        for key in await client.keys("*"):
            kind = await client.type(key)
            if kind == "hash":
                dumped.append(repr(await client.hgetall(key)))
            elif kind == "string":
                dumped.append(repr(await client.get(key)))
            dumped.append(repr(key))
        return "\n".join(dumped)
    finally:
        await client.aclose()


async def test_welcome_batches_joins_across_replicas(
    bus: Bus, run_service: RunService, redis_url: str
) -> None:
    settings = {"welcome_window_s": 60.0, "welcome_tick_s": 0.02}
    async with run_service(moderator, **settings) as first, run_service(moderator, **settings) as second:
        for name in ("Ann", "Ben", "Cat", "Dan"):
            await bus.publish_event(joined(name))
        await bus.consumer_settled("moderator")
        assert bus.commands(SayText) == []  # still within the batching window
        for replica in (first, second):
            replica.clock.offset = timedelta(seconds=61)
        [welcome] = await bus.says()
        await _until_no_batch_is_due(redis_url)
    assert welcome.room_id == ROOM.id
    names = welcome.text.removeprefix("欢迎 ").split(" 加入")[0]
    assert sorted(names.split("、")) == ["Ann", "Ben", "Cat", "Dan"]  # in the order the replicas handled them
    assert "开源交流群" in welcome.text
    assert len(bus.commands(SayText)) == 1


async def test_welcome_survives_the_replica_that_saw_the_first_join(
    bus: Bus, run_service: RunService, redis_url: str
) -> None:
    settings = {"welcome_window_s": 60.0, "welcome_tick_s": 0.02}
    async with run_service(moderator, **settings):
        await bus.publish_event(joined("Ann"))
        await bus.consumer_settled("moderator")
    async with run_service(moderator, **settings) as survivor:
        await bus.publish_event(joined("Ben"))
        await bus.consumer_settled("moderator")
        survivor.clock.offset = timedelta(seconds=61)
        [welcome] = await bus.says()
    assert "Ann、Ben" in welcome.text


async def _until_no_batch_is_due(redis_url: str, timeout: float = 5.0) -> None:
    client = redis.asyncio.Redis.from_url(redis_url, decode_responses=True)
    try:
        deadline = time.monotonic() + timeout
        while await client.zcard(keys.WELCOME_DUE):
            assert time.monotonic() < deadline, "a welcome batch was never finished"
            await asyncio.sleep(0.01)
    finally:
        await client.aclose()


async def test_flood_warns_once_then_applies_the_room_policy(bus: Bus, run_service: RunService) -> None:
    async with run_service(moderator):
        await bus.publish_event(message("设置刷屏 踢出 3/60", talker=OWNER))
        await bus.says(lambda s: "刷屏规则" in s.text and "60 秒最多 3 条" in s.text)
        for i in range(4):
            await bus.publish_event(message(f"刷屏 {i}", talker=DAVE, mentions_bot=False))
        [warning] = await bus.says(lambda s: "请不要刷屏" in s.text)
        for i in range(4):
            await bus.publish_event(message(f"again {i}", talker=DAVE, mentions_bot=False))
        [removal] = await bus.wait_for("qun.cmd.bot.room.remove", RemoveFromRoom)
        await bus.consumer_settled("moderator")
    assert warning.mention_ids == ["dave"]
    assert (removal.contact_id, removal.room_id) == ("dave", ROOM.id)
    assert len(bus.commands(RemoveFromRoom)) == 1


async def test_flood_vote_policy_opens_a_vote_and_the_bots_own_messages_never_count(
    bus: Bus, run_service: RunService
) -> None:
    bot = Contact(id="bot", name="QunBot")
    async with run_service(moderator, flood_max_messages=2, flood_policy="vote"):
        for i in range(6):
            await bus.publish_event(message(f"echo {i}", talker=bot, mentions_bot=False, from_self=True))
        for i in range(6):
            await bus.publish_event(message(f"刷 {i}", talker=DAVE, mentions_bot=False))
        await bus.says(lambda s: "已发起移出投票" in s.text)
        [opened] = await bus.says(lambda s: "1/3" in s.text)
        await bus.consumer_settled("moderator")
    assert opened.mention_ids == ["dave"]
    assert bus.commands(RemoveFromRoom) == []
    assert not [s for s in bus.commands(SayText) if "bot" in s.mention_ids]


async def test_stale_joins_are_recorded_but_not_greeted(
    bus: Bus, run_service: RunService, redis_url: str
) -> None:
    async with run_service(moderator, max_event_age_s=0.001):  # every event is stale by the time it is read
        await bus.publish_event(joined("Ann"))
        await bus.consumer_settled("moderator")
        client = redis.asyncio.Redis.from_url(redis_url, decode_responses=True)
        members = await client.smembers(keys.room_members("bot", ROOM.id))
        batches = await client.zcard(keys.WELCOME_DUE)
        await client.aclose()
    assert members == {"ann"}
    assert batches == 0
    assert bus.commands(SayText) == []


async def test_room_welcome_template_set_by_an_admin(bus: Bus, run_service: RunService) -> None:
    async with run_service(moderator, welcome_window_s=60.0, welcome_tick_s=0.02) as runtime:
        await bus.publish_event(message("设置欢迎语 Welcome {names} to {topic}!", talker=OWNER))
        await bus.says(lambda s: "已设置欢迎语" in s.text)
        await bus.publish_event(joined("Ann"))
        await bus.consumer_settled("moderator")
        runtime.clock.offset = timedelta(seconds=61)
        [welcome] = await bus.says(lambda s: s.text.startswith("Welcome"))
    assert welcome.text == "Welcome Ann to 开源交流群!"


async def test_friend_request_with_keyword_is_accepted_and_greeted(bus: Bus, run_service: RunService) -> None:
    def request(hello: str, who: str) -> FriendshipRequested:
        return FriendshipRequested(
            id=new_id(),
            bot_id="bot",
            timestamp=datetime.now(UTC),
            friendship_id=f"fr-{who}",
            contact=ContactRef(id=who, name=who),
            hello=hello,
        )

    async with run_service(moderator, friend_keywords=("读书会",)):
        await bus.publish_event(request("你好", "stranger"))
        await bus.publish_event(request("我是读书会的", "reader"))
        [accepted] = await bus.wait_for("qun.cmd.bot.friendship.accept", AcceptFriendship)
        [greeting] = await bus.says()
        await bus.consumer_settled("moderator")
    assert accepted.friendship_id == "fr-reader"
    assert greeting.contact_id == "reader"
    assert len(bus.commands(AcceptFriendship)) == 1


async def test_admin_commands_go_through_the_admin_check(bus: Bus, run_service: RunService) -> None:
    async with run_service(moderator), run_service(dingdong):
        await bus.publish_event(message("设为管理员 @Bob", talker=ALICE, mention_ids=["bot", "bob"]))
        [refusal] = await bus.says(lambda s: "管理员" in s.text)
        await bus.publish_event(message("设为管理员 @Bob", talker=OWNER, mention_ids=["bot", "bob"]))
        await bus.says(lambda s: "已设为" in s.text)
        await bus.publish_event(message("踢 @Bob", talker=ALICE, mentions_bot=False, mention_ids=["bob"]))
        await bus.says(lambda s: "管理员不能" in s.text)
        await bus.publish_event(message("关闭 dingdong", talker=BOB))
        await bus.says(lambda s: "已在本群关闭 dingdong" in s.text)
        await bus.publish_event(message("关闭 moderator", talker=BOB))
        await bus.says(lambda s: "不能在这里关闭" in s.text)
        await bus.publish_event(message("ding", talker=ALICE))
        await bus.consumer_settled("moderator")
        await bus.consumer_settled("dingdong")
    assert refusal.text.startswith("抱歉")
    assert not [s for s in bus.commands(SayText) if s.text == "dong"]


def _room(member_count: int) -> Room:
    return ROOM.model_copy(update={"member_count": member_count})


async def test_small_room_needs_fewer_votes(bus: Bus, run_service: RunService) -> None:
    async with run_service(moderator):
        await bus.publish_event(
            message("踢 @Dave", room=_room(3), talker=ALICE, mentions_bot=False, mention_ids=["dave"])
        )
        [removal] = await bus.wait_for("qun.cmd.bot.room.remove", RemoveFromRoom)
    assert "1/1" in removal.reason
