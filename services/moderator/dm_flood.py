"""Direct-message flooding: a contact who sends the bot more than a room member may is warned once and muted.

The plumbing's reply budgets already ration answers per member (a "please slow down", then silence within the
minute), but a contact who keeps at it would get up to the hourly budget of answers and a "slow down" every
minute. Here the consequence lasts: one warning, then the moderator answers nothing from them for
`MODERATOR_DM_MUTE_S` (no greeting, no help, no "didn't understand", no password check), and their messages are
not even counted until it ends. Other services' answers stay within the plumbing's budgets.
"""

from __future__ import annotations

from datetime import timedelta

from schemas import MessageReceived
from services.moderator.deps import Ctx, epoch_ms
from services.moderator.dm_store import DmCount, DmSeen
from services.shared import Bilingual


def _minutes(seconds: float) -> int:
    return max(1, round(seconds / 60))


def warning(max_messages: int, window_s: int, mute_s: float) -> Bilingual:
    minutes = _minutes(mute_s)
    return Bilingual(
        f"你发得太快了（每 {window_s} 秒最多 {max_messages} 条）。接下来 {minutes} 分钟我不再回复你，之后再聊吧。",
        f"That's too many messages ({max_messages} per {window_s} s at most). "
        f"I won't answer you for the next {minutes} minute{'s' if minutes > 1 else ''}.",
    )


async def dm_gate(event: MessageReceived, ctx: Ctx) -> DmSeen:
    """Count a direct message (once, whoever asks first: recognisers, handlers or the observer)."""
    settings = ctx.settings
    return await ctx.deps.dms.observe(
        bot_id=ctx.bot_id,
        contact_id=event.talker.id,
        event_id=event.id,
        now_ms=epoch_ms(event.timestamp),  # when it was sent: a backlog delivered at once is no flood
        count=DmCount(
            max_messages=settings.flood_max_messages,
            window_ms=settings.flood_window_s * 1000,
            mute_ms=int(settings.dm_mute_s * 1000),
            may_strike=not ctx.stale and event.talker.id not in settings.admins,
        ),
    )


async def check_dm(event: MessageReceived, ctx: Ctx) -> bool:
    """Whether to answer a direct message: not while its sender is muted; the message that mutes them gets the
    warning as its one answer."""
    seen = await dm_gate(event, ctx)
    if seen.struck:
        settings = ctx.settings
        await ctx.reply(warning(settings.flood_max_messages, settings.flood_window_s, settings.dm_mute_s))
        await ctx.deps.dms.silence_everywhere(
            bot_id=ctx.bot_id,
            contact_id=event.talker.id,
            until=event.timestamp + timedelta(seconds=settings.dm_mute_s),
        )
    return not seen.muted
