"""One chat message is one trace: the service continues the publisher's trace and its reply carries it on."""

from __future__ import annotations

from opentelemetry.propagate import inject
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from examples.dingdong.app import service as dingdong
from schemas import MessageReceived, subjects
from services.shared.settings import QunSettings
from tests.conftest import Bus
from tests.factories import message


async def test_a_reply_continues_the_trace_of_the_message(bus: Bus, nats_url: str, redis_url: str) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test-gateway")
    settings = QunSettings(nats_url=nats_url, redis_url=redis_url)  # type: ignore[arg-type]
    async with dingdong.runtime(settings, tracer_provider=provider):
        with tracer.start_as_current_span("wechat message") as receipt:
            headers: dict[str, str] = {}
            inject(headers, context=None)
            event = message("ding", room=None)
            await bus.js.publish(
                subjects.event(event.bot_id, MessageReceived),
                event.model_dump_json().encode(),
                headers=headers,
            )
        await bus.says()
    [reply] = bus.matching("qun.cmd.*.say")
    trace_id = f"{receipt.get_span_context().trace_id:032x}"
    assert reply.headers["traceparent"].split("-")[1] == trace_id
    spans = {span.name: span for span in exporter.get_finished_spans()}
    process = next(span for name, span in spans.items() if name.endswith(" process"))
    assert {f"{span.context.trace_id:032x}" for span in spans.values()} == {trace_id}
    assert process.parent is not None
    assert process.parent.span_id == receipt.get_span_context().span_id
