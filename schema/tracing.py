"""strawberry's OpenTelemetry spans, without what could name a person.

The operation span (kind SERVER) and one span a resolver that is not a plain attribute, as
strawberry's OpenTelemetryExtension makes them, but without the query text or the
resolvers' arguments (a query's literals and a mutation's input may hold names), and with
the request's id (X-Request-Id, the events' correlation id) and the operation's name and
type. Added to the schema only when tracing is on (create_schema(tracing=True)).
"""

from __future__ import annotations

import contextlib
from collections.abc import Generator
from typing import Any

from graphql import GraphQLResolveInfo
from opentelemetry.trace import SpanKind
from strawberry.extensions import LifecycleStep
from strawberry.extensions.tracing.opentelemetry import OpenTelemetryExtension

from service.eventstore.provenance import REQUEST_ID


class Tracing(OpenTelemetryExtension):
    """OpenTelemetryExtension with the request id, and no document text or arguments."""

    def on_operation(self) -> Generator[None, None, None]:
        context = self.execution_context
        name = context.operation_name
        span = self._tracer.start_span(
            f"GraphQL Query: {name}" if name else "GraphQL Query", kind=SpanKind.SERVER
        )
        self._span_holder[LifecycleStep.OPERATION] = span
        span.set_attribute("component", "graphql")
        request_id = REQUEST_ID.get()
        if request_id is not None:
            span.set_attribute("reunite.request_id", str(request_id))
        try:
            yield
        finally:
            chosen = context.operation_name
            if chosen:
                span.set_attribute("graphql.operation.name", chosen)
                if not name:
                    span.update_name(f"GraphQL Query: {chosen}")
            if context.graphql_document is not None:
                # No operation could be chosen: the error says so, the span does not.
                with contextlib.suppress(Exception):
                    span.set_attribute("graphql.operation.type", context.operation_type.value)
            span.end()

    def filter_resolver_args(
        self, args: dict[str, Any], info: GraphQLResolveInfo[Any]
    ) -> dict[str, Any]:
        """No argument is recorded: inputs may hold personal data."""
        return {}
