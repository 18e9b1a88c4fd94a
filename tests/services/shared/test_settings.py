"""Shared settings: secrets never shown, whichever variable carries them."""

from __future__ import annotations

import pytest

from services.shared import QunSettings
from services.shared.settings import without_password


def test_a_password_or_token_in_nats_url_is_never_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NATS_URL", "nats://tagger:s3cret-pw@nats-0:4222,nats://s3cret-token@nats-1:4222")
    monkeypatch.setenv("REDIS_URL", "redis://:redis-pw@redis:6379/0")
    settings = QunSettings()
    shown = f"{settings!r} {settings!s}"
    for secret in ("s3cret-pw", "s3cret-token", "redis-pw"):
        assert secret not in shown
    assert "nats://tagger:***@nats-0:4222,nats://***@nats-1:4222" in shown
    assert settings.nats_servers == ["nats://tagger:s3cret-pw@nats-0:4222", "nats://s3cret-token@nats-1:4222"]


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("nats://127.0.0.1:4222", "nats://127.0.0.1:4222"),
        ("nats://user:pa:ss@host:4222", "nats://user:***@host:4222"),
        ("tls://token@host", "tls://***@host"),
    ],
)
def test_without_password(url: str, shown: str) -> None:
    assert without_password(url) == shown
