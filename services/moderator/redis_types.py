"""The Redis client the stores take: ``redis.asyncio.Redis`` with ``decode_responses=True``, as the plumbing
creates it. Its replies are typed ``bytes | str``; the stores pass them through ``str()``, a no-op on ``str``."""

from __future__ import annotations

from redis.asyncio import Redis as StrRedis

__all__ = ["StrRedis"]
