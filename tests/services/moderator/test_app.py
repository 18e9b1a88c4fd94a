"""The moderator over real NATS + Redis: help from the registry, friend requests."""

from __future__ import annotations

from datetime import UTC, datetime

from examples.dingdong.app import service as dingdong
from schemas import (
    AcceptFriendship,
    ChatCommand,
    Contact,
    ContactRef,
    FriendshipRequested,
    MessageReceived,
    SayText,
    new_id,
)
from services.moderator.app import service as moderator
from services.shared import Context, QunService, QunSettings
from tests.conftest import Bus, RunService
from tests.factories import ALICE, BOB, message


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


async def test_names_and_aliases_gain_nothing_identity_is_the_contact_id(
    bus: Bus, run_service: RunService
) -> None:
    """Mallory calls herself "Alice" and takes "Owner" as her room alias: votes, withdrawals, admin rights and
    immunity still go by contact id."""
    mallory = Contact(id="mallory", name="Alice", alias="Owner")
    invites = {"password_invites": True, "password_secret": "test-secret-kept-outside-redis"}
    async with run_service(moderator, **invites):
        await bus.publish_event(message("[弱] @Dave", talker=ALICE, mentions_bot=False, mention_ids=["dave"]))
        await bus.says(lambda s: "1/3" in s.text)
        withdraw = message("[强] @Dave", talker=mallory, mentions_bot=False, mention_ids=["dave"])
        await bus.publish_event(withdraw)  # "Alice" withdraws Alice's vote?
        await bus.publish_event(message("[弱] @Dave", talker=BOB, mentions_bot=False, mention_ids=["dave"]))
        [two] = await bus.says(lambda s: "2/3" in s.text)
        admin_try = message("设置语言 英文", talker=mallory)  # the owner's name as alias: no admin rights
        await bus.publish_event(admin_try)
        against = message("踢 @Owner", talker=BOB, mentions_bot=False, mention_ids=["mallory"])
        await bus.publish_event(against)  # her alias is the owner's name: no owner immunity
        await bus.publish_event(message("设置进群密码 开源交流群 open-sesame-42", room=None, talker=mallory))
        await bus.says(lambda s: s.contact_id == "mallory")
        await bus.consumer_settled("moderator")
    replies = {say.reply_to: say for say in bus.commands(SayText)}
    assert replies[withdraw.id].text == "你还没有投过票。"
    assert replies[withdraw.id].mention_ids == ["mallory"]
    assert two.reply_to != withdraw.id  # Alice's vote still counted: Bob's made it 2/3
    assert replies[admin_try.id].text.startswith("抱歉")
    assert "1/3" in replies[against.id].text  # a vote like any other
    assert [s.text for s in bus.commands(SayText) if s.contact_id == "mallory"] == [
        "只有该群的管理员可以设置进群密码。"
    ]
