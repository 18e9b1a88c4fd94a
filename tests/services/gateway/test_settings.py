"""Gateway settings come from GATEWAY_... and from the Wechaty ecosystem's own variable names."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.gateway.settings import GatewaySettings


def test_environment_names(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GATEWAY_PUPPET", "simulator")
    monkeypatch.setenv("WECHATY_PUPPET_SERVICE_ENDPOINT", "10.0.0.5:8788")
    monkeypatch.setenv("WECHATY_PUPPET_SERVICE_TOKEN", "insecure_token")
    monkeypatch.setenv("SIMULATOR_PORT", "8701")
    monkeypatch.setenv("GATEWAY_BOT_ID", "wxid_bot")
    monkeypatch.setenv("GATEWAY_PUBLISH_SELF", "true")
    monkeypatch.setenv("GATEWAY_WECHATY_DIR", str(tmp_path))
    monkeypatch.setenv("GATEWAY_ACCOUNT_PER_MINUTE", "12")

    settings = GatewaySettings()

    assert settings.puppet == "simulator"
    assert settings.puppet_service_endpoint == "10.0.0.5:8788"
    assert settings.puppet_service_token is not None
    assert settings.puppet_service_token.get_secret_value() == "insecure_token"
    assert (settings.simulator_port, settings.bot_id, settings.publish_self) == (8701, "wxid_bot", True)
    assert settings.wechaty_dir == tmp_path
    assert settings.limits.account_per_minute == 12


def test_the_token_is_not_shown_in_reprs() -> None:
    settings = GatewaySettings(puppet_service_token="insecure_secret")  # type: ignore[arg-type]

    assert "insecure_secret" not in repr(settings)


def test_a_bot_id_that_cannot_be_a_subject_token_is_refused() -> None:
    with pytest.raises(ValueError, match="pattern"):
        GatewaySettings(bot_id="bad.id")
