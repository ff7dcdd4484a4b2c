"""Typed errors the Family aggregate raises before any event is triggered."""

from __future__ import annotations


class DomainError(Exception):
    """A command the case cannot accept; nothing was recorded."""

    code = "DOMAIN_ERROR"


class InvalidValue(DomainError):
    """A value is malformed (an A-number, a country code, an empty name)."""

    code = "INVALID_VALUE"


class InvariantViolated(DomainError):
    """The command contradicts what the case already records."""

    code = "INVARIANT_VIOLATED"


class UnknownMember(InvariantViolated):
    """The command names a person who is not a member of the case."""

    code = "UNKNOWN_MEMBER"


class NotLinked(InvariantViolated):
    """The parent and child named are not linked by a recorded relationship."""

    code = "NOT_LINKED"


class CaseClosed(InvariantViolated):
    """Nothing is recorded on a case after it is closed."""

    code = "CASE_CLOSED"
