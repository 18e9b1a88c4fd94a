from collections.abc import Iterator
from zoneinfo import ZoneInfo

import httpx
import pytest
from pydantic import SecretStr

from services.history import llm
from tests.services.history.conversations import CHINESE, build
from tests.services.history.fake_llm import FakeLlm, running

KEY = SecretStr("sk-test-not-a-real-key")


@pytest.fixture
def fake() -> Iterator[FakeLlm]:
    with running(FakeLlm(reply="今天聊了发布和火锅\n\n- 决定：下午三点发布\n")) as server:
        yield server


def config(fake: FakeLlm, **overrides: object) -> llm.LlmConfig:
    values: dict[str, object] = {"base_url": fake.url, "model": "qwen-test", "api_key": KEY, "timeout_s": 5.0}
    return llm.LlmConfig(**{**values, **overrides})  # type: ignore[arg-type]


def material() -> list[dict[str, str]]:
    chat = llm.transcript(build(CHINESE), ZoneInfo("Asia/Shanghai"), 10_000)
    return llm.prompt("今天群聊总结（18 条消息，4 人）：", chat, "zh", 10)


@pytest.mark.parametrize("stream", [True, False])
async def test_summary_from_a_streaming_and_a_plain_endpoint(fake: FakeLlm, stream: bool) -> None:
    async with httpx.AsyncClient() as client:
        lines = await llm.summarize(client, config(fake, stream=stream), material(), 10)
    assert lines == ["今天聊了发布和火锅", "- 决定：下午三点发布"]
    [request] = fake.requests
    assert request["headers"]["Authorization"] == f"Bearer {KEY.get_secret_value()}"
    assert request["body"]["model"] == "qwen-test"
    assert request["body"]["stream"] is stream
    assert "09:00 老王: 大家早" in request["body"]["messages"][1]["content"]


@pytest.mark.parametrize("mode", ["error", "garbage", "slow"])
async def test_failures_raise_so_the_offline_summary_is_sent(fake: FakeLlm, mode: str) -> None:
    fake.mode, fake.delay_s = mode, 1.0
    async with httpx.AsyncClient() as client:
        with pytest.raises(llm.LlmError):
            await llm.summarize(client, config(fake, stream=False, timeout_s=0.3), material(), 10)


async def test_too_many_lines_are_cut_and_the_transcript_keeps_the_latest() -> None:
    with running(FakeLlm(reply="\n".join(f"line {n}" for n in range(30)))) as fake:
        async with httpx.AsyncClient() as client:
            assert len(await llm.summarize(client, config(fake), material(), 10)) == 10
    short = llm.transcript(build(CHINESE), ZoneInfo("UTC"), 120)
    assert "发布文档" in short  # the last message
    assert "大家早" not in short
