"""Vote-kick over the bus: immunity, tally, progress, and the removal at the threshold."""

from __future__ import annotations

from datetime import timedelta

from schemas import MessageReceived, RemoveFromRoom, Room
from services.moderator.deps import Ctx, epoch_ms
from services.moderator.votekick import (
    REFUSALS,
    VoteAction,
    VoteIntent,
    kick_threshold,
    progress,
    refusal_for,
    removal_announcement,
    removal_reason,
    withdrawn,
)


def vote_window(ctx: Ctx) -> timedelta:
    """The configured window in which votes count."""
    return timedelta(hours=ctx.settings.vote_window_hours)


async def threshold_in(ctx: Ctx, room: Room) -> int:
    """Votes needed in this room now (its override, or by its size)."""
    config = await ctx.deps.rooms.config(ctx.bot_id, room.id)
    return kick_threshold(room.member_count or 0, config.kick_threshold)


def _vote_event_id(ctx: Ctx, target_id: str) -> str:
    """One message may vote on several people: each (event, target) has its own remembered outcome."""
    return f"{ctx.event.id}/{target_id}"


async def handle_vote(event: MessageReceived, ctx: Ctx, intent: VoteIntent) -> None:
    """Apply a parsed vote message, target by target."""
    room = event.room
    if room is None:
        return  # votes only make sense in the room
    for target in intent.target_ids:
        if intent.action is VoteAction.CAST:
            await cast_vote(ctx, room, voter_id=event.talker.id, target_id=target)
        else:
            await _withdraw(ctx, room, voter_id=event.talker.id, target_id=target)


async def cast_vote(ctx: Ctx, room: Room, *, voter_id: str, target_id: str) -> None:
    """One vote against ``target_id``; announces progress, or the removal at the threshold."""
    refusal = refusal_for(
        voter_id=voter_id,
        target_id=target_id,
        bot_id=ctx.bot_id,
        owner_id=room.owner_id,
        target_is_admin=await ctx.is_admin(contact_id=target_id, room=room),
    )
    if refusal is not None:  # said to the voter: it is about their vote
        await ctx.reply(REFUSALS[refusal], mention_ids=_people(ctx, voter_id))
        return
    threshold = await threshold_in(ctx, room)
    window = vote_window(ctx)
    tally = await ctx.deps.votes.cast(
        bot_id=ctx.bot_id,
        room_id=room.id,
        target_id=target_id,
        voter_id=voter_id,
        event_id=_vote_event_id(ctx, target_id),
        threshold=threshold,
        now_ms=epoch_ms(ctx.now()),
        window_ms=int(window.total_seconds() * 1000),
    )
    if not tally.reached:
        text = progress(tally.count, threshold, window, newly_cast=tally.changed)
        # A new vote tells the member voted on; "you have already voted" is for the voter.
        await ctx.reply(text, mention_ids=[target_id] if tally.changed else _people(ctx, voter_id))
        return
    # Said before the removal, while the mention still reaches them.
    text = removal_announcement(tally.count, threshold, window)
    await ctx.reply(text, mention_ids=[target_id])
    await ctx.send(
        RemoveFromRoom(
            room_id=room.id,
            contact_id=target_id,
            reason=removal_reason(tally.count, threshold, window),
        )
    )
    await ctx.deps.rooms.remove_members(ctx.bot_id, room.id, [target_id])


async def _withdraw(ctx: Ctx, room: Room, *, voter_id: str, target_id: str) -> None:
    threshold = await threshold_in(ctx, room)
    tally = await ctx.deps.votes.withdraw(
        bot_id=ctx.bot_id,
        room_id=room.id,
        target_id=target_id,
        voter_id=voter_id,
        event_id=_vote_event_id(ctx, target_id),
        now_ms=epoch_ms(ctx.now()),
        window_ms=int(vote_window(ctx).total_seconds() * 1000),
    )
    await ctx.reply(
        withdrawn(tally.count, threshold, had_voted=tally.changed), mention_ids=_people(ctx, voter_id)
    )


def _people(ctx: Ctx, *contact_ids: str) -> list[str]:
    """Whom to @-mention: never the bot itself (it votes when it opens a flood vote)."""
    return [contact for contact in contact_ids if contact != ctx.bot_id]
