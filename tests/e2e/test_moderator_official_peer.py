"""A vote-kick end to end: members of the official peer's mock world vote, the moderator counts, the gateway
removes the member from the mock world."""

from __future__ import annotations

from pathlib import Path

import pytest

from schemas import RemoveFromRoom, RoomLeft
from services.moderator.app import service as moderator
from tests.conftest import Bus, RunService

from .gateway_on_peer import Group, gateway_on
from .puppet_mock import PuppetMockWorld, mention

pytestmark = pytest.mark.slow


async def test_three_votes_remove_the_member_from_the_mock_world(
    puppet_mock: PuppetMockWorld, run_service: RunService, bus: Bus, tmp_path: Path
) -> None:
    world = puppet_mock
    bot = world.bot_id
    # Six members with the bot: three votes are needed.
    group = await Group.create(world, "e2e-votekick", member_ids=("alice", "bob", "carol", "dave", "erin"))
    async with gateway_on(world, run_service, bus, tmp_path), run_service(moderator):
        await world.say_in_room("bob", group.room_id, f"[弱] {mention('Dave')}", mention_ids=["dave"])
        await world.wait_for(lambda o: any("1/3" in m.text for m in o.sent))
        await world.say_in_room("carol", group.room_id, f"{mention('Dave')}[弱]", mention_ids=["dave"])
        await world.wait_for(lambda o: any("2/3" in m.text for m in o.sent))
        await world.say_in_room("erin", group.room_id, f"vote kick {mention('Dave')}", mention_ids=["dave"])

        observed = await world.wait_for(lambda o: bool(o.removed) and any("3/3" in m.text for m in o.sent))
        left = (await bus.wait_for(f"qun.evt.{bot}.room.leave", RoomLeft, timeout=10))[0]

    assert [(m.room_id, m.contact_id) for m in observed.removed] == [(group.room_id, "dave")]
    assert "dave" not in await world.room_member_ids(group.room_id)
    [removal] = bus.commands(RemoveFromRoom)
    assert "3/3" in removal.reason
    announcement = next(m for m in observed.sent if "3/3" in m.text)
    assert (announcement.room_id, announcement.mention_ids) == (group.room_id, ("dave",))
    assert ([c.id for c in left.leavers], left.remover.id if left.remover else None) == (["dave"], bot)
