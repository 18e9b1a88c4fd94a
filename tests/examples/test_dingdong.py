from examples.dingdong.app import service
from schemas import SayText
from tests.conftest import Bus, RunService
from tests.factories import ROOM, message


async def test_ding_in_a_direct_message_gets_dong(bus: Bus, run_service: RunService) -> None:
    async with run_service(service):
        event = message("ding", room=None, mentions_bot=False)
        await bus.publish_event(event)
        [reply] = await bus.says()
    assert reply == SayText(id=reply.id, contact_id="alice", text="dong", reply_to=event.id)


async def test_ding_in_a_room_needs_the_bot_mentioned(bus: Bus, run_service: RunService) -> None:
    async with run_service(service):
        await bus.publish_event(message("ding", mentions_bot=False))
        mentioned = message("ding")
        await bus.publish_event(mentioned)
        [reply] = await bus.says()
        await bus.consumer_settled("dingdong")
    assert (reply.room_id, reply.text, reply.reply_to) == (ROOM.id, "dong", mentioned.id)
    assert len(bus.commands(SayText)) == 1
