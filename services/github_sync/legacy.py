"""github-sync kept a second history of its rooms until the history service kept the one history. Its keys are
dropped once, at the first start of this version (a marker key remembers it): the messages, which expired within
their retention anyway, and the per-room switches. A room whose admin had switched github-sync's history off is
logged by id: the history service keeps every room unless its admins say `聊天记录 关`, and only they (or that
service) may switch it, so the operator is told which rooms asked for nothing to be kept."""

from __future__ import annotations

import logging

from redis.asyncio import Redis

from services.github_sync import keys

log = logging.getLogger("qunbus.github-sync")


async def drop_legacy_history(redis: Redis) -> int:
    """Delete the old history keys once; returns how many were deleted (0 once done)."""
    if not await redis.set(keys.legacy_history_dropped(), "1", nx=True):
        return 0
    messages, switches = keys.legacy_history_keys()
    switched_off: list[str] = []
    deleted = 0
    async for key in redis.scan_iter(match=switches, count=1000):
        if await redis.get(key) == "off":
            switched_off.append(str(key).removeprefix("github-sync:room:").removesuffix(":history-switch"))
        deleted += int(await redis.delete(key))
    async for key in redis.scan_iter(match=messages, count=1000):
        deleted += int(await redis.delete(key))
    if switched_off:
        log.warning(
            "%d room(s) had github-sync's own history switched off; the history service now keeps their messages "
            "unless an admin there says `聊天记录 关`: %s",
            len(switched_off),
            ", ".join(sorted(switched_off)),
        )
    if deleted:
        log.info(
            "dropped %d key(s) of github-sync's former history (the history service keeps it now)", deleted
        )
    return deleted
