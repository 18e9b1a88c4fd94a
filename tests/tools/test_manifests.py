"""`make manifests` (tools/manifests.py): the committed manifests are what the declarations make, and a new package
under services/ is registered by `make manifests` alone — its consumer, its NATS rights, its Kubernetes objects
and its secrets — proven on a copy of the tree against a real nats-server with the rendered permissions."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nats
import pytest
import yaml
from nats.aio.client import Client
from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from schemas import MessageReceived, SayText, streams, subjects
from services.shared import QunSettings, permissions
from tests import factories
from tools import manifests
from tools.servers import free_port, nats_server_binary, start_redis

ROOT = manifests.ROOT
BOT = "wxid_qunbot"
DEADLINE_S = 20.0

SCRATCH_SETTINGS = '''
"""Settings of a service that exists only in a test's copy of the tree."""

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from services.shared import QunSettings


class ScratchSettings(QunSettings):
    model_config = SettingsConfigDict(env_prefix="SCRATCH_", frozen=True, extra="ignore", populate_by_name=True)

    api_key: SecretStr | None = Field(None, description="Key of the scratch API")
    api_url: str = Field("https://scratch.example/", description="The scratch API")
'''

SCRATCH_APP = '''
"""A service that exists only in a test's copy of the tree: registered by being here."""

from schemas import ChatCommand, MessageReceived
from services.scratch.settings import ScratchSettings
from services.shared import Context, QunService
from services.shared.context import AppContext
from services.shared.http import Request, Response

service: QunService[ScratchSettings, None] = QunService(
    "scratch", version="0.0.1", settings=ScratchSettings, scale_on_lag=False, summary_en="scratches"
)


@service.command(ChatCommand(name="scratch", keywords_en=["scratch"], needs_mention=False))
async def scratch(event: MessageReceived, ctx: Context[ScratchSettings, None], args: str) -> None:
    key = ctx.settings.api_key
    await ctx.reply("scratched with the key" if key and key.get_secret_value() == "k3y" else "no key")


@service.route("GET", "/scratch")
async def page(request: Request, app: AppContext[ScratchSettings, None]) -> Response:
    return Response.text("scratch")
'''

SCRATCH_MAIN = "from services.scratch.app import service\n\nservice.run()\n"


# -- the committed files ------------------------------------------------------------------------------------------


def test_the_committed_manifests_are_what_the_declarations_make() -> None:
    stale = manifests.stale(ROOT)
    assert stale == [], f"stale: {[str(path) for path in stale]}; run `make manifests`"


def test_a_changed_or_left_over_file_is_reported_stale(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    shutil.copytree(ROOT / "deploy", tree / "deploy")
    services_dir = tree / manifests.SERVICES_DIR
    (services_dir / "tagger.yaml").write_text("# edited by hand\n")
    (services_dir / "gone.yaml").write_text("# a service that no longer exists\n")
    assert set(manifests.stale(tree)) == {
        manifests.SERVICES_DIR / "tagger.yaml",
        manifests.SERVICES_DIR / "gone.yaml",
    }
    manifests.write(tree)
    assert manifests.stale(tree) == []
    assert not (services_dir / "gone.yaml").exists()


def test_uncommented_secret_keys_keep_their_values_when_regenerated(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    shutil.copytree(ROOT / "deploy", tree / "deploy")
    template = tree / manifests.SERVICE_SECRETS_TEMPLATE
    template.write_text(template.read_text().replace("# OPS_SMTP_PASSWORD=", "OPS_SMTP_PASSWORD=<fill-in>"))
    manifests.write(tree)
    assert "\nOPS_SMTP_PASSWORD=<fill-in>\n" in template.read_text()
    assert "\n# OPS_CONSOLE_TOKEN=\n" in template.read_text()


class _Settings(QunSettings):
    model_config = SettingsConfigDict(env_prefix="X_", frozen=True, extra="ignore", populate_by_name=True)

    token: SecretStr | None = None
    shared_key: SecretStr = Field(SecretStr(""), validation_alias="OTHER_KEY", description="Shared")
    hook_url: str = ""
    smtp_host: str = ""
    plain: int = 1


def test_what_the_settings_class_says() -> None:
    assert manifests.secret_settings(_Settings) == [
        manifests.SecretSetting("X_TOKEN", ""),
        manifests.SecretSetting("OTHER_KEY", "Shared"),
    ]
    assert [port for port, _ in manifests.outbound_ports(_Settings)] == [443, 465, 587]
    assert manifests.secret_settings(QunSettings) == []  # NATS and Redis are wired for every service
    assert manifests.outbound_ports(QunSettings) == []


# -- a new package under services/ --------------------------------------------------------------------------------


@pytest.fixture
def tree_with_scratch(tmp_path: Path) -> Path:
    """A copy of the repository with one more package, services/scratch, and nothing else changed."""
    tree = tmp_path / "tree"

    def ignore(directory: str, names: list[str]) -> set[str]:
        real_secrets = {n for n in names if n.endswith(".env")} if directory.endswith("secrets") else set()
        return real_secrets | {n for n in names if n in {"__pycache__", "node_modules"}}

    for name in ("schemas", "services", "tools", "examples", "deploy"):
        shutil.copytree(ROOT / name, tree / name, ignore=ignore)
    for name in ("Makefile", "pyproject.toml", "constraints.txt"):
        shutil.copy2(ROOT / name, tree / name)
    package = tree / "services" / "scratch"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "settings.py").write_text(SCRATCH_SETTINGS.lstrip())
    (package / "app.py").write_text(SCRATCH_APP.lstrip())
    (package / "__main__.py").write_text(SCRATCH_MAIN)
    return tree


def _make_manifests(tree: Path) -> str:
    """`make manifests` in the copy, with this checkout's virtualenv (never reinstalled from the copy)."""
    venv = Path(sys.executable).parent.parent
    result = subprocess.run(
        [
            "make",
            "--no-print-directory",
            "-C",
            str(tree),
            f"VENV={venv}",
            "-o",
            str(venv / ".installed"),
            "manifests",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def _render(tree: Path, overlay: str) -> list[dict[str, Any]]:
    kubectl = shutil.which("kubectl")
    assert kubectl is not None, "kubectl (with its built-in kustomize) is needed"
    result = subprocess.run(
        [kubectl, "kustomize", str(tree / "deploy" / "k8s" / overlay)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return [obj for obj in yaml.safe_load_all(result.stdout) if obj]


def _named(objects: list[dict[str, Any]], kind: str, name: str) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]


def test_make_manifests_registers_a_new_service_package(tree_with_scratch: Path) -> None:
    tree = tree_with_scratch
    written = _make_manifests(tree)
    assert "deploy/k8s/base/services/scratch.yaml" in written

    prod = _render(tree, "overlays/prod")
    (deployment,) = _named(prod, "Deployment", "scratch")
    assert deployment["spec"]["replicas"] == 2  # not scaled on lag: two for availability
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["args"] == ["services.scratch"]
    env = {entry["name"]: entry for entry in container["env"]}
    assert env["NATS_USER"]["value"] == "scratch"
    assert env["NATS_PASSWORD"]["valueFrom"]["secretKeyRef"] == {
        "name": "qunbus-nats-users",
        "key": "scratch",
    }
    assert env["SCRATCH_API_KEY"]["valueFrom"]["secretKeyRef"] == {
        "name": manifests.SERVICE_SECRETS,
        "key": "SCRATCH_API_KEY",
        "optional": True,
    }
    assert _named(prod, "PodDisruptionBudget", "scratch")
    assert _named(prod, "Service", "scratch")  # it declares an HTTP route
    (policy,) = _named(prod, "NetworkPolicy", "scratch")
    assert [p["port"] for rule in policy["spec"]["egress"] for p in rule["ports"]] == [
        443
    ]  # its *_url setting
    assert policy["spec"]["ingress"][0]["ports"] == [{"protocol": "TCP", "port": 8080}]
    assert not [o for o in prod if o["kind"] == "ScaledObject" and o["metadata"]["name"] == "scratch"]

    (nats,) = _named(prod, "StatefulSet", "nats")
    variables = {entry["name"] for entry in nats["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert permissions.password_variable("scratch") in variables
    for auth in manifests.auth_files(tree):
        assert '      user: "scratch"' in (tree / auth).read_text()
    secrets_dir = tree / "deploy" / "k8s" / "secrets"
    assert "\nscratch=<generate>\n" in (secrets_dir / "nats-users.env.example").read_text()
    assert "\n# SCRATCH_API_KEY=\n" in (secrets_dir / "services.env.example").read_text()

    check = subprocess.run(
        [sys.executable, "-m", "tools.manifests", "--check"],
        cwd=tree,
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 0, check.stdout
    assert manifests.stale(ROOT) == []  # the real tree was not touched


# -- ... and it runs, under its own NATS user, on the consumer provisioning made for it ---------------------------


@dataclass
class SecuredNats:
    url: str
    passwords: dict[str, str]


@pytest.fixture
def secured_nats(tree_with_scratch: Path, tmp_path: Path) -> Iterator[SecuredNats]:
    """A nats-server with the copy's rendered auth.conf, after `make manifests`, passwords in its environment."""
    _make_manifests(tree_with_scratch)
    auth = (tree_with_scratch / "deploy" / "k8s" / "base" / "nats" / "auth.conf").read_text()
    users = re.findall(r'^\s+user: "([^"]+)"$', auth, flags=re.MULTILINE)
    passwords = {user: permissions.new_password() for user in users}
    workdir = tmp_path / "nats"
    workdir.mkdir()
    (workdir / "auth.conf").write_text(auth)
    port = free_port()
    (workdir / "nats.conf").write_text(
        f"listen: 127.0.0.1:{port}\n"
        f"jetstream {{ store_dir: {json.dumps(str(workdir / 'js'))} }}\n"
        'include "auth.conf"\n'
    )
    env = {**os.environ, **{permissions.password_variable(user): pw for user, pw in passwords.items()}}
    with (workdir / "nats.log").open("wb") as log:
        process = subprocess.Popen(
            [str(nats_server_binary()), "-c", str(workdir / "nats.conf")], env=env, stdout=log, stderr=log
        )
    try:
        yield SecuredNats(f"nats://127.0.0.1:{port}", passwords)
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
async def redis_url(tmp_path: Path) -> AsyncIterator[str]:
    server = await start_redis(tmp_path / "redis")
    yield server.url
    server.stop()


async def _connect(server: SecuredNats, user: str) -> Client:
    deadline = time.monotonic() + DEADLINE_S
    while True:
        try:
            return await nats.connect(
                server.url,
                user=user,
                password=server.passwords[user],
                inbox_prefix=permissions.inbox_prefix(user).encode(),
                allow_reconnect=False,
            )
        except (OSError, nats.errors.Error):
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.05)


def _as_user(server: SecuredNats, user: str, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "NATS_URL": server.url,
        "NATS_USER": user,
        "NATS_PASSWORD": server.passwords[user],
        **extra,
    }


@pytest.mark.slow
async def test_the_new_service_answers_under_its_own_user(
    tree_with_scratch: Path, secured_nats: SecuredNats, redis_url: str, tmp_path: Path
) -> None:
    tree = tree_with_scratch
    provision = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "services.shared.provision",
        "--bot-id",
        BOT,
        cwd=tree,
        env=_as_user(secured_nats, permissions.PROVISIONER),
        stderr=asyncio.subprocess.PIPE,
    )
    _, errors = await asyncio.wait_for(provision.communicate(), timeout=60)
    assert provision.returncode == 0, errors.decode()
    gateway = await _connect(secured_nats, permissions.gateway_user(BOT))
    log = tmp_path / "scratch.log"
    with log.open("wb") as out:
        service = subprocess.Popen(
            [sys.executable, "-m", "services.scratch"],
            cwd=tree,
            env=_as_user(
                secured_nats,
                "scratch",
                REDIS_URL=redis_url,
                HTTP_PORT=str(free_port()),
                SCRATCH_API_KEY="k3y",
            ),
            stdout=out,
            stderr=out,
        )
    try:
        js = gateway.jetstream()
        provisioner = await _connect(secured_nats, permissions.PROVISIONER)
        info = await provisioner.jetstream().consumer_info(streams.EVENTS.name, "scratch")
        await provisioner.close()
        assert f"{subjects.EVENTS}.*.message" in (info.config.filter_subjects or [info.config.filter_subject])
        event = factories.message("scratch", bot_id=BOT, mentions_bot=False)
        await js.publish(
            subjects.event(BOT, MessageReceived),
            event.model_dump_json().encode(),
            headers={"Nats-Msg-Id": event.id},
        )
        commands = await js.pull_subscribe(
            subjects.all_commands(BOT), durable=permissions.gateway_user(BOT), stream=streams.COMMANDS.name
        )
        (message,) = await commands.fetch(1, timeout=DEADLINE_S)
        assert SayText.model_validate_json(message.data).text == "scratched with the key"
        assert service.poll() is None, log.read_text()
    finally:
        service.terminate()
        service.wait(timeout=20)
        await gateway.close()
    assert "Permissions Violation" not in log.read_text()


def test_the_readme_says_a_package_and_make_manifests_is_the_whole_registration() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Adding a service", 1)[1].split("\n## ", 1)[0]
    assert "make manifests" in section
    for hand_kept in ("KNOWN_SERVICES", "SERVICE_COMMANDS", "kustomization.yaml", "auth.conf"):
        assert hand_kept not in section, hand_kept
