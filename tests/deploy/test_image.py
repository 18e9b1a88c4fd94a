"""The image, built and run: `make image`'s build (buildah on a Debian base made here, no registry, no Docker
engine), then the gateway on the simulator and the tagger started from inside it against this test's NATS and
Redis on the host network. A question gets its answer through the simulated WeChat room.

The build is cached by a hash of its inputs, so only a changed tree is built again (a cold build, base image
included, takes a few minutes). Skipped, loudly, only where buildah cannot run at all (not installed and not
installable: no root or no apt-get; or mounts and chroot refused, as in an unprivileged container); a failing
build fails the test.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from services.shared import QunSettings
from services.shared.provision import provision
from tests.conftest import GENEROUS_QUOTA_ENV
from tests.peers import unavailable
from tools import image
from tools.servers import free_port

BOT_ID = "qunbot"  # the simulated account
ROOM = "20000000001@chatroom"  # 开源交流群
START_DEADLINE_S = 180.0  # first start of the tagger in the image: jieba, CC-CEDICT, e5
ANSWER_DEADLINE_S = 30.0

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1500)]


@pytest.fixture(scope="module")
def image_tag() -> str:
    try:
        built = image.build()
    except image.ImageUnavailableError as error:
        unavailable(f"IMAGE NOT BUILT, buildah cannot run on this machine: {error}")
    how = "found" if built.cached else "built"
    print(f"\n{built.tag}: {how} in {built.seconds:.0f} s, {built.size_bytes / 1e6:.0f} MB")
    return built.tag


@pytest.fixture
def running(image_tag: str) -> Iterator[image.Container]:
    with image.container(image_tag) as container:
        yield container


def _tail(log: Path) -> str:
    return log.read_text()[-3000:]


async def _ready(http: httpx.AsyncClient, port: int, log: Path, process: Any) -> None:
    deadline = time.monotonic() + START_DEADLINE_S
    while True:
        assert process.poll() is None, f"exited:\n{_tail(log)}"
        try:
            if (await http.get(f"http://127.0.0.1:{port}/readyz")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, f"not ready after {START_DEADLINE_S} s:\n{_tail(log)}"
        await asyncio.sleep(0.2)


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10) as client:
        yield client


async def _bot_says(http: httpx.AsyncClient, simulator: str, after: int, needle: str) -> dict[str, Any]:
    deadline = time.monotonic() + ANSWER_DEADLINE_S
    seen: list[str] = []
    while time.monotonic() < deadline:
        response = await http.get(
            f"{simulator}/api/messages", params={"room_id": ROOM, "from_bot": "true", "after": after}
        )
        messages: list[dict[str, Any]] = response.json()
        seen = [message["text"] for message in messages]
        for message in messages:
            if needle in message["text"]:
                return message
        await asyncio.sleep(0.1)
    raise AssertionError(f"the bot did not say {needle!r}; it said {seen}")


async def _speak(http: httpx.AsyncClient, simulator: str, **message: Any) -> dict[str, Any]:
    response = await http.post(f"{simulator}/api/rooms/{ROOM}/messages", json=message)
    assert response.status_code == 201, response.text
    said: dict[str, Any] = response.json()
    return said


async def test_a_question_gets_its_answer_from_services_in_the_image(
    running: image.Container, nats_url: str, redis_url: str, http: httpx.AsyncClient, tmp_path: Path
) -> None:
    await provision(QunSettings(nats_url=nats_url, redis_url=SecretStr(redis_url)), bot_ids=[BOT_ID])
    common = {"NATS_URL": nats_url, "REDIS_URL": redis_url, "HTTP_HOST": "127.0.0.1", **GENEROUS_QUOTA_ENV}
    simulator_port, gateway_port, tagger_port = free_port(), free_port(), free_port()
    gateway_log, tagger_log = tmp_path / "gateway.log", tmp_path / "tagger.log"
    gateway = running.start(
        ["python", "-m", "services.gateway"],
        {
            **common,
            "HTTP_PORT": str(gateway_port),
            "GATEWAY_PUPPET": "simulator",
            "SIMULATOR_PORT": str(simulator_port),
            "GATEWAY_SHOW_QR": "false",
        },
        log=gateway_log,
    )
    tagger = running.start(
        ["python", "-m", "services.tagger"], {**common, "HTTP_PORT": str(tagger_port)}, log=tagger_log
    )
    await _ready(http, gateway_port, gateway_log, gateway)
    await _ready(http, tagger_port, tagger_log, tagger)
    simulator = f"http://127.0.0.1:{simulator_port}"

    fact = await _speak(
        http,
        simulator,
        talker_id="wxid_zhangwei",
        text="每周四晚上 8 点在腾讯会议开社区周会，会议号 612-338-905",
    )
    await _speak(
        http, simulator, talker_id="wxid_bob", text="标记 周会", mention_ids=[BOT_ID], quote_id=fact["id"]
    )
    await _bot_says(http, simulator, fact["seq"], "#1")
    question = await _speak(
        http, simulator, talker_id="wxid_lina", text="问 周会几点开？", mention_ids=[BOT_ID]
    )
    answer = await _bot_says(http, simulator, question["seq"], "612-338-905")
    assert answer["mention_ids"] == ["wxid_lina"] or "612-338-905" in answer["text"]
    assert "Traceback" not in _tail(tagger_log) + _tail(gateway_log)


def test_the_history_font_is_in_the_image(running: image.Container, tmp_path: Path) -> None:
    """The history service's charts find their Chinese font (Debian's fonts-wqy-microhei) in the image."""
    log = tmp_path / "font.log"
    process = running.start(
        ["python", "-c", "from services.history import chart; print(chart.find_font().path)"], {}, log=log
    )
    assert process.wait(timeout=120) == 0, log.read_text()
    assert "wqy-microhei" in log.read_text()
