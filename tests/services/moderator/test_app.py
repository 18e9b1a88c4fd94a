"""The moderator over real NATS + Redis: help from the registry, friend requests."""

from __future__ import annotations

from datetime import UTC, datetime

from examples.dingdong.app import service as dingdong
from schemas import AcceptFriendship, ChatCommand, ContactRef, FriendshipRequested, MessageReceived, new_id
from services.moderator.app import service as moderator
from services.shared import Context, QunService, QunSettings
from tests.conftest import Bus, RunService
from tests.factories import message


def bells() -> QunService[QunSettings, None]:
    """A service members can use, with display names."""
    service: QunService[QunSettings, None] = QunService(
        "bells", version="1", settings=QunSettings, title_zh="铃铛", title_en="bells"
    )

    @service.command(
        ChatCommand(name="ring", keywords_zh=["响铃"], keywords_en=["ring"], usage_en="ring: I ring")
    )
    async def ring(event: MessageReceived, ctx: Context[QunSettings, None], args: str) -> None:
        await ctx.reply("🔔")

    return service


async def test_help_lists_exactly_the_running_services_members_can_use(
    bus: Bus, run_service: RunService
) -> None:
    async with run_service(moderator), run_service(dingdong):
        async with run_service(bells()):
            await bus.publish_event(message("help"))
            [with_bells] = await bus.says()
        await bus.publish_event(message("帮助"))
        [without] = await bus.says(lambda s: s.id != with_bells.id)
        await bus.publish_event(message("help ring"))
        [unknown] = await bus.says(lambda s: s.id not in {with_bells.id, without.id})
    assert "· bells: ring" in with_bells.text
    assert "· room admin: help, vote kick, unvote" in with_bells.text
    assert "ding" not in with_bells.text  # an internal example service is never listed
    assert len(with_bells.text.splitlines()) <= 12
    assert "铃铛" not in without.text
    assert "· 群管理：帮助、踢、[强]" in without.text
    assert unknown.text.startswith("No service or command called 'ring'.")


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
