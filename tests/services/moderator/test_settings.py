import pytest

from services.moderator.rooms import FloodLimits, FloodPolicy
from services.moderator.settings import ModeratorSettings


def test_prefixed_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODERATOR_FRIEND_KEYWORDS", "读书会, qunbus ,")
    monkeypatch.setenv("MODERATOR_FLOOD_POLICY", "remove")
    monkeypatch.setenv("MODERATOR_VOTE_WINDOW_HOURS", "6")
    monkeypatch.setenv("MODERATOR_PASSWORD_SECRET", "s3cret")
    monkeypatch.setenv("MODERATOR_PASSWORD_MAX_GUESSES", "3")
    monkeypatch.setenv("QUN_ADMINS", "root")
    settings = ModeratorSettings()
    assert settings.friend_keywords == ("读书会", "qunbus")
    assert settings.flood_policy is FloodPolicy.REMOVE
    assert settings.vote_window_hours == 6
    assert settings.password_max_guesses == 3
    assert settings.admins == frozenset({"root"})
    assert "s3cret" not in repr(settings)


def test_defaults() -> None:
    settings = ModeratorSettings()
    assert settings.friend_keywords == ()
    assert settings.flood_limits == FloodLimits(max_messages=10, window_seconds=60, max_length=1500)
    assert settings.vote_window_hours == 12
    assert (settings.password_max_guesses, settings.password_guess_window_s) == (5, 3600)
