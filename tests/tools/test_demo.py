"""`make demo`'s launcher, end to end: a hand-published `ding` gets `dong`, the page is where the banner says even
when its usual port is taken, and Ctrl-C stops everything."""

from __future__ import annotations

import asyncio
import re
import signal
import socket
import subprocess
import sys
import time

import httpx
import pytest

from tools.demo import ROOT, Port, choose_port


def test_a_taken_port_is_replaced_by_a_free_one_and_said_so() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]

        port = choose_port(taken, "the simulator page")

    assert port.number != taken
    assert str(taken) in port.note
    assert str(port.number) in port.note
    assert "taken" in port.note


def test_a_free_port_is_used_as_is() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]

    assert choose_port(free, "NATS") == Port(free)


@pytest.mark.slow
@pytest.mark.timeout(180)
async def test_demo_answers_ding_by_hand_shows_the_page_where_it_says_and_stops_cleanly() -> None:
    holder = socket.socket()  # someone else's server on the port the page would take
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    taken = holder.getsockname()[1]
    demo = subprocess.Popen(
        [sys.executable, "-m", "tools.demo", "--auto-ports", "--simulator-port", str(taken)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        lines: list[str] = []
        nats_url = await _ready_line(demo, lines)
        say = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tools.say", "--nats", nats_url, "ding", cwd=ROOT, stdout=subprocess.PIPE
        )
        out, _ = await say.communicate()
        assert say.returncode == 0
        assert '"text":"dong"' in out.decode()
        assert "qun.cmd.bot.say" in out.decode()
        printed = "".join(lines)
        assert f"port {taken} (the simulator page) is taken" in printed
        link = re.search(r"Chat in the browser:\s+(\S+)", printed)
        assert link is not None
        assert f":{taken}/" not in link.group(1)
        async with httpx.AsyncClient() as http:
            page = await http.get(link.group(1))
        assert page.status_code == 200
        assert "qunbus" in page.text
    finally:
        holder.close()
        demo.send_signal(signal.SIGINT)
        rest = demo.communicate(timeout=60)[0]
    assert demo.returncode == 0
    assert rest.rstrip().endswith("stopped.")


async def _ready_line(demo: subprocess.Popen[str], lines: list[str], timeout: float = 150) -> str:
    assert demo.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = await asyncio.to_thread(demo.stdout.readline)
        if not line and demo.poll() is not None:
            raise AssertionError(f"demo exited with {demo.returncode}")
        lines.append(line)
        if match := re.match(r"DEMO READY nats=(\S+)", line):
            return match.group(1)
    raise AssertionError("demo not ready in time")
