"""A bounded, per-room record of recent messages, the raw material of chat → issue."""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from services.github_sync import keys
from services.github_sync.config import GithubSyncConfig
from services.github_sync.room_status import RoomChanges


class HistoryEntry(BaseModel):
    """One chat message as the transcript needs it."""

    model_config = ConfigDict(frozen=True)

    event_id: str = Field(description="Id of the MessageReceived event; the dedupe key.")
    at: AwareDatetime = Field(description="When the message was sent.")
    speaker_id: str
    speaker_name: str
    text: str
    message_type: str = "text"
    quote_name: str | None = None
    quote_text: str | None = None
    quote_verified: bool = Field(
        default=False,
        description="The gateway checked who said the quoted text; else it is the speaker's typing.",
    )
    from_bot: bool = Field(default=False, description="Sent by the bot itself: never put in a transcript.")


# KEYS[1] the room's history; ARGV member, score, oldest score kept, max entries, retention in seconds.
# EVAL rather than EVALSHA: Redis caches the compiled script, and nothing needs reloading after a restart.
_RECORD = """
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[3])
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -tonumber(ARGV[4]) - 1)
redis.call('EXPIRE', KEYS[1], ARGV[5])
return 1
"""


class HistoryStore:
    """A Redis sorted set per room, scored by message time.

    The member is the entry's canonical JSON, so recording the same event twice (a redelivery) is a no-op —
    each message appears once. Every write trims by age and by count, so a room never grows without bound.
    """

    def __init__(self, redis: Redis, *, retention: timedelta, max_entries: int) -> None:
        self._redis = redis
        self._retention = retention
        self._max_entries = max_entries

    async def record(self, room_id: str, entry: HistoryEntry, *, now: datetime) -> None:
        async with self._redis.pipeline(transaction=False) as pipe:
            self.record_in(pipe, room_id, entry, now=now)
            await pipe.execute()

    def record_in(self, pipe: Pipeline, room_id: str, entry: HistoryEntry, *, now: datetime) -> None:
        """Queue the append and its trims on the caller's pipeline: one script, so atomic, one command to send."""
        pipe.eval(
            _RECORD,
            1,
            keys.room_history(room_id),
            entry.model_dump_json(),
            repr(entry.at.timestamp()),
            repr((now - self._retention).timestamp()),
            self._max_entries,
            int(self._retention.total_seconds()),
        )

    async def last(self, room_id: str, count: int, *, until: datetime, now: datetime) -> list[HistoryEntry]:
        """Up to `count` most recent entries sent no later than `until`, within retention, oldest first."""
        oldest_kept = (now - self._retention).timestamp()
        raw = await self._redis.zrevrangebyscore(
            keys.room_history(room_id), until.timestamp(), oldest_kept, start=0, num=count
        )
        return [HistoryEntry.model_validate_json(str(item)) for item in reversed(raw)]

    def clear_in(self, pipe: Pipeline, room_id: str) -> None:
        pipe.delete(keys.room_history(room_id))


class HistorySwitch:
    """Whether a room keeps history: an admin's choice in chat overrides the YAML file's default."""

    def __init__(
        self, config: GithubSyncConfig, redis: Redis, store: HistoryStore, changes: RoomChanges | None = None
    ) -> None:
        self._config = config
        self._redis = redis
        self._store = store
        self._changes = changes or RoomChanges(redis)  # announced even when nobody in this process caches

    async def is_on(self, room_id: str) -> bool:
        chosen = await self._redis.get(keys.room_history_switch(room_id))
        if chosen is None:
            return self._config.history_enabled(room_id)
        return bool(chosen == "on")

    async def turn(self, room_id: str, *, on: bool) -> None:
        """Turning history off also forgets what was kept: people asked us not to keep it."""

        def switch(pipe: Pipeline) -> None:
            pipe.set(keys.room_history_switch(room_id), "on" if on else "off")
            if not on:
                self._store.clear_in(pipe, room_id)

        await self._changes.write(room_id, switch)
