"""Commands along a parent's path: custody, removal and return, the search, their wishes."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from domain import events, text
from domain.errors import InvalidValue
from domain.rules import CaseRules
from domain.values import (
    Country,
    CustodyKind,
    Facility,
    LocationOutcome,
    RemovalElection,
    RemovalKind,
    ReturnRoute,
    ReunificationPreference,
)


class ParentCommands(CaseRules):
    """What happens to a parent (or another adult) of the case."""

    def detain_parent(
        self,
        parent_id: UUID,
        facility: Facility,
        custody: CustodyKind,
        occurred_at: datetime,
        *,
        historical: bool = False,
    ) -> None:
        """Record that a parent was detained: ICE, US Marshals, a state or local jail."""
        breach = self.check_occurred_at(occurred_at, historical, parent_id)
        self.check_adult(parent_id)
        self.check_not_abroad(parent_id)
        self._record(
            events.ParentDetained,
            breach,
            occurred_at=occurred_at,
            parent_id=parent_id,
            facility=facility,
            custody=custody,
        )

    def transfer_parent(
        self,
        parent_id: UUID,
        facility: Facility,
        custody: CustodyKind,
        occurred_at: datetime,
        *,
        historical: bool = False,
    ) -> None:
        """Record that a detained parent was moved to another facility."""
        breach = self.check_occurred_at(occurred_at, historical, parent_id)
        self.check_adult(parent_id)
        self.check_in_custody(parent_id)
        self._record(
            events.ParentTransferred,
            breach,
            occurred_at=occurred_at,
            parent_id=parent_id,
            facility=facility,
            custody=custody,
        )

    def release_parent(
        self, parent_id: UUID, destination: str, occurred_at: datetime, *, historical: bool = False
    ) -> None:
        """Record that a parent was released, and to where."""
        breach = self.check_occurred_at(occurred_at, historical, parent_id)
        self.check_adult(parent_id)
        self.check_not_abroad(parent_id)
        destination = text.required(destination, "destination")
        self._record(
            events.ParentReleased,
            breach,
            occurred_at=occurred_at,
            parent_id=parent_id,
            destination=destination,
        )

    def order_removal(
        self, parent_id: UUID, kind: RemovalKind, occurred_at: datetime, *, historical: bool = False
    ) -> None:
        """Record that a parent was ordered removed."""
        breach = self.check_occurred_at(occurred_at, historical, parent_id)
        self.check_adult(parent_id)
        self._record(
            events.RemovalOrdered, breach, occurred_at=occurred_at, parent_id=parent_id, kind=kind
        )

    def sign_removal_election(
        self,
        parent_id: UUID,
        election: RemovalElection,
        language: str,
        counsel_present: bool,
        how_read: str,
        occurred_at: datetime,
        *,
        historical: bool = False,
    ) -> None:
        """Record the election form a parent with a removal order signed, and how."""
        breach = self.check_occurred_at(occurred_at, historical, parent_id)
        self.check_adult(parent_id)
        self.check_removal_ordered(parent_id)
        language = text.required(language, "language")
        how_read = text.required(how_read, "how_read")
        self._record(
            events.RemovalElectionSigned,
            breach,
            occurred_at=occurred_at,
            parent_id=parent_id,
            election=election,
            language=language,
            counsel_present=counsel_present,
            how_read=how_read,
        )

    def remove_parent(
        self,
        parent_id: UUID,
        country: Country,
        children_removed_with: tuple[UUID, ...],
        occurred_at: datetime,
        *,
        historical: bool = False,
    ) -> None:
        """Record that a parent was removed, with any children who left with them."""
        breach = self.check_occurred_at(occurred_at, historical, parent_id, *children_removed_with)
        self.check_adult(parent_id)
        self.check_not_abroad(parent_id)
        if len(set(children_removed_with)) != len(children_removed_with):
            raise InvalidValue("each child removed with a parent is named once")
        for child_id in children_removed_with:
            self.check_with_parent(parent_id, child_id)
        self._record(
            events.ParentRemoved,
            breach,
            occurred_at=occurred_at,
            parent_id=parent_id,
            country=country,
            children_removed_with=list(children_removed_with),
        )

    def return_parent(
        self, parent_id: UUID, how: ReturnRoute, occurred_at: datetime, *, historical: bool = False
    ) -> None:
        """Record that a removed parent came back to the United States."""
        breach = self.check_occurred_at(occurred_at, historical, parent_id)
        self.check_adult(parent_id)
        self.check_abroad(parent_id)
        self._record(
            events.ParentReturned, breach, occurred_at=occurred_at, parent_id=parent_id, how=how
        )

    def attempt_location(
        self,
        parent_id: UUID,
        method: str,
        outcome: LocationOutcome,
        by_whom: str,
        occurred_at: datetime,
        *,
        historical: bool = False,
    ) -> None:
        """Record an attempt to locate a parent, how, by whom, and what it found."""
        breach = self.check_occurred_at(occurred_at, historical, parent_id)
        self.check_adult(parent_id)
        method = text.required(method, "method")
        by_whom = text.required(by_whom, "by_whom")
        self._record(
            events.LocationAttempted,
            breach,
            occurred_at=occurred_at,
            parent_id=parent_id,
            method=method,
            outcome=outcome,
            by_whom=by_whom,
        )

    def record_preference(
        self,
        parent_id: UUID,
        preference: ReunificationPreference,
        occurred_at: datetime,
        *,
        historical: bool = False,
    ) -> None:
        """Record what a parent wants for the child: reunify abroad, waive, undecided."""
        breach = self.check_occurred_at(occurred_at, historical, parent_id)
        self.check_adult(parent_id)
        self._record(
            events.PreferenceRecorded,
            breach,
            occurred_at=occurred_at,
            parent_id=parent_id,
            preference=preference,
        )
