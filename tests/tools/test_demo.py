"""`make demo`'s launcher, end to end: a hand-published `ding` gets `dong`, and Ctrl-C stops everything."""

from __future__ import annotations

import asyncio
import re
import signal
import subprocess
import sys
import time

import pytest

from tools.demo import ROOT


@pytest.mark.slow
@pytest.mark.timeout(180)
async def test_demo_answers_ding_by_hand_and_stops_cleanly() -> None:
    demo = subprocess.Popen(
        [sys.executable, "-m", "tools.demo", "--auto-ports"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        nats_url = await _ready_line(demo)
        say = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tools.say", "--nats", nats_url, "ding", cwd=ROOT, stdout=subprocess.PIPE
        )
        out, _ = await say.communicate()
        assert say.returncode == 0
        assert '"text":"dong"' in out.decode()
        assert "qun.cmd.bot.say" in out.decode()
    finally:
        demo.send_signal(signal.SIGINT)
        rest = demo.communicate(timeout=60)[0]
    assert demo.returncode == 0
    assert rest.rstrip().endswith("stopped.")


async def _ready_line(demo: subprocess.Popen[str], timeout: float = 150) -> str:
    assert demo.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = await asyncio.to_thread(demo.stdout.readline)
        if not line and demo.poll() is not None:
            raise AssertionError(f"demo exited with {demo.returncode}")
        if match := re.match(r"DEMO READY nats=(\S+)", line):
            return match.group(1)
    raise AssertionError("demo not ready in time")
