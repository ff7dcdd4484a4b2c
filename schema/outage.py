"""Outages as errors a client can act on, and refusals logged as one line, not a traceback."""

from __future__ import annotations

import logging
from collections.abc import Iterator

from graphql import GraphQLError
from strawberry import Schema
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionContext
from strawberry.types.execution import StreamExecutionResult
from strawberry.types.graphql import OperationType

from schema.errors import PublicError
from service.postgres.database import unavailable

log = logging.getLogger("reunite.graphql")

DATABASE_UNAVAILABLE = "DATABASE_UNAVAILABLE"
READ_RETRY = "the database is unavailable or did not answer in time; retry shortly"
WRITE_RETRY = (
    "the database is unavailable or did not answer in time, so this command may or may not"
    " have been recorded; retry it with the same idempotency key, which records it once"
)


class DatabaseUnavailable(PublicError):
    """The database cannot be reached now; the same request can be retried."""

    def __init__(self, message: str = READ_RETRY) -> None:
        super().__init__(message, DATABASE_UNAVAILABLE)
        self.extensions = {"code": DATABASE_UNAVAILABLE, "retryable": True}


def outage_error(error: GraphQLError, mutation: bool) -> GraphQLError | None:
    """The retryable error to answer instead of `error`, when an outage caused it."""
    original = error.original_error
    if original is None or isinstance(original, GraphQLError) or not unavailable(original):
        return None
    return GraphQLError(
        WRITE_RETRY if mutation else READ_RETRY,
        nodes=error.nodes,
        path=error.path,
        extensions={"code": DATABASE_UNAVAILABLE, "retryable": True},
    )


class OutageErrors(SchemaExtension):
    """Answers DATABASE_UNAVAILABLE (retryable) for an outage, where it would be masked.

    Listed just before MaskErrors: it rewrites the errors as execution ends (and before each
    streamed result), so MaskErrors then finds nothing of the outage to mask."""

    def on_execute(self) -> Iterator[None]:
        yield
        self._rewrite(self.execution_context.result)

    def on_stream_result(self, result: StreamExecutionResult) -> Iterator[None]:
        self._rewrite(result)
        yield

    def _rewrite(self, result: object) -> None:
        errors: list[GraphQLError] | None = getattr(result, "errors", None)
        if not errors:
            return
        mutation = _is_mutation(self.execution_context)
        result.errors = [outage_error(e, mutation) or e for e in errors]  # type: ignore[attr-defined]


def _is_mutation(execution: ExecutionContext) -> bool:
    try:
        return execution.operation_type is OperationType.MUTATION
    except RuntimeError:  # no operation to run: nothing was written
        return False


class OperatorSchema(Schema):
    """Logs what an operator needs: refusals and outages in one line, bugs with a traceback."""

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        unexpected = []
        for error in errors:
            code = (error.extensions or {}).get("code")
            original = error.original_error
            if original is not None and not isinstance(original, GraphQLError):
                if unavailable(original):
                    log.warning("database unavailable: %s: %r", error.path, original)
                else:
                    unexpected.append(error)
            elif code == DATABASE_UNAVAILABLE:
                log.warning("database unavailable: %s: %s", error.path, error.message)
            else:  # the caller's to fix: a refusal, a parse or validation error
                log.info("refused (%s): %s", code or "INVALID", error.message)
        super().process_errors(unexpected, execution_context)
