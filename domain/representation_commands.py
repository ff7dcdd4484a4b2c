"""Commands on counsel of record: a lawyer's representation of a member begins and ends."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from domain import events, text
from domain.rules import CaseRules
from domain.values import RepresentationBasis


class RepresentationCommands(CaseRules):
    """Who represents whom: what a counsel token may read follows from these entries."""

    def record_representation(
        self,
        counsel: str,
        person_id: UUID,
        basis: RepresentationBasis,
        reference: str | None,
        consent_to_disclosure: bool,
        occurred_at: datetime,
        *,
        historical: bool = False,
    ) -> None:
        """Record a lawyer (by their token's subject) as counsel of record for a member."""
        self.check_occurred_at(occurred_at, historical)
        self.check_member(person_id)
        counsel = text.required(counsel, "counsel")
        reference = text.optional(reference, "reference")
        self.check_not_represented(counsel, person_id)
        self._record(
            events.RepresentationRecorded,
            None,
            occurred_at=occurred_at,
            counsel=counsel,
            person_id=person_id,
            basis=basis,
            reference=reference,
            consent_to_disclosure=consent_to_disclosure,
        )

    def end_representation(
        self,
        counsel: str,
        person_id: UUID,
        reason: str,
        occurred_at: datetime,
        *,
        historical: bool = False,
    ) -> None:
        """Record that a lawyer is no longer counsel of record for a member."""
        self.check_occurred_at(occurred_at, historical)
        self.check_member(person_id)
        counsel = text.required(counsel, "counsel")
        reason = text.required(reason, "reason")
        self.check_represented(counsel, person_id, occurred_at)
        self._record(
            events.RepresentationEnded,
            None,
            occurred_at=occurred_at,
            counsel=counsel,
            person_id=person_id,
            reason=reason,
        )
