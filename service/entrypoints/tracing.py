"""OpenTelemetry tracing, off unless configured (README, "Traces").

On (Settings.tracing: REUNITE_TRACING, OTEL_TRACES_EXPORTER or an OTLP endpoint), the
process gets the SDK's tracer provider with a batch processor per exporter; the OTLP
exporter reads OpenTelemetry's own variables (OTEL_EXPORTER_OTLP_ENDPOINT, headers,
timeouts), and the service is named `reunite` unless OTEL_SERVICE_NAME (or
OTEL_RESOURCE_ATTRIBUTES) names it. Off, nothing is installed: the spans of the store, the
commands and the projections (`trace.get_tracer`) are the API's no-ops, and the schema has
no tracing extension. The SDK is imported only when tracing is on.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from opentelemetry import trace

from service.settings import Settings

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider

log = logging.getLogger(__name__)


def tracer_provider(settings: Settings) -> TracerProvider | None:
    """A provider exporting to the configured exporters, or None when tracing is off."""
    if not settings.tracing:
        return None
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

    resource = Resource.create()
    if str(resource.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
        resource = resource.merge(Resource({SERVICE_NAME: "reunite"}))
    provider = TracerProvider(resource=resource)  # flushed and shut down at exit
    for name in settings.tracing:
        if name == "otlp":
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        else:
            provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter()))
    return provider


def install_tracing(settings: Settings) -> bool:
    """Make the configured provider the process's, once; whether tracing is on."""
    if not settings.tracing:
        return False
    from opentelemetry.sdk.trace import TracerProvider as SdkProvider

    if isinstance(trace.get_tracer_provider(), SdkProvider):  # installed already
        return True
    provider = tracer_provider(settings)
    assert provider is not None
    trace.set_tracer_provider(provider)
    log.info("tracing on: spans exported to %s", ", ".join(settings.tracing))
    return True
