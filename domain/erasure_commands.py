"""The command that erases a person's personal data: who ordered it, on what authority."""

from __future__ import annotations

from datetime import UTC, date, datetime
from uuid import UUID

from domain import events, text
from domain.errors import InvariantViolated
from domain.rules import CaseRules, check_when

AUTHORITY = text.NOTE  # an order may run to a few lines; 500 characters at most
ORDERED_BY = text.TextKind("ordered_by", 200)


class AlreadyErased(InvariantViolated):
    """The person's personal data was already erased; nothing more can be erased."""

    code = "ALREADY_ERASED"


def checked_order(authority: str, ordered_by: str) -> tuple[str, str]:
    """The authority and who ordered it as recorded (trimmed, NFC), or InvalidText."""
    authority = text.required(authority, "authority", AUTHORITY)
    return authority, text.required(ordered_by, "ordered_by", ORDERED_BY)


class ErasureCommands(CaseRules):
    """Erasure: allowed on a closed case too (a family may be owed it once its case closes)."""

    erased: set[UUID]

    def erase_personal_data(
        self, person_id: UUID, authority: str, ordered_by: str, occurred_at: datetime
    ) -> None:
        """Record that a member's personal data is erased, by whose order and authority."""
        check_when(occurred_at)
        self.check_member(person_id)
        authority, ordered_by = checked_order(authority, ordered_by)
        if person_id in self.erased:
            raise AlreadyErased(f"the personal data of person {person_id} is already erased")
        self._record(
            events.PersonalDataErased,
            None,
            occurred_at=occurred_at,
            person_id=person_id,
            authority=authority,
            ordered_by=ordered_by,
            age=self._age_on_record(person_id),
        )

    def _age_on_record(self, person_id: UUID) -> int | None:
        """The age a birth date gave the person on the day they were separated, else
        recorded (as the court's counts take it); None when an age was recorded instead."""
        member = self.members[person_id]
        born = member.birth_date
        if member.age is not None or not isinstance(born, date):
            return None
        added = separated = None
        for e in self.history:
            if isinstance(e, events.Separated) and e.child_id == person_id:
                separated = separated or e.occurred_at
            elif isinstance(e, events.MemberAdded) and e.person_id == person_id:
                added = e.occurred_at
        moment = separated or added
        if moment is None:
            return None
        on = moment.astimezone(UTC).date()
        return on.year - born.year - ((on.month, on.day) < (born.month, born.day))
