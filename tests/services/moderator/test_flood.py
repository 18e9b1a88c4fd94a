import pytest

from services.moderator.flood import FloodAction, Violation, action_for, assess, warning
from services.moderator.rooms import FloodLimits, FloodPolicy

LIMITS = FloodLimits(max_messages=5, window_seconds=30, max_length=100)


def test_within_limits() -> None:
    assert assess(messages_in_window=5, length=100, limits=LIMITS) is None


def test_too_many_messages_in_the_window() -> None:
    assert assess(messages_in_window=6, length=1, limits=LIMITS) is Violation.TOO_MANY


def test_too_long_wins_over_too_many() -> None:
    assert assess(messages_in_window=9, length=101, limits=LIMITS) is Violation.TOO_LONG


@pytest.mark.parametrize("policy", list(FloodPolicy))
def test_first_strike_is_always_a_warning(policy: FloodPolicy) -> None:
    assert action_for(1, policy) is FloodAction.WARN


@pytest.mark.parametrize(
    ("policy", "second"),
    [
        (FloodPolicy.WARN, FloodAction.NOTHING),
        (FloodPolicy.VOTE, FloodAction.OPEN_VOTE),
        (FloodPolicy.REMOVE, FloodAction.REMOVE),
    ],
)
def test_second_strike_follows_the_room_policy_and_later_ones_do_nothing(
    policy: FloodPolicy, second: FloodAction
) -> None:
    assert action_for(2, policy) is second
    assert action_for(3, policy) is FloodAction.NOTHING


def test_warnings_name_the_limit_and_the_grace() -> None:
    assert "100" in warning(Violation.TOO_LONG, LIMITS, 30).zh
    assert "5 messages per 30 s" in warning(Violation.TOO_MANY, LIMITS, 30).en
    assert "20 秒后如果继续" in warning(Violation.TOO_MANY, LIMITS, 20).zh
    assert "next time" in warning(Violation.TOO_MANY, LIMITS, 0).en
