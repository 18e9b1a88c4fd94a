"""The claim board's decisions, against a real redis-server: one winner per message, whoever decides."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from services.shared.intents import NOBODY, Claim, ClaimBoard, Decision, Intent
from services.shared.notify import Notifications


@contextlib.asynccontextmanager
async def boards(
    redis_url: str, *names: str, deadline_s: float = 1.0
) -> AsyncIterator[dict[str, ClaimBoard]]:
    """One board per service, each on its own Redis connection and notifications, as separate processes are."""
    stack = contextlib.AsyncExitStack()
    made: dict[str, ClaimBoard] = {}
    listeners = []
    for name in names:
        redis = Redis.from_url(redis_url, decode_responses=True)
        stack.push_async_callback(redis.aclose)
        notifications = Notifications(redis)
        made[name] = ClaimBoard(redis, notifications, name, deadline_s=deadline_s)
        listeners.append(asyncio.create_task(notifications.listen()))
        await asyncio.wait_for(notifications.listening.wait(), 5)
    try:
        yield made
    finally:
        for listener in listeners:
            listener.cancel()
        await asyncio.gather(*listeners, return_exceptions=True)
        await stack.aclose()


async def all_decide(
    board: dict[str, ClaimBoard], claims: dict[str, Claim], message: str = "m1"
) -> set[Decision]:
    """What the services that could win were told; one that cannot win learns only that it did not."""
    names = list(board)
    decisions = await asyncio.gather(
        *(board[name].decide("bot", message, claims[name], names) for name in names)
    )
    told = {d for name, d in zip(names, decisions, strict=True) if claims[name].can_win(0.5)}
    assert {d.winner for d in decisions} <= {NOBODY, *(d.winner for d in told)}
    return told or {Decision(NOBODY, by_intent=False)}


async def test_the_most_confident_intent_wins_and_everyone_agrees(redis_url: str) -> None:
    async with boards(redis_url, "scheduler", "tagger", "history") as board:
        decisions = await all_decide(
            board,
            {
                "scheduler": Claim(confidence=0.9),
                "tagger": Claim(confidence=0.0, fallback_rank=10),
                "history": Claim(confidence=0.6),
            },
        )
    assert decisions == {Decision("scheduler", by_intent=True)}


async def test_equal_confidence_is_decided_by_name_not_by_who_came_first(redis_url: str) -> None:
    async with boards(redis_url, "b", "a") as board:
        decisions = await all_decide(board, {"a": Claim(confidence=0.7), "b": Claim(confidence=0.7)})
    assert decisions == {Decision("a", by_intent=True)}


async def test_below_the_threshold_the_highest_fallback_answers(redis_url: str) -> None:
    async with boards(redis_url, "moderator", "tagger", "scheduler") as board:
        decisions = await all_decide(
            board,
            {
                "moderator": Claim(fallback_rank=0),
                "tagger": Claim(confidence=0.3, fallback_rank=10),
                "scheduler": Claim(confidence=0.49),
            },
        )
    assert decisions == {Decision("tagger", by_intent=False)}


async def test_nobody_answers_when_nobody_can(redis_url: str) -> None:
    async with boards(redis_url, "a", "b") as board:
        decisions = await all_decide(board, {"a": Claim(), "b": Claim(confidence=0.2)})
    assert decisions == {Decision(NOBODY, by_intent=False)}


async def test_a_claimer_that_never_answers_delays_the_decision_only_until_the_deadline(
    redis_url: str,
) -> None:
    async with boards(redis_url, "tagger", deadline_s=0.2) as board:
        loop = asyncio.get_running_loop()
        started = loop.time()
        decision = await board["tagger"].decide("bot", "m1", Claim(fallback_rank=10), ["tagger", "dead"])
        waited = loop.time() - started
    assert decision == Decision("tagger", by_intent=False)
    assert 0.2 <= waited < 2.0
    assert board["tagger"].deadlines_hit == 1


async def test_a_late_claim_finds_the_decision_already_taken(redis_url: str) -> None:
    async with boards(redis_url, "tagger", "slow", deadline_s=0.1) as board:
        first = await board["tagger"].decide("bot", "m1", Claim(fallback_rank=10), ["tagger", "slow"])
        late = await board["slow"].decide("bot", "m1", Claim(confidence=1.0), ["tagger", "slow"])
    assert first == late == Decision("tagger", by_intent=False)


async def test_a_redelivered_message_gets_the_same_decision(redis_url: str) -> None:
    async with boards(redis_url, "a", "b") as board:
        first = await all_decide(board, {"a": Claim(confidence=0.8), "b": Claim(fallback_rank=1)})
        again = await all_decide(board, {"a": Claim(confidence=0.0), "b": Claim(confidence=1.0)})
    assert first == again == {Decision("a", by_intent=True)}


async def test_a_service_that_cannot_win_does_not_wait(redis_url: str) -> None:
    async with boards(redis_url, "quiet", deadline_s=5.0) as board:
        async with asyncio.timeout(1.0):
            decision = await board["quiet"].decide("bot", "m1", Claim(), ["quiet", "absent"])
    assert decision.winner == NOBODY  # still open for the others; it does not answer


@pytest.mark.parametrize("confidence", [-0.1, 1.5])
def test_an_intent_confidence_is_a_probability(confidence: float) -> None:
    with pytest.raises(ValueError, match="confidence"):
        Intent(confidence)
