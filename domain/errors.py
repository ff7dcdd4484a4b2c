"""Typed errors the Family aggregate raises before any event is triggered."""

from __future__ import annotations


class DomainError(Exception):
    """A command the case cannot accept; nothing was recorded."""

    code = "DOMAIN_ERROR"


class InvalidValue(DomainError):
    """A value is malformed (an A-number, a country code, an empty name)."""

    code = "INVALID_VALUE"

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field  # the field at fault, when one is named


class InvalidText(InvalidValue):
    """A text an event cannot hold: a control character, a lone surrogate, blank or too long."""

    code = "INVALID_TEXT"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message, field)


class TimeWithoutZone(InvalidValue):
    """A moment was given without a time zone, so it cannot be placed in order."""

    code = "TIME_WITHOUT_ZONE"


class InTheFuture(InvalidValue):
    """A moment is later than now (beyond a small clock skew)."""

    code = "IN_THE_FUTURE"


class InvariantViolated(DomainError):
    """The command contradicts what the case already records."""

    code = "INVARIANT_VIOLATED"


class UnknownMember(InvariantViolated):
    """The command names a person who is not a member of the case."""

    code = "UNKNOWN_MEMBER"


class WrongRole(InvariantViolated):
    """The command names a member in a role it does not apply to (a child detained)."""

    code = "WRONG_ROLE"


class AlreadyRecorded(InvariantViolated):
    """What the command records is already recorded (a member, a link, a decision)."""

    code = "ALREADY_RECORDED"


class NotLinked(InvariantViolated):
    """The parent and child named are not linked by a recorded relationship."""

    code = "NOT_LINKED"


class CaseAlreadyClosed(InvariantViolated):
    """Nothing is recorded on a case after it is closed, not even a correction."""

    code = "CASE_CLOSED"


class BeforeApprehension(InvariantViolated):
    """The event would predate the apprehension of a member it names."""

    code = "BEFORE_APPREHENSION"


class ChildPathEnded(InvariantViolated):
    """The child was reunified or discharged; only a correction may follow."""

    code = "CHILD_PATH_ENDED"


class NotInCare(InvariantViolated):
    """The child is not in ORR care, so cannot be transferred between providers."""

    code = "NOT_IN_CARE"


class NotWithParent(InvariantViolated):
    """The child is in government care, so cannot leave the country with a parent."""

    code = "NOT_WITH_PARENT"


class NotInCustody(InvariantViolated):
    """The parent is not detained, so cannot be transferred between facilities."""

    code = "NOT_IN_CUSTODY"


class AlreadyRemoved(InvariantViolated):
    """The parent was removed and has not been recorded as returned."""

    code = "ALREADY_REMOVED"


class NotRemoved(InvariantViolated):
    """The parent was never removed (or already returned), so cannot return."""

    code = "NOT_REMOVED"


class RemovalNotOrdered(InvariantViolated):
    """A removal election belongs to a parent with a removal order."""

    code = "REMOVAL_NOT_ORDERED"


class NoNegativeFearDecision(InvariantViolated):
    """A re-interview needs a negative credible-fear decision, original or prior."""

    code = "NO_NEGATIVE_FEAR_DECISION"


class NotRepresented(InvariantViolated):
    """The counsel named is not counsel of record for the member named."""

    code = "NOT_REPRESENTED"


class UnknownEntry(InvariantViolated):
    """No event of the case's stream is at the version named."""

    code = "UNKNOWN_ENTRY"


class InvalidAmendment(InvariantViolated):
    """A correction or retraction the history cannot take."""

    code = "INVALID_AMENDMENT"
