"""Welcome over the bus: joins go into a shared batch; every replica's sweeper greets the due ones."""

from __future__ import annotations

import asyncio
import uuid

from schemas import RoomJoined
from services.moderator.deps import AppCtx, Ctx, epoch_ms
from services.moderator.observe import saw_members
from services.moderator.welcome import Joiner, WelcomeMessage, newcomers
from services.moderator.welcome_flush import flush_due_batches
from services.moderator.welcome_store import SealedBatch

_WELCOME_IDS = uuid.UUID("0d6f4b8e-2a57-4a8e-9d0b-6c3f1e7a9b21")
_HOUR_MS = 3_600_000


def welcome_command_id(batch_id: str) -> str:
    """The same id on every attempt, so a greeting re-sent after a crash is dropped by JetStream's dedupe."""
    return uuid.uuid5(_WELCOME_IDS, batch_id).hex


async def on_joined(event: RoomJoined, ctx: Ctx) -> None:
    """Remember the newcomers and put them in the room's welcome batch."""
    await saw_members(ctx.deps, ctx.bot_id, event.room, event.invitees)
    people = newcomers((Joiner(id=p.id, name=p.name) for p in event.invitees), ctx.bot_id)
    if ctx.stale or not people:
        return  # greeting people who joined long ago would be odd; the membership is still recorded
    window_ms = int(ctx.settings.welcome_window_s * 1000)
    await ctx.deps.welcome.open_or_join(
        bot_id=ctx.bot_id,
        room_id=event.room.id,
        topic=event.room.topic,
        event_id=event.id,
        new_batch_id=uuid.uuid4().hex,
        joiners=people,
        now_ms=epoch_ms(ctx.now()),
        window_ms=window_ms,
        retain_ms=window_ms + int(ctx.settings.max_event_age_s * 1000) + _HOUR_MS,
    )


async def sweep_welcomes(app: AppCtx) -> None:
    """Runs on every replica for its lifetime; at most one replica greets a given batch."""
    owner = uuid.uuid4().hex

    async def template_of(bot_id: str, room_id: str) -> str | None:
        return (await app.deps.rooms.config(bot_id, room_id)).welcome_template

    async def publish(batch: SealedBatch, message: WelcomeMessage) -> None:
        await app.say_to(
            batch.bot_id,
            room_id=batch.room_id,
            text=message.text,
            mention_ids=message.mention_ids,
            command_id=welcome_command_id(batch.batch_id),
        )

    while True:
        await flush_due_batches(
            app.deps.welcome,
            now_ms=epoch_ms(app.now()),
            owner=owner,
            lease_ms=int(app.settings.welcome_lease_s * 1000),
            max_age_ms=int(app.settings.max_event_age_s * 1000),
            template_of=template_of,
            publish=publish,
        )
        await asyncio.sleep(app.settings.welcome_tick_s)
