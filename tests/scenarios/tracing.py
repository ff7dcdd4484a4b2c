"""Spans recorded by the OpenTelemetry SDK's own in-memory exporter."""

from __future__ import annotations

from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter


def record_spans() -> InMemorySpanExporter:
    """An exporter the process's SDK provider (one a process: OpenTelemetry's rule; made here
    if none is installed yet) sends every finished span to, until it is shut down."""
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return exporter


def named(spans: tuple[ReadableSpan, ...], name: str) -> ReadableSpan:
    """The one span of that name."""
    [span] = [s for s in spans if s.name == name]
    return span
