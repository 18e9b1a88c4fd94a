"""The sweeper every replica runs: greet the batches that are due, exactly one replica per batch."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from services.moderator.welcome import WelcomeMessage, flush_is_too_late, newcomers, render_welcome
from services.moderator.welcome_store import SealedBatch, WelcomeStore

TemplateLookup = Callable[[str, str], Awaitable[str | None]]
"""(bot id, room id) -> the room's welcome template, or None for the default."""

PublishWelcome = Callable[[SealedBatch, WelcomeMessage], Awaitable[None]]
"""Send the greeting; its command id must be derived from ``batch.batch_id`` so a retry is deduplicated."""


@dataclass(frozen=True)
class FlushOutcome:
    """What one sweep did (for logs and tests)."""

    sent: tuple[str, ...] = ()
    dropped: tuple[str, ...] = ()
    held_elsewhere: tuple[str, ...] = ()


async def flush_due_batches(
    store: WelcomeStore,
    *,
    now_ms: int,
    owner: str,
    lease_ms: int,
    max_age_ms: int,
    template_of: TemplateLookup,
    publish: PublishWelcome,
) -> FlushOutcome:
    """Greet every due batch this replica manages to claim.

    If ``publish`` raises, the batch stays due and claimed; the lease runs out and a sweep (here or on another
    replica) tries again. That is the same path as a replica dying mid-flush.
    """
    sent: list[str] = []
    dropped: list[str] = []
    held: list[str] = []
    for batch_id in await store.due_batches(now_ms):
        if not await store.claim(batch_id, owner, lease_ms):
            held.append(batch_id)
            continue
        batch = await store.seal(batch_id)
        if batch is not None:
            people = newcomers(batch.joiners, batch.bot_id)
            if people and not flush_is_too_late(batch.due_ms, now_ms, max_age_ms):
                template = await template_of(batch.bot_id, batch.room_id)
                await publish(batch, render_welcome(template, people, batch.topic))
                sent.append(batch_id)
            else:
                dropped.append(batch_id)
        await store.finish(batch_id, owner)
    return FlushOutcome(sent=tuple(sent), dropped=tuple(dropped), held_elsewhere=tuple(held))
