"""Room-admin commands over real NATS + Redis (with a small service to switch)."""

from __future__ import annotations

from examples.dingdong.app import service as dingdong
from schemas import MessageReceived, SayText, subjects
from services.moderator.app import service as moderator
from tests.conftest import Bus, RunService
from tests.factories import ALICE, BOB, ROOM, message
from tests.services.moderator.people import OWNER
from tests.services.moderator.test_app import bells


async def test_admin_commands_go_through_the_admin_check(bus: Bus, run_service: RunService) -> None:
    async with run_service(moderator), run_service(dingdong), run_service(bells()):
        await bus.publish_event(message("设为管理员 @Bob", talker=ALICE, mention_ids=["bot", "bob"]))
        [refusal] = await bus.says(lambda s: "管理员" in s.text)
        await bus.publish_event(message("设为管理员 @Bob", talker=OWNER, mention_ids=["bot", "bob"]))
        await bus.says(lambda s: "已设为" in s.text)
        await bus.publish_event(message("踢 @Bob", talker=ALICE, mentions_bot=False, mention_ids=["bob"]))
        await bus.says(lambda s: "管理员不能" in s.text)
        await bus.publish_event(message("关闭 铃铛", talker=BOB))  # by its display name
        await bus.says(lambda s: "已在本群关闭「铃铛」" in s.text)
        await bus.publish_event(message("关闭 群管理", talker=BOB))
        await bus.says(lambda s: "不能关闭" in s.text)
        await bus.publish_event(message("关闭 dingdong", talker=BOB))  # internal: not a name admins use
        [unknown] = await bus.says(lambda s: "没有叫「dingdong」的服务" in s.text)
        await bus.publish_event(message("ring", talker=ALICE))
        await bus.consumer_settled("moderator")
        await bus.consumer_settled("bells")
        await bus.publish_event(message("enable BELLS", talker=BOB))
        await bus.says(lambda s: "'bells' is on for this room." in s.text)
        await bus.publish_event(message("ring", talker=ALICE))
        await bus.says(lambda s: s.text == "🔔")
    assert refusal.text.startswith("抱歉")
    assert unknown.text.endswith("可以开关：铃铛")  # the valid names, by display name, the moderator left out
    assert len([s for s in bus.commands(SayText) if s.text == "🔔"]) == 1


async def test_room_language_and_time_zone_are_set_by_admins(bus: Bus, run_service: RunService) -> None:
    async with run_service(moderator) as runtime:
        await bus.publish_event(message("设置语言 英文", talker=ALICE))
        [refusal] = await bus.says(lambda s: "管理员" in s.text)
        await bus.publish_event(message("设置语言 英文", talker=OWNER))
        [in_english] = await bus.says(lambda s: "English" in s.text)
        await bus.publish_event(message("踢 @Owner", talker=ALICE, mentions_bot=False, mention_ids=["owner"]))
        [immune] = await bus.says(lambda s: "owner" in s.text)
        await bus.publish_event(message("设置时区 asia/tokyo", talker=OWNER))
        [tokyo] = await bus.says(lambda s: "Asia/Tokyo" in s.text)
        zone_after_set = (await runtime.context.room(ROOM.id)).timezone
        await bus.publish_event(message("set timezone Mars/Base", talker=OWNER))
        [unknown] = await bus.says(lambda s: "Mars/Base" in s.text)
        auto = message("设置语言 自动", talker=OWNER)
        await bus.publish_event(auto)
        await bus.says(lambda s: "每条消息" in s.text)
        # Redelivered after the room's language changed back: the same words, so the same id, dropped.
        await bus.publish_raw(
            subjects.event(auto.bot_id, MessageReceived), auto.model_dump_json().encode(), "2"
        )
        [first, again] = await bus.says(lambda s: "每条消息" in s.text, count=2)
        await bus.publish_event(message("设置时区 默认", talker=OWNER))
        [reset] = await bus.says(lambda s: "默认" in s.text)
        prefs = await runtime.context.room(ROOM.id)
        default_zone = runtime.context.settings.timezone
        await bus.consumer_settled("moderator")
        stored = await bus.js.stream_info("QUN_CMD")
    assert refusal.text.startswith("抱歉")
    assert in_english.text.startswith("OK, from now on I answer in English")
    # Asked in Chinese, answered in the room's language.
    assert immune.text == "The room owner can't be voted out."
    assert "(it is " in tokyo.text
    assert zone_after_set == "Asia/Tokyo"
    assert unknown.text.startswith("Unknown time zone 'Mars/Base'")
    assert f"（{default_zone}）" in reset.text  # QUN_TIMEZONE
    assert (prefs.lang, prefs.timezone) == (None, None)
    assert first == again  # byte for byte, id included
    assert stored.state.messages == len(bus.commands(SayText)) - 1  # all but the redelivered confirmation


async def test_room_commands_in_a_direct_message_get_the_plumbings_one_answer(
    bus: Bus, run_service: RunService
) -> None:
    async with run_service(moderator):
        for body in ("关闭 提醒", "踢 @Bob", "设置时区 Asia/Tokyo"):
            await bus.publish_event(message(body, room=None, talker=OWNER))
        await bus.publish_event(message("踢球去吗", talker=ALICE))  # said to me: not a vote
        await bus.publish_event(
            message("踢球去吗", talker=BOB, mentions_bot=False)
        )  # chat: nobody's business
        await bus.says(count=4)
        await bus.consumer_settled("moderator")
    by_place = sorted((say.room_id or "", say.text) for say in bus.commands(SayText))
    assert by_place == [("", "这个命令只能在群里用。")] * 3 + [(ROOM.id, "用法：踢 @某人（或 [弱] @某人）")]
