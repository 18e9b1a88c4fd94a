"""Password invites over the bus: an admin sets a room's password by DM; whoever DMs it is let in."""

from __future__ import annotations

from schemas import AddToRoom, MessageReceived, Room
from services.moderator.deps import Ctx, epoch_ms
from services.moderator.password import (
    COMMAND_WORD,
    HERE_YOU_ARE,
    INVITES_OFF,
    NOT_ADMIN,
    NOT_IN_GROUP,
    TAKEN,
    TOO_SHORT,
    USAGE,
    already_member,
    could_be_password,
    find_room,
    invited,
    parse_set_password,
    password_cleared,
    password_digest,
    password_is_acceptable,
    password_set,
    room_not_found,
    starts_with_a_command,
    too_many_guesses,
)
from services.moderator.password_store import SetOutcome


def _digest(ctx: Ctx, password: str) -> str:
    return password_digest(
        password, secret=ctx.settings.password_secret.get_secret_value(), bot_id=ctx.bot_id
    )


async def set_password(event: MessageReceived, ctx: Ctx, args: str) -> None:
    """``设置进群密码 <群名> <密码>`` by DM; refused (with a warning) in a group. Whatever the outcome, the message
    holds a password: it is erased from the event stream once handled."""
    ctx.erase_event()
    if not ctx.settings.password_invites:
        await ctx.reply(INVITES_OFF)
        return
    if event.room is not None:
        await ctx.reply(NOT_IN_GROUP, mention_ids=[event.talker.id])
        return
    request = parse_set_password(args)
    if request is None:
        await ctx.reply(USAGE)
        return
    match = find_room(request.room_query, await ctx.deps.rooms.rooms(ctx.bot_id))
    if match.room is None:
        text = room_not_found(request.room_query, match.candidates)
        await ctx.reply(text)
        return
    record = match.room
    room = Room(id=record.id, topic=record.topic, owner_id=record.owner_id)
    if not await ctx.is_admin(room=room):
        await ctx.reply(NOT_ADMIN)
        return
    if request.password is None:
        await ctx.deps.passwords.clear(ctx.bot_id, record.id)
        text = password_cleared(record)
    elif not password_is_acceptable(request.password):
        text = TOO_SHORT
    elif starts_with_a_command(request.password, await ctx.discover()):
        text = COMMAND_WORD
    elif (
        await ctx.deps.passwords.set(ctx.bot_id, record.id, _digest(ctx, request.password))
        is SetOutcome.TAKEN
    ):
        text = TAKEN
    else:
        text = password_set(record)
    await ctx.reply(text)


async def _guess(event: MessageReceived, ctx: Ctx) -> int:
    """Spend one of the sender's guesses on this DM (the same DM again gets its own number back): 1 to the limit,
    0 when none is left."""
    return await ctx.deps.passwords.take_guess(
        ctx.bot_id,
        event.talker.id,
        event_id=event.id,
        now_ms=epoch_ms(ctx.now()),
        window_ms=int(ctx.settings.password_guess_window_s * 1000),
        limit=ctx.settings.password_max_guesses,
    )


async def recognise_password(event: MessageReceived, ctx: Ctx) -> bool:
    """Whether a direct message is for the password path: a room's password, or the last of the sender's guesses
    (they are told their guesses ran out). Each checked DM spends a guess first, so nobody can try passwords
    without limit; once the guesses are used up, DMs are not checked at all."""
    if not ctx.settings.password_invites or not _maybe_password(event):
        return False
    guess = await _guess(event, ctx)
    if guess == 0:
        return False
    if await ctx.deps.passwords.room_for(ctx.bot_id, _digest(ctx, event.body)) is not None:
        return True
    return guess == ctx.settings.password_max_guesses


async def try_password(event: MessageReceived, ctx: Ctx) -> None:
    """A direct message the recogniser took: add the sender to its room (or @-mention them there), or tell them
    their guesses ran out."""
    ctx.erase_event()  # it is a password (or a guess): it does not stay in the event stream
    talker = event.talker.id
    room_id = await ctx.deps.passwords.room_for(ctx.bot_id, _digest(ctx, event.body))
    record = await ctx.deps.rooms.room(ctx.bot_id, room_id) if room_id is not None else None
    if room_id is None or record is None:
        if await _guess(event, ctx) == ctx.settings.password_max_guesses:
            await ctx.reply(too_many_guesses(ctx.settings.password_guess_window_s))
        return
    await ctx.deps.passwords.return_guess(ctx.bot_id, talker, event_id=event.id)  # a right guess is no guess
    if await ctx.deps.rooms.is_member(ctx.bot_id, room_id, talker):
        await ctx.say(room_id=room_id, text=HERE_YOU_ARE, mention_ids=[talker])
        text = already_member(record)
    else:
        await ctx.send(AddToRoom(room_id=room_id, contact_id=talker))
        text = invited(record)
    await ctx.reply(text)


def _maybe_password(event: MessageReceived) -> bool:
    return event.room is None and event.type == "text" and could_be_password(event.body)


async def wrong_password(event: MessageReceived, ctx: Ctx) -> bool:
    """For the answer to a direct message nobody understood: whether it was tried as a password (and was wrong).
    A direct message that could be a password is erased from the event stream either way."""
    if not ctx.settings.password_invites or not _maybe_password(event):
        return False
    ctx.erase_event()
    return await ctx.deps.passwords.was_guess(ctx.bot_id, event.talker.id, event_id=event.id)
