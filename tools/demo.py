"""`make demo`: nats-server and redis-server on local ports, every service that exists, and how to talk to them.

Ctrl-C (or SIGTERM) stops the services first, then the servers. Data lives in a temporary directory.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from pydantic import SecretStr

from services.shared.provision import provision
from services.shared.settings import QunSettings
from tools.servers import Server, child_env, free_port, start_nats, start_redis

ROOT = Path(__file__).resolve().parent.parent
BOT_ID = "bot"
SIMULATOR_BOT_ID = "qunbot"  # the simulated WeChat account's contact id
SIMULATOR_PORT = 8700


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]
    http_port: int


@dataclass(frozen=True)
class Port:
    number: int
    note: str = ""
    """Why it is not the usual one, for the banner ("" when it is)."""


def choose_port(preferred: int, what: str, *, auto: bool = False) -> Port:
    """`preferred` if it is free, else a free one with a note saying so (never someone else's server)."""
    if auto:
        return Port(free_port())
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", preferred))
        except OSError:
            taken = True
        else:
            taken = False
    if not taken:
        return Port(preferred)
    port = free_port()
    return Port(port, f"port {preferred} ({what}) is taken by another program; using {port} instead")


def services_present() -> list[str]:
    """Module names to run with `python -m`: every service package with a __main__, then the example."""
    found = [
        f"services.{path.parent.name}"
        for path in sorted((ROOT / "services").glob("*/__main__.py"))
        if path.parent.name not in {"gateway", "simulator"}
    ]
    return [*found, "examples.dingdong"]


def start_child(module: str, env: dict[str, str]) -> Child:
    port = free_port()
    process = subprocess.Popen(  # noqa: S603 - our own modules
        [sys.executable, "-m", module],
        cwd=ROOT,
        env=child_env(HTTP_PORT=str(port), **env),
        start_new_session=True,  # Ctrl-C reaches the launcher only; it stops services first, then the servers
    )
    return Child(module.rsplit(".", 1)[-1], process, port)


async def wait_ready(children: list[Child], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient() as http:
        for child in children:
            while True:
                if child.process.poll() is not None:
                    raise RuntimeError(f"{child.name} exited with {child.process.returncode}")
                try:
                    if (await http.get(f"http://127.0.0.1:{child.http_port}/readyz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{child.name} not ready after {timeout}s")
                await asyncio.sleep(0.1)


def stop_children(children: list[Child]) -> None:
    for child in children:
        if child.process.poll() is None:
            child.process.send_signal(signal.SIGTERM)
    for child in children:
        try:
            child.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            child.process.kill()


def banner(
    nats: Server,
    redis: Server,
    children: list[Child],
    simulator: Port | None,
    notes: list[str],
    *,
    console_token: str = "",
) -> str:
    lines = [
        "",
        "qunbus demo is running. Ctrl-C stops everything.",
        *(f"  Note: {note}" for note in notes if note),
        f"  NATS   {nats.url}",
        f"  Redis  {redis.url}",
        *(f"  {child.name:<12} http://127.0.0.1:{child.http_port}/healthz" for child in children),
        "",
    ]
    if simulator is not None:
        url = f"http://127.0.0.1:{simulator.number}"
        lines += [
            f"  Chat in the browser:   {url}/",
            f"  Chat in the terminal:  .venv/bin/python -m services.simulator.chat_cli --url {url}",
        ]
    ops = next((child for child in children if child.name == "ops"), None)
    if ops is not None and console_token:
        lines.append(
            f"  Operators' console:    http://127.0.0.1:{ops.http_port}/ops  (token {console_token})"
        )
    lines += [
        f"  Publish by hand:       .venv/bin/python -m tools.say --nats {nats.url} ding",
        f"  (any NATS client: a MessageReceived JSON on qun.evt.{BOT_ID}.message; replies on qun.cmd.{BOT_ID}.>)",
        "",
    ]
    return "\n".join(lines)


async def run(args: argparse.Namespace) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="qunbus-demo-"))
    nats_port = choose_port(4222, "NATS", auto=args.auto_ports)
    redis_port = choose_port(6379, "Redis", auto=args.auto_ports)
    page_port = choose_port(
        args.simulator_port or SIMULATOR_PORT,
        "the simulator page",
        auto=args.auto_ports and args.simulator_port is None,
    )
    notes = [nats_port.note, redis_port.note, page_port.note]
    for note in notes:
        if note:
            print(f"Note: {note}", flush=True)
    nats = await start_nats(workdir / "nats", nats_port.number)
    redis = await start_redis(workdir / "redis", redis_port.number, persistent=True)
    children: list[Child] = []
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        console_token = secrets.token_urlsafe(12)
        env = {
            "NATS_URL": nats.url,
            "REDIS_URL": redis.url,
            "QUN_ADMINS": "owner",
            # Secrets of this throwaway world only, made up at each start.
            "MODERATOR_PASSWORD_INVITES": "true",
            "MODERATOR_PASSWORD_SECRET": secrets.token_urlsafe(32),
            "OPS_CONSOLE_TOKEN": console_token,
            "OPS_CONSOLE_WRITE_TOKEN": console_token,
        }
        await provision(
            QunSettings(nats_url=nats.url, redis_url=SecretStr(redis.url)), bot_ids=[SIMULATOR_BOT_ID]
        )
        children = [start_child(module, env) for module in services_present()]
        simulator = (ROOT / "services" / "simulator" / "__init__.py").exists() and (
            ROOT / "services" / "gateway" / "__main__.py"
        ).exists()
        if simulator:
            gateway_env = env | {"GATEWAY_PUPPET": "simulator", "SIMULATOR_PORT": str(page_port.number)}
            children.append(start_child("services.gateway", gateway_env))
        await wait_ready(children)
        print(
            banner(
                nats, redis, children, page_port if simulator else None, notes, console_token=console_token
            ),
            flush=True,
        )
        print(f"DEMO READY nats={nats.url} redis={redis.url}", flush=True)
        await stop.wait()
    finally:
        print("stopping ...", flush=True)
        stop_children(children)
        nats.stop()
        redis.stop()
        print("stopped.", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--auto-ports", action="store_true", help="never use the default ports (tests)")
    parser.add_argument(
        "--simulator-port",
        type=int,
        default=None,
        help=f"port of the simulator page (default {SIMULATOR_PORT}; a free one when it is taken)",
    )
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
