import pytest
from pydantic import ValidationError

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
    assert (settings.flood_grace_s, settings.dm_mute_s) == (30, 600)


def test_password_invites_need_a_secret_and_never_show_it(monkeypatch: pytest.MonkeyPatch) -> None:
    assert ModeratorSettings().password_invites is False  # off unless the operator switches them on
    monkeypatch.setenv("MODERATOR_PASSWORD_INVITES", "true")
    with pytest.raises(ValidationError, match="MODERATOR_PASSWORD_SECRET must be set") as missing:
        ModeratorSettings()
    monkeypatch.setenv("MODERATOR_PASSWORD_SECRET", "too-short")
    with pytest.raises(ValidationError) as short:
        ModeratorSettings()
    assert "too-short" not in str(short.value)  # a refused secret is not printed
    assert "MODERATOR_PASSWORD_SECRET" in str(missing.value)
    monkeypatch.setenv("MODERATOR_PASSWORD_SECRET", "a-secret-of-24-characters")
    assert ModeratorSettings().password_invites is True
