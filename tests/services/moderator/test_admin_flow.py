"""Room-admin commands over real NATS + Redis (with the dingdong example as a service to switch)."""

from __future__ import annotations

from examples.dingdong.app import service as dingdong
from schemas import SayText
from services.moderator.app import service as moderator
from tests.conftest import Bus, RunService
from tests.factories import ALICE, BOB, message
from tests.services.moderator.people import OWNER


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
