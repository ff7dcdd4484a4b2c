"""Production answers name no field, argument, type or value the caller did not write."""

from __future__ import annotations

import re
from collections.abc import Iterator

from graphql import ExecutionResult, GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.types.execution import ExecutionResult as StrawberryResult

# graphql-core ends a message with its guesses: " Did you mean 'credibleFear'?" (the
# names are quoted, never hold a '?'). Strawberry cannot ask it to leave them out.
SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")


def without_suggestion(error: GraphQLError) -> GraphQLError:
    """The error as it was, minus any guess at a name the schema hides."""
    message = SUGGESTION.sub("", error.message)
    if message == error.message:
        return error
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=error.original_error,
        extensions=error.extensions,
    )


class HideSuggestions(SchemaExtension):
    """Strips "Did you mean …?" from every error: with introspection off, it is the schema."""

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        # A new list: validation errors are shared through the validation cache.
        if isinstance(result, ExecutionResult | StrawberryResult) and result.errors:
            result.errors = [without_suggestion(e) for e in result.errors]
