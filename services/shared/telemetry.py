"""Tracing: W3C trace context travels in NATS headers (FastStream's NATS telemetry middleware), so one chat message
is one trace from the gateway through every service back to the gateway's send.

Exporter by the standard variables: OTLP over HTTP when OTEL_EXPORTER_OTLP_ENDPOINT (or ..._TRACES_ENDPOINT) is set
and OTEL_TRACES_EXPORTER is not `none`; otherwise no tracing at all (no middleware, no cost).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping

from opentelemetry.propagate import extract
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Span, SpanKind, Tracer, get_current_span


def provider_from_env(service: str) -> TracerProvider | None:
    if os.environ.get("OTEL_TRACES_EXPORTER", "otlp").lower() == "none":
        return None
    if not (
        os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    ):
        return None
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter  # noqa: PLC0415 - only when on

    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: service}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return provider


@contextlib.contextmanager
def continued(tracer: Tracer, name: str, headers: Mapping[str, str] | None, kind: SpanKind) -> Iterator[Span]:
    """A span that continues the trace whose W3C context a NATS message carries in its headers."""
    with tracer.start_as_current_span(name, context=extract(dict(headers or {})), kind=kind) as span:
        yield span


def current_trace_id() -> str | None:
    context = get_current_span().get_span_context()
    return f"{context.trace_id:032x}" if context.is_valid else None
