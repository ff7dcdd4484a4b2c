"""Typed errors as schema members, and the one mapping from exceptions to them."""

from __future__ import annotations

import strawberry
from graphql import GraphQLError

from domain.errors import DomainError, InvalidValue
from service.application.commands import DuplicateCase, FamilyNotFound
from service.eventstore import store


@strawberry.interface
class Error:
    """Something the caller can act on; nothing was written."""

    message: str


@strawberry.type
class ValidationError(Error):
    """The input is malformed; fix the named field."""

    field: str | None


@strawberry.type
class InvariantViolation(Error):
    """The case's history does not allow this command."""

    code: str


@strawberry.type
class VersionConflict(Error):
    """The family changed since the caller read it; reload and retry."""

    expected_version: int | None


@strawberry.type
class NotFound(Error):
    """No such family or person."""

    id: strawberry.ID


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
    if isinstance(exc, InvalidValue):
        return ValidationError(message=str(exc), field=exc.field)
    if isinstance(exc, UnicodeEncodeError):
        # A lone surrogate met UTF-8 before its field was checked (the command digest).
        return ValidationError(message=unencodable(exc), field=None)
    if isinstance(exc, DomainError):
        return InvariantViolation(message=str(exc), code=exc.code)
    if isinstance(exc, DuplicateCase):
        return InvariantViolation(message=str(exc), code="DUPLICATE_CASE")
    if isinstance(exc, store.VersionConflict):
        return VersionConflict(message=str(exc), expected_version=expected)
    if isinstance(exc, store.IdempotencyKeyReused):
        return ValidationError(message=str(exc), field="idempotencyKey")
    if isinstance(exc, FamilyNotFound):
        return NotFound(message=str(exc), id=strawberry.ID(family_id))
    raise exc
