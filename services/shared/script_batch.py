"""Calls of one Lua script made in the same event-loop turn go to Redis together, in one pipeline.

The plumbing runs a fetched batch of messages at once (one per room at a time); through redis-py each call would
pay a round trip of its own (pool checkout, send, wake-up, read). Here the first call of a turn schedules a flush,
and every call made before the flush runs joins it (the moderator's flood counters, the history's append). Each
script stays atomic: the pipeline only shares the trip. Calls within one pipeline run in order; two pipelines in
flight may not, which is fine for callers that wait for one call before making the next that depends on it (the
plumbing runs one message per room at a time).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import NoScriptError

Arg = str | int | bytes


@dataclass(frozen=True)
class _Call:
    numkeys: int
    keys_and_args: tuple[Arg, ...]
    reply: asyncio.Future[Any]


class BatchedScript:
    """``await script(keys=[...], args=[...])``, like redis-py's ``register_script``, but batched."""

    def __init__(self, redis: Redis, source: str) -> None:
        self._redis = redis
        self._source = source
        self._sha = hashlib.sha1(source.encode()).hexdigest()  # noqa: S324 - Redis names scripts by SHA-1
        self._pending: list[_Call] = []
        self._sending: set[asyncio.Task[None]] = set()  # strong references: the loop keeps only weak ones

    async def __call__(self, *, keys: Sequence[str], args: Sequence[Arg]) -> Any:
        loop = asyncio.get_running_loop()
        call = _Call(len(keys), (*keys, *args), loop.create_future())
        self._pending.append(call)
        if len(self._pending) == 1:
            loop.call_soon(self._flush)
        return await call.reply

    def _flush(self) -> None:
        calls, self._pending = self._pending, []
        task = asyncio.create_task(self._send(calls))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _send(self, calls: list[_Call]) -> None:
        try:
            replies = await self._run(calls)
            for call, reply in zip(calls, replies, strict=True):
                if call.reply.done():
                    continue  # the caller was cancelled
                if isinstance(reply, Exception):
                    call.reply.set_exception(reply)
                else:
                    call.reply.set_result(reply)
        except Exception as error:  # noqa: BLE001 - not swallowed: every caller gets it, fails, and is retried
            for call in calls:
                if not call.reply.done():
                    call.reply.set_exception(error)
        finally:
            for call in calls:
                call.reply.cancel()  # a no-op on answered calls; frees callers if this task was cancelled

    async def _run(self, calls: list[_Call]) -> list[Any]:
        replies = await self._pipeline(calls)
        missing = [i for i, reply in enumerate(replies) if isinstance(reply, NoScriptError)]
        if missing:  # Redis restarted or was flushed: load the script, run again only what did not run
            await self._redis.script_load(self._source)
            for i, reply in zip(missing, await self._pipeline([calls[i] for i in missing]), strict=True):
                replies[i] = reply
        return replies

    async def _pipeline(self, calls: list[_Call]) -> list[Any]:
        async with self._redis.pipeline(transaction=False) as pipe:
            for call in calls:
                pipe.evalsha(self._sha, call.numkeys, *call.keys_and_args)
            return await pipe.execute(raise_on_error=False)
