"""Sending a ``Bilingual`` text back where the event came from (the plumbing picks the language)."""

from __future__ import annotations

from collections.abc import Sequence

from services.moderator.bilingual import Bilingual
from services.moderator.deps import Ctx


async def answer(ctx: Ctx, text: Bilingual, mention_ids: Sequence[str] = ()) -> None:
    """``ctx.reply`` with both languages of ``text``."""
    await ctx.reply(zh=text.zh, en=text.en, mention_ids=mention_ids)
