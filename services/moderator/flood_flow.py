"""Anti-flood over the bus: count each room message, warn once, then apply the room's policy."""

from __future__ import annotations

from schemas import MessageReceived, RemoveFromRoom, Room
from services.moderator.deps import Ctx, epoch_ms
from services.moderator.flood import (
    REMOVAL_NOTICE,
    REMOVAL_REASON,
    VOTE_NOTICE,
    FloodAction,
    action_for,
    assess,
    warning,
)
from services.moderator.replies import answer
from services.moderator.vote_flow import cast_vote


async def check_flood(event: MessageReceived, ctx: Ctx, room: Room) -> None:
    """Count the message; act if it crosses the room's limits."""
    talker = event.talker.id
    if event.from_self or talker == ctx.bot_id:
        return  # the bot's own messages never count (the plumbing drops them already; this keeps it true here)
    config = await ctx.deps.rooms.config(ctx.bot_id, room.id)
    limits = config.flood_limits or ctx.settings.flood_limits
    now_ms = epoch_ms(ctx.now())
    where = {"bot_id": ctx.bot_id, "room_id": room.id, "member_id": talker}
    count = await ctx.deps.flood.record_message(
        **where, event_id=event.id, now_ms=now_ms, window_ms=limits.window_seconds * 1000
    )
    violation = assess(count, len(event.text), limits)
    if violation is None or await ctx.is_admin():
        return
    strike = await ctx.deps.flood.record_strike(
        **where, event_id=event.id, now_ms=now_ms, memory_ms=int(ctx.settings.flood_strike_memory_s * 1000)
    )
    action = action_for(strike, config.flood_policy or ctx.settings.flood_policy)
    if action is FloodAction.WARN:
        text = warning(violation, limits)
        await answer(ctx, text, [talker])
        await ctx.deps.flood.forgive_messages(**where)
    elif action is FloodAction.OPEN_VOTE:
        await answer(ctx, VOTE_NOTICE, [talker])
        await cast_vote(ctx, room, voter_id=ctx.bot_id, target_id=talker)
    elif action is FloodAction.REMOVE:
        await answer(ctx, REMOVAL_NOTICE, [talker])
        await ctx.send(
            RemoveFromRoom(id=ctx.command_id(), room_id=room.id, contact_id=talker, reason=REMOVAL_REASON)
        )
        await ctx.deps.rooms.remove_members(ctx.bot_id, room.id, [talker])
