"""Commands along a child's path: separated, referred, in care, reunified or discharged."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from domain import events, text
from domain.errors import InvalidValue
from domain.rules import CaseRules
from domain.values import (
    ContactChannel,
    DischargeReason,
    EligibilityOutcome,
    Facility,
    Office,
    Place,
    ProgramType,
    SeparationReason,
)


class ChildCommands(CaseRules):
    """What happens to a child, and between a child and a linked parent."""

    def separate(
        self,
        parent_id: UUID,
        child_id: UUID,
        place: Place,
        reason: SeparationReason,
        note: str | None,
        parent_notified: bool,
        occurred_at: datetime,
        *,
        reason_text: str | None = None,
        historical: bool = False,
    ) -> None:
        """Record that a child was taken from a linked parent."""
        breach = self.check_occurred_at(occurred_at, historical, parent_id, child_id)
        self.check_linked(parent_id, child_id)
        self.check_child_not_done(child_id)
        note, reason_text = text.optional(note, "note"), text.optional(reason_text, "reason_text")
        self._record(
            events.Separated,
            breach,
            occurred_at=occurred_at,
            parent_id=parent_id,
            child_id=child_id,
            place=place,
            reason=reason,
            note=note,
            parent_notified=parent_notified,
            reason_text=reason_text,
        )

    def refer_child(
        self,
        child_id: UUID,
        office: Office,
        hours_in_cbp_custody: int | None,
        occurred_at: datetime,
        *,
        historical: bool = False,
    ) -> None:
        """Record that a child was referred to ORR, and after how long in CBP custody."""
        breach = self.check_occurred_at(occurred_at, historical, child_id)
        self.check_child(child_id)
        if hours_in_cbp_custody is not None and hours_in_cbp_custody < 0:
            raise InvalidValue("hours in CBP custody cannot be negative")
        self._record(
            events.ChildReferred,
            breach,
            occurred_at=occurred_at,
            child_id=child_id,
            office=office,
            hours_in_cbp_custody=hours_in_cbp_custody,
        )

    def place_child(
        self,
        child_id: UUID,
        facility: Facility,
        program_type: ProgramType,
        occurred_at: datetime,
        *,
        historical: bool = False,
    ) -> None:
        """Record that a child was placed with a care provider."""
        breach = self.check_occurred_at(occurred_at, historical, child_id)
        self.check_child(child_id)
        self._record(
            events.ChildPlaced,
            breach,
            occurred_at=occurred_at,
            child_id=child_id,
            facility=facility,
            program_type=program_type,
        )

    def transfer_child(
        self,
        child_id: UUID,
        facility: Facility,
        program_type: ProgramType,
        occurred_at: datetime,
        *,
        historical: bool = False,
    ) -> None:
        """Record that a child in care was moved to another care provider."""
        breach = self.check_occurred_at(occurred_at, historical, child_id)
        self.check_child(child_id)
        self.check_in_care(child_id)
        self._record(
            events.ChildTransferred,
            breach,
            occurred_at=occurred_at,
            child_id=child_id,
            facility=facility,
            program_type=program_type,
        )

    def establish_contact(
        self,
        parent_id: UUID,
        child_id: UUID,
        channel: ContactChannel,
        occurred_at: datetime,
        *,
        historical: bool = False,
    ) -> None:
        """Record that a linked parent and child were put in touch."""
        breach = self.check_occurred_at(occurred_at, historical, parent_id, child_id)
        self.check_linked(parent_id, child_id)
        self.check_child_not_done(child_id)
        self._record(
            events.ContactEstablished,
            breach,
            occurred_at=occurred_at,
            parent_id=parent_id,
            child_id=child_id,
            channel=channel,
        )

    def determine_eligibility(
        self,
        parent_id: UUID,
        child_id: UUID,
        outcome: EligibilityOutcome,
        red_flag: str | None,
        occurred_at: datetime,
        *,
        historical: bool = False,
    ) -> None:
        """Record whether a linked parent may be reunified with the child, and any red flag."""
        breach = self.check_occurred_at(occurred_at, historical, parent_id, child_id)
        self.check_linked(parent_id, child_id)
        self.check_child_not_done(child_id)
        red_flag = text.optional(red_flag, "red_flag")
        self._record(
            events.EligibilityDetermined,
            breach,
            occurred_at=occurred_at,
            parent_id=parent_id,
            child_id=child_id,
            outcome=outcome,
            red_flag=red_flag,
        )

    def reunify(
        self,
        child_id: UUID,
        parent_id: UUID,
        place: Place | None,
        occurred_at: datetime | None,
        *,
        historical: bool = False,
    ) -> None:
        """Record that a child was reunified with a linked parent; undated only if historical."""
        breach = self.check_maybe_undated(occurred_at, historical, parent_id, child_id)
        self.check_linked(parent_id, child_id)
        self.check_child_not_done(child_id)
        self._record(
            events.Reunified,
            breach,
            occurred_at=occurred_at,
            child_id=child_id,
            parent_id=parent_id,
            place=place,
        )

    def discharge_child(
        self,
        child_id: UUID,
        reason: DischargeReason,
        note: str | None,
        occurred_at: datetime | None,
        *,
        historical: bool = False,
    ) -> None:
        """Record that a child left care other than by reunification (a sponsor, aging out).

        The moment may be None (unknown) only for historical entries, as for reunify.
        """
        breach = self.check_maybe_undated(occurred_at, historical, child_id)
        self.check_child(child_id)
        note = text.optional(note, "note")
        self._record(
            events.ChildDischarged,
            breach,
            occurred_at=occurred_at,
            child_id=child_id,
            reason=reason,
            note=note,
        )
