"""The Redis client type the stores take (``decode_responses=True``, as the plumbing creates it)."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeAlias

if TYPE_CHECKING:
    from redis.asyncio import Redis

    StrRedis: TypeAlias = "Redis[str]"
else:  # the runtime class is not subscriptable
    from redis.asyncio import Redis as StrRedis

__all__ = ["StrRedis"]
