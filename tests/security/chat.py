"""What every line of the table does: say something as a member, read the bot's one answer."""

from __future__ import annotations

from typing import Any

from schemas import MessageReceived, SayText
from tests.conftest import Bus


async def ask(bus: Bus, event: MessageReceived, **wait: Any) -> SayText:
    """Publish a chat message as the gateway would; the one reply to it."""
    await bus.publish_event(event)
    [reply] = await bus.says(lambda say: say.reply_to == event.id, **wait)
    assert isinstance(reply, SayText)
    return reply
