"""One chat message is one trace: gateway receipt -> tagger -> gateway send, with the right parent links."""

from __future__ import annotations

import asyncio
import time

from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from schemas import LoggedIn
from services.gateway.settings import GatewaySettings
from services.simulator.world import QuotedText
from services.tagger.app import service as tagger
from services.tagger.settings import TaggerSettings
from tests.conftest import Bus
from tests.services.gateway.test_app import BOT, FAST, Chat


async def bot_says(chat: Chat, needle: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not any(needle in message.text for message in chat.world.bot_sent()):
        assert time.monotonic() < deadline, f"the bot never said {needle!r}: {chat.world.bot_sent()}"
        await asyncio.sleep(0.02)


def parents(span: ReadableSpan, by_id: dict[int, ReadableSpan]) -> list[str]:
    names = []
    while span.parent is not None:
        span = by_id[span.parent.span_id]
        names.append(span.name)
    return names


async def test_a_tagger_answer_is_one_trace_from_receipt_to_send(
    nats_url: str, redis_url: str, bus: Bus
) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    chat = Chat()
    gateway_settings = GatewaySettings(nats_url=nats_url, redis_url=redis_url, bot_id=BOT, **FAST)  # type: ignore[arg-type]
    tagger_settings = TaggerSettings(nats_url=nats_url, redis_url=redis_url)  # type: ignore[arg-type]
    async with (
        chat.service().runtime(gateway_settings, tracer_provider=provider),
        tagger.runtime(tagger_settings, tracer_provider=provider),
    ):
        await bus.wait_for(f"qun.evt.{BOT}.login", LoggedIn, timeout=15)
        quote = QuotedText(talker_name="Bob", text="周会改到周四晚上八点")
        chat.world.say(chat.room, chat.alice, "标记 #周会", mention_ids=[BOT], quote=quote)
        await bot_says(chat, "#1")
        exporter.clear()
        chat.world.say(chat.room, chat.bob, "问 周会什么时候开", mention_ids=[BOT])
        await bot_says(chat, "周四晚上八点")

    spans = exporter.get_finished_spans()
    [send] = [span for span in spans if span.name == "wechat send"]
    in_trace = {
        span.context.span_id: span for span in spans if span.context.trace_id == send.context.trace_id
    }
    assert parents(send, in_trace) == [
        f"qun.cmd.{BOT}.say create",  # the tagger publishing its SayText ...
        f"qun.evt.{BOT}.message process",  # ... while handling the question ...
        f"qun.evt.{BOT}.message create",  # ... that the gateway published ...
        "wechat message",  # ... on receiving it from WeChat: the root
    ]
