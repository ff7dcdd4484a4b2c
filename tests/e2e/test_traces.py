"""Tracing on, over HTTP: the app factory builds the traced schema, and the operation's span
carries the request's X-Request-Id and holds the command's append."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from uuid import uuid4

import httpx
import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from service.access.auth import Role
from service.settings import Settings
from tests.scenarios.graphql import OPEN, SECRET, WHEN, free_port, token
from tests.scenarios.tracing import named, record_spans

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def exported() -> Iterator[InMemorySpanExporter]:
    exporter = record_spans()  # before the app: its install keeps the provider there is
    yield exporter
    exporter.shutdown()


@pytest.fixture(scope="module")
async def server_settings(settings: Settings, exported: InMemorySpanExporter) -> Settings:
    return dataclasses.replace(
        settings, jwt_secret=SECRET, port=free_port(), tracing=("otlp",), run_projections=False
    )


async def test_a_request_is_traced_with_its_id(
    http: httpx.AsyncClient, server_settings: Settings, exported: InMemorySpanExporter
) -> None:
    exported.clear()
    given = uuid4()
    headers = {
        "Authorization": f"Bearer {token(server_settings, Role.CASEWORKER)}",
        "X-Request-Id": str(given),
    }
    variables = {"input": {"caseNumber": "C-9", "occurredAt": WHEN, "source": "intake"}}
    answer = await http.post(
        "/graphql", json={"query": OPEN, "variables": variables}, headers=headers
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["data"]["openCase"]["__typename"] == "CommandSuccess"
    spans = exported.get_finished_spans()
    operation = named(spans, "GraphQL Query")
    assert (operation.attributes or {})["reunite.request_id"] == str(given)
    assert (operation.attributes or {})["graphql.operation.type"] == "mutation"
    append = named(spans, "reunite.append")
    assert operation.context is not None and append.context is not None
    assert append.context.trace_id == operation.context.trace_id
    assert (append.attributes or {})["reunite.correlation_id"] == str(given)
