"""A contact who floods the bot by direct message, over real NATS + Redis."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from schemas import SayText
from services.moderator.app import service as moderator
from tests.conftest import Bus, RunService
from tests.factories import message
from tests.services.moderator.people import CAROL, DAVE


async def test_one_warning_then_no_answer_until_the_mute_ends(bus: Bus, run_service: RunService) -> None:
    sent = datetime.now(UTC)
    async with run_service(moderator, flood_max_messages=5, dm_mute_s=600) as runtime:
        flood = [message(f"asdf {i}", room=None, talker=DAVE, timestamp=sent) for i in range(9)]
        for event in flood:
            await bus.publish_event(event)
        [warning] = await bus.says(lambda s: "too many messages" in s.text)
        await bus.publish_event(
            message("你好", room=None, talker=CAROL, timestamp=sent)
        )  # others are answered
        await bus.says(lambda s: s.contact_id == "carol")
        await bus.consumer_settled("moderator")
        during = len(bus.commands(SayText))
        later = sent + timedelta(seconds=601)
        runtime.clock.offset = timedelta(seconds=601)
        await bus.publish_event(message("你好", room=None, talker=DAVE, timestamp=later))
        [hello] = await bus.says(lambda s: s.contact_id == "dave" and "帮助" in s.text)
    to_dave = [s for s in bus.commands(SayText) if s.contact_id == "dave"]
    assert during == 7  # five answers and the warning to Dave, Carol's greeting
    assert len(to_dave) == 7  # ... and Dave's greeting once the mute is over
    assert warning.reply_to == flood[5].id  # the sixth within the window
    assert "10 minutes" in warning.text
    assert hello.text.startswith("你好")


async def test_with_the_plumbings_budgets_the_mute_outlasts_them(bus: Bus, run_service: RunService) -> None:
    """Reply budgets of 6 a minute per member: the plumbing says "slow down" once a minute; the moderator
    stays silent for the whole mute once the contact crossed its limit."""
    sent = datetime.now(UTC)
    budgets = {"quota_member_per_minute": 6, "quota_member_per_hour": 60}
    async with run_service(moderator, **budgets) as runtime:
        for i in range(12):
            await bus.publish_event(message(f"asdf {i}", room=None, talker=DAVE, timestamp=sent))
        await bus.says(lambda s: "歇一会儿" in s.text or "give me a minute" in s.text)
        await bus.consumer_settled("moderator")
        before = len(bus.commands(SayText))
        runtime.clock.offset = timedelta(seconds=61)  # the plumbing's minute is over
        await bus.publish_event(
            message("你好", room=None, talker=DAVE, timestamp=sent + timedelta(seconds=61))
        )
        await bus.consumer_settled("moderator")
    assert before == 7  # six answers, one "slow down"
    assert len(bus.commands(SayText)) == before  # still muted by the moderator: nothing more
