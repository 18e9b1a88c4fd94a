"""Anti-flood over the bus: count each room message at the time it was sent, warn once, then, after a grace, apply
the room's policy; never for stale messages, never for messages addressed to the bot (asking the bot is no flood)."""

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
from services.moderator.message_store import FloodCount
from services.moderator.observe import record_of
from services.moderator.vote_flow import cast_vote


async def check_flood(event: MessageReceived, ctx: Ctx, room: Room) -> None:
    """Record the message (room directory, member, flood counters: one round trip); act if it crosses the room's
    limits."""
    talker = event.talker.id
    flood = None
    # The bot's own messages never count (the plumbing drops them already; this keeps it true here), nor do messages
    # to the bot: a member asking a few questions is no flood (the plumbing's reply budgets ration the answers).
    if not (event.from_self or talker == ctx.bot_id or event.mentions_bot):
        flood = FloodCount(
            defaults=ctx.settings.flood_limits,
            strike_memory_ms=int(ctx.settings.flood_strike_memory_s * 1000),
            length=len(event.text),
            # A stale message is counted (at its own time) but never punished: after an outage nobody can tell a
            # flood from a backlog delivered at once, and a warning about it would come far too late anyway.
            # is_admin is usually a cache lookup: the plumbing keeps room admins in memory.
            may_strike=not ctx.stale and not await ctx.is_admin(),
            grace_ms=int(ctx.settings.flood_grace_s * 1000),
        )
    seen = await ctx.deps.messages.observe(
        bot_id=ctx.bot_id,
        room=record_of(room),
        member_id=talker,
        event_id=event.id,
        # When it was sent (WeChat's time), not when we got to it: a backlog replayed in a burst is no flood.
        now_ms=epoch_ms(event.timestamp),
        flood=flood,
    )
    if flood is None or seen.strike == 0:
        return  # not counted, within the limits, or an admin: the script recorded no strike
    limits = seen.config.flood_limits or ctx.settings.flood_limits
    violation = assess(seen.messages_in_window, flood.length, limits)
    if violation is None:
        return  # cannot happen: the script tests the same limits (tests/services/moderator/test_message_store.py)
    action = action_for(seen.strike, seen.config.flood_policy or ctx.settings.flood_policy)
    if action is FloodAction.WARN:
        grace_s = seen.config.flood_grace_s
        await ctx.reply(
            warning(violation, limits, ctx.settings.flood_grace_s if grace_s is None else grace_s),
            mention_ids=[talker],
        )
    elif action is FloodAction.OPEN_VOTE:
        await ctx.reply(VOTE_NOTICE, mention_ids=[talker])
        await cast_vote(ctx, room, voter_id=ctx.bot_id, target_id=talker)
    elif action is FloodAction.REMOVE:
        await ctx.reply(REMOVAL_NOTICE, mention_ids=[talker])
        await ctx.send(RemoveFromRoom(room_id=room.id, contact_id=talker, reason=REMOVAL_REASON))
        await ctx.deps.rooms.remove_members(ctx.bot_id, room.id, [talker])
