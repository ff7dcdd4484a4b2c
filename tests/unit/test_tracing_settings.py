"""Tracing is off unless configured: no provider, and no tracing extension in the schema."""

from __future__ import annotations

import json
import logging

import pytest
from opentelemetry.sdk.resources import SERVICE_NAME
from opentelemetry.sdk.trace import TracerProvider
from strawberry.extensions.tracing.opentelemetry import OpenTelemetryExtension

from schema.build import create_schema
from service.entrypoints.logs import JsonLines
from service.entrypoints.tracing import install_tracing, tracer_provider
from service.settings import Settings


def traced(extensions: list[object]) -> list[object]:
    return [e for e in extensions if isinstance(e, type) and issubclass(e, OpenTelemetryExtension)]


def test_the_schema_traces_only_when_asked() -> None:
    assert traced(list(create_schema().extensions)) == []
    assert traced(list(create_schema(dev=True).extensions)) == []
    assert len(traced(list(create_schema(tracing=True).extensions))) == 1


@pytest.mark.parametrize(
    ("env", "exporters"),
    [
        ({}, ()),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, ("otlp",)),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:4318/v1/traces"}, ("otlp",)),
        ({"OTEL_TRACES_EXPORTER": "console"}, ("console",)),
        ({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c"}, ()),
        ({"REUNITE_TRACING": "1"}, ("otlp",)),
        ({"REUNITE_TRACING": "on", "OTEL_TRACES_EXPORTER": "console"}, ("console",)),
        ({"REUNITE_TRACING": "otlp,console"}, ("otlp", "console")),
        ({"REUNITE_TRACING": "off", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c"}, ()),
        ({"OTEL_SDK_DISABLED": "true", "REUNITE_TRACING": "1"}, ()),
    ],
)
def test_tracing_is_on_only_when_configured(env: dict[str, str], exporters: tuple[str]) -> None:
    assert Settings.from_env(env).tracing == exporters


def test_an_unknown_exporter_is_refused() -> None:
    with pytest.raises(ValueError, match="zipkin"):
        Settings.from_env({"REUNITE_TRACING": "zipkin"})


def test_off_installs_nothing_and_on_builds_the_sdk_provider() -> None:
    assert tracer_provider(Settings()) is None
    assert install_tracing(Settings()) is False
    provider = tracer_provider(Settings(tracing=("otlp", "console")))
    assert isinstance(provider, TracerProvider)
    try:
        assert provider.resource.attributes[SERVICE_NAME] == "reunite"
    finally:
        provider.shutdown()


def test_json_log_lines_name_the_span_they_were_logged_in() -> None:
    record = logging.LogRecord("reunite", logging.INFO, __file__, 1, "appended", None, None)
    assert "trace_id" not in json.loads(JsonLines().format(record))
    provider = TracerProvider()
    try:
        with provider.get_tracer(__name__).start_as_current_span("reunite.append") as span:
            line = json.loads(JsonLines().format(record))
        said = span.get_span_context()
        assert line["trace_id"] == format(said.trace_id, "032x")
        assert line["span_id"] == format(said.span_id, "016x")
    finally:
        provider.shutdown()
