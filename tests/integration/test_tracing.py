"""OpenTelemetry spans, recorded by the SDK's own in-memory exporter: a mutation through the
schema with tracing on holds the command's load and append; a projection batch is a span."""

from __future__ import annotations

from collections.abc import Iterator
from uuid import uuid4

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from schema.build import create_schema
from service.application.container import Container
from service.eventstore.provenance import REQUEST_ID
from tests.scenarios.graphql import FAMILY, OPEN, WHEN, context
from tests.scenarios.tracing import named, record_spans

pytestmark = pytest.mark.integration

ADD = """mutation AddMember($input: AddMemberInput!) {
  addMember(input: $input) { __typename ... on CommandSuccess { version position } } }"""


@pytest.fixture(scope="module")
def exported() -> Iterator[InMemorySpanExporter]:
    """Spans while this module runs; afterwards the exporter keeps nothing."""
    exporter = record_spans()
    yield exporter
    exporter.shutdown()


async def test_a_mutation_holds_its_load_and_append_and_a_batch_is_a_span(
    container: Container, exported: InMemorySpanExporter
) -> None:
    schema = create_schema(tracing=True)
    opened = await schema.execute(
        OPEN,
        variable_values={"input": {"caseNumber": "C-7", "occurredAt": WHEN, "source": "form"}},
        context_value=context(container),
    )
    assert opened.errors is None, opened.errors
    family_id = opened.data["openCase"]["familyId"] if opened.data else None
    exported.clear()

    said = uuid4()
    token = REQUEST_ID.set(said)
    try:
        member = {
            "familyId": family_id,
            "role": "PARENT",
            "sex": "FEMALE",
            "name": "Ana Secreta",
            "occurredAt": WHEN,
        }
        added = await schema.execute(
            ADD, variable_values={"input": member}, context_value=context(container)
        )
    finally:
        REQUEST_ID.reset(token)
    assert added.errors is None, added.errors
    assert added.data is not None
    spans = exported.get_finished_spans()

    operation = named(spans, "GraphQL Query: AddMember")
    assert operation.kind is trace.SpanKind.SERVER
    assert operation.parent is None
    assert operation.attributes is not None
    assert operation.attributes["reunite.request_id"] == str(said)
    assert operation.attributes["graphql.operation.name"] == "AddMember"
    assert operation.attributes["graphql.operation.type"] == "mutation"
    resolver = named(spans, "GraphQL Resolving: addMember")
    load, append = named(spans, "reunite.load"), named(spans, "reunite.append")
    assert resolver.parent is not None and operation.context is not None
    assert resolver.parent.span_id == operation.context.span_id
    assert resolver.context is not None
    for inner in (load, append):
        assert inner.parent is not None and inner.parent.span_id == resolver.context.span_id
        assert inner.context is not None
        assert inner.context.trace_id == operation.context.trace_id
    assert load.end_time is not None and append.start_time is not None
    assert load.end_time <= append.start_time  # load, decide, append

    assert dict(load.attributes or {}) == {
        "reunite.stream_id": family_id,
        "reunite.version": 1,
        "reunite.events_read": 1,
        "reunite.kept": False,
    }
    position = added.data["addMember"]["position"]
    assert dict(append.attributes or {}) == {
        "reunite.stream_id": family_id,
        "reunite.expected_version": 1,
        "reunite.events": 1,
        "reunite.correlation_id": str(said),  # the request id, as the event's
        "reunite.first_position": position,
        "reunite.last_position": position,
        "reunite.duplicate": False,
    }
    # Neither the document nor the input is recorded: a name is personal data.
    for span in spans:
        assert "Ana Secreta" not in repr(dict(span.attributes or {}))
        assert "query" not in (span.attributes or {})

    exported.clear()
    assert await container.runner.step("timeline") == 2
    assert await container.runner.step("timeline") == 0  # nothing new: no span
    [batch] = exported.get_finished_spans()
    assert batch.name == "reunite.project"
    assert dict(batch.attributes or {}) == {
        "reunite.projection": "timeline",
        "reunite.events_read": 2,
        "reunite.events_applied": 2,
        "reunite.families": 1,
        "reunite.last_position": position,
    }

    # Queries are traced too, and answer as without tracing.
    await container.runner.catch_up()
    exported.clear()
    read = await schema.execute(
        FAMILY, variable_values={"id": family_id}, context_value=context(container)
    )
    assert read.errors is None, read.errors
    assert read.data is not None and read.data["family"]["caseNumber"] == "C-7"
    names = {s.name for s in exported.get_finished_spans()}
    assert {"GraphQL Query", "GraphQL Resolving: family"} <= names


async def test_a_failed_batch_is_a_span_with_its_error(
    container: Container, exported: InMemorySpanExporter
) -> None:
    exported.clear()
    with pytest.raises(KeyError):
        await container.runner.step("no-such-projection")
    [failed] = exported.get_finished_spans()
    assert failed.name == "reunite.project"
    assert failed.status.status_code is trace.StatusCode.ERROR
    assert [e.name for e in failed.events] == ["exception"]
