"""Ordinary messages of followed rooms: the room's bot and the history entry, notes of one turn in one trip."""

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import ResponseError

from services.github_sync import keys
from services.github_sync.history import HistoryEntry, HistoryStore
from services.github_sync.observed import ObservedMessages
from services.github_sync.room_bots import RoomBots

T0 = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)


def entry(n: int) -> HistoryEntry:
    return HistoryEntry(
        event_id=f"evt-{n}",
        at=T0 + timedelta(minutes=n),
        speaker_id="alice",
        speaker_name="Alice",
        text=f"m{n}",
    )


def observed(redis: Redis) -> tuple[ObservedMessages, HistoryStore]:
    history = HistoryStore(redis, retention=timedelta(days=7), max_entries=100)
    return ObservedMessages(redis, RoomBots(redis), history), history


async def test_notes_of_one_turn_share_one_round_trip(redis: Redis, monkeypatch: pytest.MonkeyPatch) -> None:
    notes, history = observed(redis)
    pipelines: list[bool] = []
    open_pipeline = redis.pipeline

    def counted(transaction: bool = True) -> Pipeline:
        pipelines.append(transaction)
        return open_pipeline(transaction=transaction)

    monkeypatch.setattr(redis, "pipeline", counted)
    await asyncio.gather(
        notes.note("a@chatroom", "bot-1", entry(1), now=T0),
        notes.note("b@chatroom", "bot-2", entry(2), now=T0),
        notes.note("c@chatroom", "bot-1", None, now=T0),  # history off: the bot only
    )
    assert len(pipelines) == 1
    assert [
        e.event_id for e in await history.last("a@chatroom", 5, until=T0 + timedelta(hours=1), now=T0)
    ] == ["evt-1"]
    assert await RoomBots(redis).bot_for("b@chatroom") == "bot-2"
    assert await RoomBots(redis).bot_for("c@chatroom") == "bot-1"
    assert not await redis.exists(keys.room_history("c@chatroom"))


async def test_a_failed_pipeline_fails_every_note_in_it(redis: Redis) -> None:
    notes, _ = observed(redis)
    await redis.set(keys.room_history("a@chatroom"), "not a sorted set")
    results = await asyncio.gather(
        notes.note("a@chatroom", "bot", entry(1), now=T0),
        notes.note("b@chatroom", "bot", entry(2), now=T0),
        return_exceptions=True,
    )
    assert [type(result) for result in results] == [ResponseError, ResponseError]
    with pytest.raises(ResponseError):
        await notes.note("a@chatroom", "bot", entry(3), now=T0)
    await notes.note("b@chatroom", "bot", entry(2), now=T0)  # a later turn is not affected
    assert await redis.zcard(keys.room_history("b@chatroom")) == 1
