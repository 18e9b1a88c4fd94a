"""deploy/k8s/secrets/init_secrets.py: the operator's first step, turning templates into git-ignored env files."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from services.shared import permissions
from tests.deploy.secrets_dir import SECRETS, load_init_script

init_secrets = load_init_script()


def _env(path: Path) -> dict[str, str]:
    lines = [line for line in path.read_text().splitlines() if line and not line.startswith("#")]
    return dict(line.split("=", 1) for line in lines)


def _copy_templates(tmp_path: Path) -> Path:
    for template in SECRETS.glob("*.env.example"):
        shutil.copy(template, tmp_path / template.name)
    return tmp_path


def test_generated_passwords_are_read_verbatim_by_nats_server(tmp_path: Path) -> None:
    init_secrets.init_dir(_copy_templates(tmp_path))
    users = _env(tmp_path / "nats-users.env")
    assert set(users) == {perms.user for perms in permissions.all_permissions(["wxid_qunbot"])}
    assert all(permissions.PASSWORD_PATTERN.fullmatch(password) for password in users.values())
    assert len(set(users.values())) == len(users)  # one password per user
    assert all(permissions.PASSWORD_PATTERN.fullmatch(permissions.new_password()) for _ in range(200))


def test_redis_url_carries_the_generated_password(tmp_path: Path) -> None:
    init_secrets.init_dir(_copy_templates(tmp_path))
    redis = _env(tmp_path / "redis.env")
    assert redis["url"] == f"redis://:{redis['password']}@redis:6379/0"
    assert _env(tmp_path / "wechaty-main.env")["token"].startswith("insecure_p")


def test_values_only_the_operator_knows_are_reported_not_invented(tmp_path: Path) -> None:
    to_fill = init_secrets.init_dir(_copy_templates(tmp_path))
    assert to_fill == {
        "services.env": ["GITHUB_TOKEN"],
        "wechaty-main-puppet.env": ["WECHATY_PUPPET_PADLOCAL_TOKEN"],
    }
    services = _env(tmp_path / "services.env")
    assert services["GITHUB_TOKEN"] == "<fill-in>"
    assert permissions.PASSWORD_PATTERN.fullmatch(services["MODERATOR_PASSWORD_SECRET"])
    assert "OPS_SMTP_PASSWORD" not in services  # optional: commented out until the operator uses it
    assert (tmp_path / "services.env").stat().st_mode & 0o077 == 0  # readable by the operator only


def test_existing_env_files_are_never_overwritten(tmp_path: Path) -> None:
    _copy_templates(tmp_path)
    (tmp_path / "redis.env").write_text("password=mine\nurl=rediss://:mine@managed.example:6380/0\n")
    init_secrets.init_dir(tmp_path)
    init_secrets.init_dir(tmp_path)
    assert _env(tmp_path / "redis.env") == {
        "password": "mine",
        "url": "rediss://:mine@managed.example:6380/0",
    }


def test_runs_as_a_script(tmp_path: Path) -> None:
    _copy_templates(tmp_path)
    result = subprocess.run(
        [sys.executable, str(SECRETS / "init_secrets.py"), "--dir", str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "fill in GITHUB_TOKEN" in result.stdout
    assert (tmp_path / "nats-users.env").exists()


def test_real_env_files_are_git_ignored() -> None:
    assert "*.env" in (SECRETS / ".gitignore").read_text().splitlines()


def test_env_files_are_created_private_not_made_private_afterwards(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Written, then chmod-ed, a file of passwords is readable by everyone for a moment (umask 022)."""
    monkeypatch.setattr(os, "chmod", lambda *_args, **_kwargs: None)
    monkeypatch.setattr(Path, "chmod", lambda *_args, **_kwargs: None)
    old = os.umask(0o022)
    try:
        init_secrets.init_dir(_copy_templates(tmp_path))
    finally:
        os.umask(old)
    written = sorted(tmp_path.glob("*.env"))
    assert written
    assert [path.stat().st_mode & 0o777 for path in written] == [0o600] * len(written)
