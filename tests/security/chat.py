"""What every line of the table does: say something as a member, read the bot's one answer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from schemas import MessageReceived, SayText
from tests.conftest import Bus


async def ask(bus: Bus, event: MessageReceived, **wait: Any) -> SayText:
    """Publish a chat message as the gateway would; the one reply to it."""
    await bus.publish_event(event)
    [reply] = await bus.says(lambda say: say.reply_to == event.id, **wait)
    assert isinstance(reply, SayText)
    return reply


def start_of_next_minute() -> timedelta:
    """A service clock offset (`runtime.clock.offset`) that puts its "now" one second into the next minute: reply
    budgets count per clock minute, so a test seconds long then stays in one window whatever the real time. Ahead of
    real time, never behind: a mute set until "now + 10 minutes" by this clock also lasts in Redis (whose keys
    expire by the real clock)."""
    now = datetime.now(UTC)
    return now.replace(second=1, microsecond=0) + timedelta(minutes=1) - now
