"""Typed errors as schema members, the one mapping from exceptions to them, and the code
every GraphQL error carries in `extensions.code` (README, "For front-end teams")."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, TypeVar, cast

import strawberry
from graphql import GraphQLError, GraphQLSyntaxError, ValueNode, VariableDefinitionNode
from graphql.validation import ASTValidationRule, ValidationContext
from strawberry.extensions import MaskErrors
from strawberry.types.execution import StreamExecutionResult

from domain.errors import DomainError, InvalidValue
from service.application.commands import DuplicateCase, FamilyNotFound
from service.eventstore import store

# extensions.code of GraphQL errors that no resolver chose (resolvers' own: PublicError).
PARSE_FAILED = "GRAPHQL_PARSE_FAILED"  # the document is not GraphQL (or has too many tokens)
VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"  # not valid against the schema
BAD_USER_INPUT = "BAD_USER_INPUT"  # a variable's value cannot be coerced to its type
QUERY_TOO_DEEP = "QUERY_TOO_DEEP"  # deeper than the caller's role may ask
TOO_MANY_ALIASES = "TOO_MANY_ALIASES"  # more aliases than the caller's role may use
INTROSPECTION_DISABLED = "INTROSPECTION_DISABLED"  # __schema / __type outside development
INTERNAL = "INTERNAL_SERVER_ERROR"  # masked: the server's fault, logged with a traceback
OPERATION_RESOLUTION_FAILURE = "OPERATION_RESOLUTION_FAILURE"  # which operation to run?


@strawberry.interface
class Error:
    """Something the caller can act on; nothing was written."""

    message: str
    code: str


@strawberry.type
class ValidationError(Error):
    """The input is malformed; fix the named field."""

    field: str | None
    code: str = "INVALID_INPUT"


@strawberry.type
class InvariantViolation(Error):
    """The case's history does not allow this command."""

    code: str


@strawberry.type
class VersionConflict(Error):
    """The family changed since the caller read it; reload and retry."""

    expected_version: int | None
    code: str = "VERSION_CONFLICT"


@strawberry.type
class NotFound(Error):
    """No such family or person."""

    id: strawberry.ID
    code: str = "NOT_FOUND"


CommandError = ValidationError | InvariantViolation | VersionConflict | NotFound


class InputInvalid(Exception):
    """Input rejected before the domain is reached."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class PublicError(GraphQLError):
    """An expected failure outside the result unions; its message is shown, not masked."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message, extensions={"code": code})


def unencodable(exc: UnicodeEncodeError) -> str:
    """Why a text was refused, naming the code point without echoing it."""
    found = exc.object[exc.start : exc.start + 1]
    where = f"U+{ord(found):04X}" if found else "a code point"
    return f"a text holds {where}, a lone surrogate, which no text may hold"


def to_error(exc: Exception, family_id: str, expected: int | None) -> CommandError:
    """Map a known failure to its schema member; anything else propagates (and is masked)."""
    if isinstance(exc, InputInvalid):
        return ValidationError(message=str(exc), field=exc.field)
    if isinstance(exc, InvalidValue):  # INVALID_VALUE, INVALID_TEXT, IN_THE_FUTURE...
        return ValidationError(message=str(exc), field=exc.field, code=exc.code)
    if isinstance(exc, UnicodeEncodeError):
        # A lone surrogate met UTF-8 before its field was checked (the command digest).
        return ValidationError(message=unencodable(exc), field=None, code="INVALID_TEXT")
    if isinstance(exc, DomainError):
        return InvariantViolation(message=str(exc), code=exc.code)
    if isinstance(exc, DuplicateCase):
        return InvariantViolation(message=str(exc), code="DUPLICATE_CASE")
    if isinstance(exc, store.VersionConflict):
        return VersionConflict(message=str(exc), expected_version=expected)
    if isinstance(exc, store.IdempotencyKeyReused):
        return ValidationError(
            message=str(exc), field="idempotencyKey", code="IDEMPOTENCY_KEY_REUSED"
        )
    if isinstance(exc, FamilyNotFound):
        return NotFound(message=str(exc), id=strawberry.ID(family_id))
    raise exc


def with_code(error: GraphQLError, code: str, message: str | None = None) -> GraphQLError:
    """A copy of the error carrying `code` (errors may be shared by the validation cache)."""
    return GraphQLError(
        error.message if message is None else message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=error.original_error,
        extensions={**(error.extensions or {}), "code": code},
    )


def code_of(error: GraphQLError, parsed: bool) -> str:
    """The code of an error no resolver coded, by where it was raised."""
    code = (error.extensions or {}).get("code")
    if isinstance(code, str):
        return code
    if error.path is not None:  # a field's error that is not the caller's: a bug
        return INTERNAL
    if not parsed or isinstance(error, GraphQLSyntaxError):
        return PARSE_FAILED
    if error.nodes and isinstance(error.nodes[0], VariableDefinitionNode):
        return BAD_USER_INPUT
    return VALIDATION_FAILED


class _CodingContext:
    """A validation context whose reported errors carry one code."""

    def __init__(self, context: ValidationContext, code: str) -> None:
        self._context = context
        self._code = code

    def report_error(self, error: GraphQLError) -> None:
        self._context.report_error(with_code(error, self._code))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._context, name)


R = TypeVar("R", bound=ASTValidationRule)


def coded_rule(rule: type[R], code: str) -> type[R]:
    """The validation rule, its errors coded: a client tells a depth limit from a typo."""

    class Coded(rule):  # type: ignore[valid-type,misc]
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(cast(ValidationContext, _CodingContext(context, code)))

    Coded.__name__ = Coded.__qualname__ = f"Coded{rule.__name__}"
    return Coded


class CodedErrors(MaskErrors):
    """MaskErrors that leaves every error with a code, masked ones included.

    A masked error keeps only what the caller wrote: a variable's or a literal's refusal
    keeps graphql-core's own words (the name and value sent), never the scalar's reason."""

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        masked = super().anonymise_error(error)
        if error.path is None and error.nodes:
            node = error.nodes[0]
            said = error.message.split("; ", 1)[0]
            if isinstance(node, VariableDefinitionNode):
                return with_code(masked, BAD_USER_INPUT, f"{said}.")
            if isinstance(node, ValueNode):
                return with_code(masked, VALIDATION_FAILED, f"{said}.")
        return with_code(masked, INTERNAL)

    def on_operation(self) -> Iterator[None]:
        yield from super().on_operation()
        self._code(self.execution_context.result)

    def on_stream_result(self, result: StreamExecutionResult) -> Iterator[None]:
        self._process_stream_result(result)
        self._code(result)
        self._stream_result_processed = True
        yield

    def _code(self, result: object) -> None:
        errors: list[GraphQLError] | None = getattr(result, "errors", None)
        if not errors:
            return
        parsed = self.execution_context.graphql_document is not None
        result.errors = [  # type: ignore[attr-defined]
            e if (e.extensions or {}).get("code") else with_code(e, code_of(e, parsed))
            for e in errors
        ]
