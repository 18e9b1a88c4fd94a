"""What room admins, room owners and global admins (QUN_ADMINS) may do, and where it stops: one test per line of
the README's "Who can do what" table. Real nats-server and redis-server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from redis.asyncio import Redis

from examples.dingdong.app import service as dingdong
from schemas import Contact, MessageReceived, SayText
from services.moderator.app import service as moderator
from services.shared import quotas
from services.shared.rooms import RoomStore
from tests.conftest import Bus, RunService
from tests.factories import BOB, OTHER_ROOM, ROOM, message
from tests.security.chat import ask, start_of_next_minute
from tests.services.github_sync.test_app import replies_to, say_all

OWNER = Contact(id=ROOM.owner_id or "owner", name="Owner")
ROOT = Contact(id="root", name="Root")
"""In QUN_ADMINS; neither the owner nor a room admin of any room."""
SECRET = {"password_invites": True, "password_secret": "k" * 32}


async def _appoint(bus: Bus, who: Contact, by: Contact = OWNER) -> None:
    made = await ask(bus, message(f"设为管理员 @{who.name}", talker=by, mention_ids=["bot", who.id]))
    assert made.text == "已设为本群管理员（1 人）。"


async def _prefs(redis_url: str, room_id: str) -> Any:
    redis = Redis.from_url(redis_url, decode_responses=True)
    try:
        return await RoomStore(redis).prefs(room_id)
    finally:
        await redis.aclose()


async def test_a_room_admin_rules_their_room_and_no_other(
    bus: Bus, run_service: RunService, redis_url: str
) -> None:
    """Bob, made an admin of 开源交流群, sets its language and its password; in Test Room, where he is a member like
    any other, both are refused."""
    async with run_service(moderator, **SECRET):
        await _appoint(bus, BOB)
        await bus.publish_event(message("大家好", room=OTHER_ROOM, talker=BOB, mentions_bot=False))
        await bus.consumer_settled("moderator")  # both rooms are known to the moderator
        here = await ask(bus, message("设置语言 英文", talker=BOB))
        there = await ask(bus, message("设置语言 英文", room=OTHER_ROOM, talker=BOB))
        password_here = await ask(
            bus, message("设置进群密码 开源交流群 open-sesame-42", room=None, talker=BOB)
        )
        password_there = await ask(
            bus, message("设置进群密码 Test Room open-sesame-43", room=None, talker=BOB)
        )
    assert here.text.startswith("OK")
    assert there.text == "抱歉，「设置语言」只有管理员可以使用。"
    assert password_here.text.startswith("已设置「开源交流群」的进群密码")
    assert password_there.text == "只有该群的管理员可以设置进群密码。"
    assert (await _prefs(redis_url, ROOM.id)).lang == "en"
    assert (await _prefs(redis_url, OTHER_ROOM.id)).lang is None


async def test_a_room_admin_binds_only_repositories_the_operator_allows(
    bus: Bus, start: Any, redis_url: str
) -> None:
    """What is bound is written to with the operator's GitHub token: a room admin may bind only what the
    operator's allow-list (`allow:` in GITHUB_SYNC_CONFIG, here `acme/*`) names."""
    redis = Redis.from_url(redis_url, decode_responses=True)
    try:
        await RoomStore(redis).add_admin(ROOM.id, BOB.id)  # as the moderator stores `设为管理员 @Bob`
    finally:
        await redis.aclose()
    outside = message("绑定 corp/private", talker=BOB)
    inside = message("绑定 acme/gadgets", talker=BOB)
    status = message("仓库设置", talker=BOB)
    async with start():
        for event in (outside, inside, status):
            await say_all(bus, event)
            await bus.says(replies_to(event))
    said = {say.reply_to: say.text for say in bus.commands(SayText)}
    assert said[outside.id].startswith("corp/private 不在允许绑定的仓库之列")
    assert said[inside.id].startswith("已绑定 acme/gadgets")
    assert "acme/gadgets" in said[status.id]
    assert "corp/private" not in said[status.id]


async def test_the_room_owner_is_an_admin_no_chat_command_can_demote(
    bus: Bus, run_service: RunService
) -> None:
    """WeChat says who owns a room (the gateway's `Room.owner_id`); `取消管理员` changes only the admins added in
    chat. A room admin who removes the owner and the global admin has removed nobody."""
    async with run_service(moderator, admins=frozenset({ROOT.id})):
        await _appoint(bus, BOB)
        removed = await ask(
            bus, message("取消管理员 @Owner @Root", talker=BOB, mention_ids=["bot", OWNER.id, ROOT.id])
        )
        assert removed.text.startswith("已取消管理员")
        owner = await ask(bus, message("取消管理员 @Bob", talker=OWNER, mention_ids=["bot", BOB.id]))
        assert owner.text.startswith("已取消管理员")  # the owner is still an admin: the command ran
        root = await ask(bus, message("设置语言 中文", talker=ROOT))
        assert root.text.startswith("好的")
        bob = await ask(bus, message("设置语言 英文", talker=BOB))
        assert bob.text == "抱歉，「设置语言」只有管理员可以使用。"  # demoted by the owner


async def test_a_global_admin_is_an_admin_everywhere_and_never_rationed(
    bus: Bus, run_service: RunService, redis_url: str
) -> None:
    """QUN_ADMINS: an admin in rooms they neither own nor were made admin of, not held to reply budgets, never
    muted."""
    budgets = {"quota_member_per_minute": 3, "quota_member_per_hour": 3, "admins": frozenset({ROOT.id})}
    async with run_service(moderator, admins=frozenset({ROOT.id})):
        assert (await ask(bus, message("设置语言 英文", room=OTHER_ROOM, talker=ROOT))).text.startswith("OK")
    assert (await _prefs(redis_url, OTHER_ROOM.id)).lang == "en"
    ahead = start_of_next_minute()
    redis = Redis.from_url(redis_url, decode_responses=True)
    try:
        await quotas.mute(redis, "bot", ROOM.id, ROOT.id, datetime.now(UTC) + ahead + timedelta(minutes=10))
    finally:
        await redis.aclose()
    async with run_service(dingdong, **budgets) as runtime:
        runtime.clock.offset = ahead
        root = [message("ding", talker=ROOT) for _ in range(10)]
        member = [message("ding", talker=BOB) for _ in range(10)]
        for event in (*root, *member):
            await bus.publish_event(event)
        await bus.consumer_settled("dingdong")

    def answered(events: list[MessageReceived]) -> int:
        ids = {event.id for event in events}
        return len([say for say in bus.commands(SayText) if say.reply_to in ids and say.text == "dong"])

    assert (answered(root), answered(member)) == (10, 3)
