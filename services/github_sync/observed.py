"""What an ordinary message in a room that follows a repository writes: which bot speaks there, and the history
entry.

The plumbing runs a fetched batch of messages at once (one per room at a time), and through redis-py each message
would pay a round trip of its own (pool checkout, send, wake-up, read). So the notes taken in one event-loop turn go
to Redis together, in one pipeline: the first note of a turn schedules the flush, every note made before it runs
joins. A note is two commands (a SET, and the history's append-and-trim script, atomic on its own), both idempotent:
an error anywhere in the pipeline fails every note in it, and each message is retried.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime

from redis.asyncio import Redis

from services.github_sync.history import HistoryEntry, HistoryStore
from services.github_sync.room_bots import RoomBots


@dataclass(frozen=True)
class _Note:
    room_id: str
    bot_id: str
    entry: HistoryEntry | None
    now: datetime
    done: asyncio.Future[None]


class ObservedMessages:
    def __init__(self, redis: Redis, bots: RoomBots, history: HistoryStore) -> None:
        self._redis = redis
        self._bots = bots
        self._history = history
        self._pending: list[_Note] = []
        self._sending: set[asyncio.Task[None]] = set()  # strong references: the loop keeps only weak ones

    async def note(self, room_id: str, bot_id: str, entry: HistoryEntry | None, *, now: datetime) -> None:
        """Remember the room's bot and, unless `entry` is None (history off), keep the message."""
        loop = asyncio.get_running_loop()
        note = _Note(room_id, bot_id, entry, now, loop.create_future())
        self._pending.append(note)
        if len(self._pending) == 1:
            loop.call_soon(self._flush)
        await note.done

    def _flush(self) -> None:
        notes, self._pending = self._pending, []
        task = asyncio.create_task(self._send(notes))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _send(self, notes: list[_Note]) -> None:
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for note in notes:
                    self._bots.seen_in(pipe, note.room_id, note.bot_id)
                    if note.entry is not None:
                        self._history.record_in(pipe, note.room_id, note.entry, now=note.now)
                await pipe.execute()
        except Exception as error:  # noqa: BLE001 - not swallowed: every waiting handler gets it, fails, is retried
            for note in notes:
                if not note.done.done():
                    note.done.set_exception(error)
        else:
            for note in notes:
                if not note.done.done():  # else its handler was cancelled
                    note.done.set_result(None)
        finally:
            for note in notes:
                note.done.cancel()  # a no-op on answered notes; frees the handlers if this task was cancelled
