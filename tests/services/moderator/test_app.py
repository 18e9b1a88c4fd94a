"""The moderator over real NATS + Redis: help from the registry, friend requests."""

from __future__ import annotations

from datetime import UTC, datetime

from examples.dingdong.app import service as dingdong
from schemas import AcceptFriendship, ContactRef, FriendshipRequested, new_id
from services.moderator.app import service as moderator
from tests.conftest import Bus, RunService
from tests.factories import message


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
