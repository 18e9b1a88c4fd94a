"""tools/image.py without building: what the build context holds, when the image is built again, and how this
machine's pip settings reach the build (tests/deploy/test_image.py builds and runs the image)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tools import image


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "tree"
    root.mkdir()
    for name in ("Dockerfile", ".dockerignore", "pyproject.toml", "constraints.txt"):
        shutil.copy(image.ROOT / name, root / name)
    (root / "services" / "x").mkdir(parents=True)
    (root / "services" / "x" / "app.py").write_text("service = None\n")
    (root / "services" / "x" / "__pycache__").mkdir()
    (root / "services" / "x" / "__pycache__" / "app.cpython-311.pyc").write_bytes(b"\0")
    (root / "services" / "x" / "node_modules").mkdir()
    (root / "services" / "x" / "node_modules" / "a.js").write_text("")
    (root / "tests").mkdir()
    (root / "tests" / "test_x.py").write_text("")
    (root / "README.md").write_text("# x\n")
    return root


def test_the_context_is_the_allow_list(tree: Path) -> None:
    assert image.context_files(tree) == ["constraints.txt", "pyproject.toml", "services/x/app.py"]


def test_the_tag_changes_with_the_context_only(tree: Path) -> None:
    first = image.input_hash(tree, "base1")
    (tree / "README.md").write_text("# changed\n")
    (tree / "tests" / "test_x.py").write_text("x = 1\n")
    assert image.input_hash(tree, "base1") == first  # outside the context: no rebuild
    assert image.input_hash(tree, "base2") != first  # a new base image
    (tree / "services" / "x" / "app.py").write_text("service = 1\n")
    assert image.input_hash(tree, "base1") != first


def test_pip_settings_reach_the_build_under_one_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mirror = tmp_path / "mirror"
    (mirror / "simple").mkdir(parents=True)
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    cert = tmp_path / "ca.pem"
    cert.write_text("-----BEGIN CERTIFICATE-----\n")
    settings = {
        "cert": str(cert),
        "extra-index-url": f"file://{mirror}/simple https://mirror.example/simple file:///absent/simple",
        "find-links": str(wheels),
        "timeout": "60",
    }
    monkeypatch.setattr(image, "pip_settings", lambda: settings)
    volumes, config_in_build = image.pip_mounts(tmp_path)
    assert config_in_build == "/tmp/qunbus-build/pip.conf"
    targets = dict(volume.removeprefix("--volume=").removesuffix(":ro").split(":") for volume in volumes)
    assert all(target.startswith("/tmp/qunbus-build/") for target in targets.values())
    assert targets[str(cert)] == "/tmp/qunbus-build/pip-ca.pem"
    config = (tmp_path / "pip.conf").read_text()
    index = targets[str(mirror)]  # the mirror's parent: its files sit beside simple/
    assert f"extra-index-url = file://{index}/simple https://mirror.example/simple\n" in config
    assert f"find-links = {targets[str(wheels)]}\n" in config
    assert "cert = /tmp/qunbus-build/pip-ca.pem\n" in config
    assert "absent" not in config


def test_no_pip_settings_nothing_handed_over(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(image, "pip_settings", dict)
    assert image.pip_mounts(tmp_path) == ([], None)
