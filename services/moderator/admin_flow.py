"""Room-admin commands over the bus. The plumbing has already answered direct messages (``rooms_only``) and
refused non-admins (``admin_only``); the room is given. The moderator is the one writer of room preferences."""

from __future__ import annotations

from schemas import MessageReceived, Room
from services.moderator import admin
from services.moderator.deps import Ctx
from services.moderator.welcome import MAX_TEMPLATE_LENGTH, unknown_placeholders
from services.shared.commands import language_of

_RESET_WORDS = frozenset({"默认", "default"})


async def add_admins(room: Room, event: MessageReceived, ctx: Ctx, args: str) -> None:
    """``设为管理员 @x``: stored in the room preferences, which the plumbing's admin check reads."""
    people = admin.mentioned_people(event.mention_ids, ctx.bot_id)
    if not people:
        await ctx.reply(admin.NEED_MENTION)
        return
    for person in people:
        await ctx.deps.room_prefs.add_admin(room.id, person)
    await ctx.reply(admin.admins_added(len(people)))


async def remove_admins(room: Room, event: MessageReceived, ctx: Ctx, args: str) -> None:
    """``取消管理员 @x``."""
    people = admin.mentioned_people(event.mention_ids, ctx.bot_id)
    if not people:
        await ctx.reply(admin.NEED_MENTION)
        return
    for person in people:
        await ctx.deps.room_prefs.remove_admin(room.id, person)
    await ctx.reply(admin.admins_removed(len(people)))


async def disable_service(room: Room, event: MessageReceived, ctx: Ctx, args: str) -> None:
    """``关闭 <service>``."""
    await _switch(room, ctx, args, enabled=False)


async def enable_service(room: Room, event: MessageReceived, ctx: Ctx, args: str) -> None:
    """``开启 <service>``."""
    await _switch(room, ctx, args, enabled=True)


async def _switch(room: Room, ctx: Ctx, args: str, *, enabled: bool) -> None:
    # Running services that members see, plus ones switched off here (so one that is down can be switched back on).
    live = [info for info in await ctx.discover() if not info.internal]
    known = [admin.Switchable(info.name, info.title_zh, info.title_en) for info in live]
    names = {info.name for info in live}
    prefs = await ctx.room(room.id)
    known += [admin.Switchable(name) for name in sorted(prefs.disabled_services - names)]
    service = admin.find_service(args, known)
    if service is not None and service.name == ctx.service:
        await ctx.reply(admin.cannot_switch_self(service))
        return
    if service is None:
        await ctx.reply(admin.unknown_service(args, [s for s in known if s.name != ctx.service]))
        return
    await ctx.deps.room_prefs.set_service_enabled(room.id, service.name, enabled=enabled)
    await ctx.reply(admin.switched(service, enabled=enabled))


async def set_welcome(room: Room, event: MessageReceived, ctx: Ctx, args: str) -> None:
    """``设置欢迎语 <text>``; empty or ``默认`` goes back to the default."""
    template = args.strip()
    stored = None if not template or template.casefold() in _RESET_WORDS else template[:MAX_TEMPLATE_LENGTH]
    await ctx.deps.rooms.set_welcome(ctx.bot_id, room.id, stored)
    await ctx.reply(admin.welcome_set(stored, unknown_placeholders(stored or "")))


async def set_flood(room: Room, event: MessageReceived, ctx: Ctx, args: str) -> None:
    """``设置刷屏 投票 10/60 500 宽限30`` (any part may be left out)."""
    setting = admin.parse_flood_setting(args)
    if setting is None:
        await ctx.reply(admin.FLOOD_USAGE)
        return
    config = await ctx.deps.rooms.config(ctx.bot_id, room.id)
    current = config.flood_limits or ctx.settings.flood_limits
    limits = setting.limits(current)
    await ctx.deps.rooms.set_flood(ctx.bot_id, room.id, setting.policy, limits, setting.grace_s)
    policy = setting.policy or config.flood_policy or ctx.settings.flood_policy
    grace_s = next(
        g for g in (setting.grace_s, config.flood_grace_s, ctx.settings.flood_grace_s) if g is not None
    )
    await ctx.reply(admin.flood_set(policy, limits or current, grace_s))


async def set_kick_votes(room: Room, event: MessageReceived, ctx: Ctx, args: str) -> None:
    """``设置踢人票数 2`` / ``默认``."""
    setting = admin.parse_threshold(args)
    if setting is None:
        await ctx.reply(admin.THRESHOLD_USAGE)
        return
    await ctx.deps.rooms.set_kick_threshold(ctx.bot_id, room.id, setting.votes)
    await ctx.reply(admin.threshold_set(setting.votes))


async def set_language(room: Room, event: MessageReceived, ctx: Ctx, args: str) -> None:
    """``设置语言 中文|英文|自动``: the plumbing's per-room language, which sets ``ctx.lang`` for every service."""
    setting = admin.parse_lang(args)
    if setting is None:
        await ctx.reply(admin.LANG_USAGE)
        return
    await ctx.deps.room_prefs.set_lang(room.id, setting.lang)
    # In the language just chosen ("auto": the command's own), never ctx.lang: that came from the room's setting
    # before this change, so a redelivered command would answer in other words and not be dropped as a duplicate.
    reply_lang = setting.lang or language_of(event.body)
    await ctx.reply(admin.lang_set(setting.lang).pick(reply_lang))


async def set_timezone(room: Room, event: MessageReceived, ctx: Ctx, args: str) -> None:
    """``设置时区 Asia/Tokyo|默认``: the plumbing's per-room zone, which sets ``ctx.zone`` for every service."""
    setting = admin.parse_zone(args)
    if setting is None:
        await ctx.reply(admin.unknown_zone(args))
        return
    await ctx.deps.room_prefs.set_timezone(room.id, setting.zone)
    if setting.zone is None:
        await ctx.reply(admin.zone_reset(ctx.settings.timezone))
    else:
        await ctx.reply(admin.zone_set(setting.zone, event.timestamp))
