"""examples/dice-ts, a service in TypeScript (Node, the `nats` npm package, ajv over the generated JSON Schemas),
beside the Python services on a real nats-server and redis-server: it answers its chat command, the moderator's
help lists it from the registry, and an event that breaks the schema goes to its dead letters.

Its npm packages are installed from the committed package-lock.json (`npm ci`) when missing or older than the lock,
and it is compiled with the locked `tsc`. Without node and npm the test is skipped with a loud reason
(`QUNBUS_REQUIRE_ALL=1`, set by CI, turns that into a failure)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from schemas import DeadLettered, MessageReceived, SayText, subjects
from services.moderator.app import service as moderator
from services.shared import Runtime
from tests.conftest import Bus, RunService
from tests.factories import BOT, ROOM, message
from tests.peers import require_node

DICE = Path(__file__).resolve().parents[2] / "examples" / "dice-ts"
NPM_TIMEOUT_S = 300.0
START_DEADLINE_S = 30.0


def _newest(paths: list[Path]) -> float:
    return max(path.stat().st_mtime for path in paths)


def _build() -> None:
    """`npm ci` from the lock when node_modules is missing or older than it; `tsc` when dist is older than src."""
    lock = DICE / "package-lock.json"
    installed = DICE / "node_modules" / ".package-lock.json"
    if not installed.is_file() or installed.stat().st_mtime < lock.stat().st_mtime:
        subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund"],
            cwd=DICE,
            check=True,
            timeout=NPM_TIMEOUT_S,
            stdout=subprocess.DEVNULL,
        )
    sources = [*(DICE / "src").glob("*.ts"), DICE / "tsconfig.json", installed]
    built = list((DICE / "dist").glob("*.js"))
    if len(built) < len(list((DICE / "src").glob("*.ts"))) or _newest(built) < _newest(sources):
        result = subprocess.run(
            [str(DICE / "node_modules" / ".bin" / "tsc"), "-p", str(DICE)],
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture(scope="module")
def dice_built() -> None:
    require_node("the TypeScript example")
    _build()


@pytest.fixture
async def dice(dice_built: None, nats_url: str, tmp_path: Path) -> AsyncIterator[Path]:
    """The TypeScript service as a process on the test's NATS; yields its log file."""
    log = tmp_path / "dice.log"
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            "node",
            str(DICE / "dist" / "main.js"),
            env={**os.environ, "NATS_URL": nats_url},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        yield log
    finally:
        if process.returncode is None:
            process.terminate()
        await asyncio.wait_for(process.wait(), timeout=10)


async def _live(runtime: Runtime[Any, Any], name: str, log: Path) -> None:
    deadline = time.monotonic() + START_DEADLINE_S
    while name not in {info.name for info in runtime.registry.services}:
        assert time.monotonic() < deadline, f"{name} never joined the registry; its log:\n{_read(log)}"
        await asyncio.sleep(0.05)


def _read(log: Path) -> str:
    return log.read_text()


@pytest.fixture
async def beside_the_moderator(dice: Path, run_service: RunService) -> AsyncIterator[Path]:
    async with run_service(moderator) as runtime:
        await _live(runtime, "dice", dice)
        yield dice


async def test_it_answers_its_command_once_with_a_valid_say_text(
    bus: Bus, beside_the_moderator: Path
) -> None:
    event = message("掷骰子 2d6")
    await bus.publish_event(event)
    [reply] = await bus.says(lambda say: say.reply_to == event.id, timeout=10)
    found = re.fullmatch(r"🎲 掷出 (\d+) \+ (\d+) = (\d+)（2d6）", reply.text)
    assert found, reply.text
    first, second, total = map(int, found.groups())
    assert 1 <= first <= 6
    assert 1 <= second <= 6
    assert total == first + second
    assert (reply.room_id, reply.mention_ids) == (ROOM.id, ["alice"])
    [raw] = [m for m in bus.matching(f"qun.cmd.{BOT}.say") if json.loads(m.data)["id"] == reply.id]
    assert raw.headers == {"Nats-Msg-Id": reply.id}

    english = message("roll d20+3", room=None, mentions_bot=False)
    await bus.publish_event(english)
    [dm] = await bus.says(lambda say: say.reply_to == english.id, timeout=10)
    assert re.fullmatch(r"🎲 rolled (\d+) \+ 3 = (\d+) \(1d20\+3\)", dm.text), dm.text
    assert dm.contact_id == "alice"

    await bus.consumer_settled("moderator")
    await bus.consumer_settled("dice")
    assert [say.reply_to for say in bus.commands(SayText)] == [event.id, english.id]  # the moderator kept out


async def test_the_moderators_help_lists_it_from_the_registry(bus: Bus, beside_the_moderator: Path) -> None:
    event = message("help")
    await bus.publish_event(event)
    [reply] = await bus.says(lambda say: say.reply_to == event.id, timeout=10)
    assert (
        "· dice: roll (e.g. roll 2d6)" in reply.text
    )  # its display name, command and example, from the registry


async def test_an_event_that_breaks_the_schema_goes_to_its_dead_letters(
    bus: Bus, beside_the_moderator: Path
) -> None:
    broken = message("掷骰子").model_dump(mode="json")
    del broken["talker"]
    await bus.publish_raw(subjects.event(BOT, MessageReceived), json.dumps(broken).encode(), "broken-1")
    [letter] = await bus.wait_for("qun.dlq.dice", DeadLettered, timeout=10)
    assert letter.service == "dice"
    assert "talker" in letter.error
    assert letter.error.startswith("invalid payload")
    assert json.loads(letter.payload) == broken
    await bus.publish_raw(subjects.event(BOT, MessageReceived), b"not json", "broken-2")
    await bus.wait_for("qun.dlq.dice", DeadLettered, lambda dl: "not JSON" in dl.error, timeout=10)
    await bus.consumer_settled("dice")
    assert bus.commands(SayText) == []  # nothing answered a broken event
    assert "dead-lettered" in _read(beside_the_moderator)
