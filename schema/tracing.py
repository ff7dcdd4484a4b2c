"""strawberry's OpenTelemetry spans, without what could name a person.

The operation span (kind SERVER) and one span a resolver that is not a plain attribute, as
strawberry's OpenTelemetryExtension makes them, but without the query text or the
resolvers' arguments (a query's literals and a mutation's input may hold names), and with
the request's id (X-Request-Id, the events' correlation id) and the operation's name and
type. Added to the schema only when tracing is on (create_schema(tracing=True)).
"""

from __future__ import annotations

import contextlib
from collections.abc import Generator, Iterator
from contextvars import ContextVar
from typing import Any

from graphql import GraphQLResolveInfo
from opentelemetry.trace import Span, SpanKind, Tracer, set_span_in_context
from strawberry.extensions import LifecycleStep
from strawberry.extensions.tracing.opentelemetry import OpenTelemetryExtension

from service.eventstore.provenance import REQUEST_ID

# The operation's tracer and span while it runs: a root field a compiled plan answers
# (schema/read_plans.py) has its span under it, as its resolver's would be.
OPERATION: ContextVar[tuple[Tracer, Span] | None] = ContextVar("graphql_operation", default=None)


@contextlib.contextmanager
def root_span(field: str) -> Iterator[None]:
    """A span for a root field answered without its resolver, named as the resolver's
    span is and marked `reunite.plan`; nothing when tracing is off."""
    found = OPERATION.get()
    if found is None:
        yield
        return
    tracer, operation = found
    with tracer.start_as_current_span(
        f"GraphQL Resolving: {field}", context=set_span_in_context(operation)
    ) as span:
        span.set_attribute("component", "graphql")
        span.set_attribute("reunite.plan", True)
        yield


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
        token = OPERATION.set((self._tracer, span))
        try:
            yield
        finally:
            with contextlib.suppress(ValueError):  # ended in another context: it has it not
                OPERATION.reset(token)
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
