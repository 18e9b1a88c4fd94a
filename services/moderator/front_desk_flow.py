"""The front desk over the bus: the live registry and the room's switches in, one short answer out."""

from __future__ import annotations

from schemas import MessageReceived
from services.moderator.deps import Ctx
from services.moderator.front_desk import (
    SMALL_TALK_CONFIDENCE,
    Reading,
    did_you_mean,
    keywords_for,
    not_understood,
    read,
    small_talk_answer,
)
from services.moderator.greeting import SmallTalk, small_talk
from services.shared import Intent
from services.shared.commands import Bilingual, Lang


def recognise_small_talk(event: MessageReceived) -> Intent | None:
    """A hello, a bare mention, thanks or "ok": the kind goes to the handler as its argument."""
    talk = small_talk(event.body) if event.type == "text" else None
    return Intent(SMALL_TALK_CONFIDENCE, args=talk.value) if talk is not None else None


async def reading_of(event: MessageReceived, ctx: Ctx) -> Reading:
    """What the front desk makes of the message, against the keywords this member could mean here."""
    if event.type != "text":
        return Reading(None, ())
    prefs = await ctx.room(event.room.id) if event.room is not None else None
    keywords = keywords_for(
        await ctx.discover(),
        admin=await ctx.is_admin(),
        in_room=event.room is not None,
        disabled=prefs.disabled_services if prefs is not None else frozenset(),
    )
    return read(event.body, keywords)


async def recognise_typo(event: MessageReceived, ctx: Ctx) -> Intent | None:
    """Claims only when a live keyword is close to how the message starts."""
    reading = await reading_of(event, ctx)
    if reading.small_talk is not None or not reading.suggestions:
        return None
    return Intent(reading.confidence)


async def _answer(event: MessageReceived, ctx: Ctx, text: Bilingual) -> None:
    """Front-desk answers name the member in a room: they are for them."""
    await ctx.reply(text.pick(await _lang(event, ctx)), mention_ids=[event.talker.id] if event.room else [])


async def _lang(event: MessageReceived, ctx: Ctx) -> Lang:
    """`ctx.lang`, unless the message has no word to tell (a bare mention, an emoji): then the room's language,
    else Chinese, not the English that a text without Chinese characters would suggest."""
    if any(char.isalpha() for char in event.body):
        return ctx.lang
    prefs = await ctx.room(event.room.id) if event.room is not None else None
    return (prefs.lang if prefs is not None else None) or "zh"


async def answer_small_talk(event: MessageReceived, ctx: Ctx, args: str) -> None:
    talk = SmallTalk(args) if args in {kind.value for kind in SmallTalk} else SmallTalk.HELLO
    await _answer(event, ctx, small_talk_answer(talk, await ctx.discover(), in_room=event.room is not None))


async def answer_typo(event: MessageReceived, ctx: Ctx, args: str) -> None:
    reading = await reading_of(event, ctx)
    if reading.suggestions:
        await _answer(event, ctx, did_you_mean(reading.suggestions))
    else:  # the registry changed between the claim and now
        await _answer(event, ctx, not_understood(reading, in_room=event.room is not None))


async def answer_not_understood(event: MessageReceived, ctx: Ctx, *, wrong_password: bool = False) -> None:
    """Whatever nobody else took: how to find out what I can do."""
    reading = await reading_of(event, ctx)
    text = not_understood(
        reading, in_room=event.room is not None, text=event.type == "text", wrong_password=wrong_password
    )
    await _answer(event, ctx, text)
