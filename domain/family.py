"""The Family aggregate: one stream per family case, in the caseworker's words."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain import events, text
from domain.asylum_commands import AsylumCommands
from domain.case_commands import CaseCommands
from domain.child_commands import ChildCommands
from domain.corrections import Amendments
from domain.erasure_commands import AlreadyErased, ErasureCommands
from domain.parent_commands import ParentCommands
from domain.paths import (
    AsylumPath,
    CaseStatus,
    ChildPath,
    ChildStatus,
    DataQualityFlag,
    Eligibility,
    Member,
    ParentPath,
    Representation,
)
from domain.personal import personal_fields
from domain.representation_commands import RepresentationCommands
from domain.rules import BEFORE_APPREHENSION, check_when
from domain.values import (
    ANumber,
    Country,
    CredibleFearOutcome,
    CustodyKind,
    DischargeReason,
    EligibilityOutcome,
    Facility,
    FieldChange,
    LocationOutcome,
    MemberRole,
    Office,
    PersonName,
    RemovalElection,
    RemovalKind,
    RepresentationBasis,
    ReturnRoute,
    ReunificationPreference,
    SettlementElection,
    Sex,
)

__all__ = ["CONFIDENTIAL_EVENTS", "CaseStatus", "ChildPath", "ChildStatus", "Family", "Member"]


class Family(
    CaseCommands,
    ChildCommands,
    ParentCommands,
    AsylumCommands,
    RepresentationCommands,
    ErasureCommands,
    Aggregate,
):
    """A family case: its members, their links, and each member's path."""

    class Event(events.Happened):
        """Base of every family event; the case remembers each one it applies."""

        def mutate(self, aggregate: Any) -> Any:  # Any: the library's signature is generic
            family = super().mutate(aggregate)
            assert isinstance(family, Family)
            family.history.append(self)
            return family

    # The events, nested so that their stored topics read domain.family:Family.<Name>.
    CaseOpened = events.CaseOpened
    MemberAdded = events.MemberAdded
    RelationshipRecorded = events.RelationshipRecorded
    Apprehended = events.Apprehended
    Separated = events.Separated
    ChildReferred = events.ChildReferred
    ChildPlaced = events.ChildPlaced
    ChildTransferred = events.ChildTransferred
    ParentDetained = events.ParentDetained
    ParentTransferred = events.ParentTransferred
    ParentReleased = events.ParentReleased
    ContactEstablished = events.ContactEstablished
    CredibleFearDecided = events.CredibleFearDecided
    RemovalOrdered = events.RemovalOrdered
    RemovalElectionSigned = events.RemovalElectionSigned
    ParentRemoved = events.ParentRemoved
    LocationAttempted = events.LocationAttempted
    PreferenceRecorded = events.PreferenceRecorded
    EligibilityDetermined = events.EligibilityDetermined
    SettlementElected = events.SettlementElected
    Reinterviewed = events.Reinterviewed
    AsylumCaseReopened = events.AsylumCaseReopened
    ParentReturned = events.ParentReturned
    Reunified = events.Reunified
    ChildDischarged = events.ChildDischarged
    EntryCorrected = events.EntryCorrected
    EntryRetracted = events.EntryRetracted
    RepresentationRecorded = events.RepresentationRecorded
    RepresentationEnded = events.RepresentationEnded
    CaseClosed = events.CaseClosed
    DataQualityFlagged = events.DataQualityFlagged
    PersonalDataErased = events.PersonalDataErased

    @classmethod
    def open(cls, id: UUID, occurred_at: datetime, case_number: str, source: str) -> Family:
        """Open a case, checking what the constructor (also run on replay) cannot."""
        check_when(occurred_at)
        case_number = text.required(case_number, "case_number")
        source = text.required(source, "source")
        return cls(id=id, occurred_at=occurred_at, case_number=case_number, source=source)

    @classmethod
    def confidential_event_types(cls) -> frozenset[str]:
        """Names of the events whose contents are confidential (8 CFR 208.6)."""
        return frozenset(
            name
            for name, value in vars(cls).items()
            if isinstance(value, type) and issubclass(value, events.Happened) and value.confidential
        )

    @event(CaseOpened)
    def __init__(self, id: UUID, occurred_at: datetime, case_number: str, source: str) -> None:
        self.history: list[events.Happened] = []
        self.amendments = Amendments()
        self._reset(occurred_at, case_number, source)

    def _reset(self, opened_at: datetime, case_number: str, source: str) -> None:
        """The state of a case just opened; everything else is folded from its events."""
        self.case_number, self.source, self.opened_at = case_number, source, opened_at
        self.closed = False
        self.members: dict[UUID, Member] = {}
        self.links: set[tuple[UUID, UUID]] = set()
        self.children: dict[UUID, ChildPath] = {}
        self.parents: dict[UUID, ParentPath] = {}
        self.asylum: dict[UUID, AsylumPath] = {}
        self.apprehended_at: dict[UUID, datetime] = {}
        self.representations: dict[tuple[str, UUID], Representation] = {}
        self.flags: list[DataQualityFlag] = []
        self.erased: set[UUID] = set()

    def _rederive(self) -> None:
        """Fold the effective history again: an amendment changes what the past says."""
        opening, *rest = self.amendments.apply(self.history)
        assert isinstance(opening, events.CaseOpened)
        self._reset(opening.occurred_at, opening.case_number, opening.source)
        for effective in rest:
            effective.apply(self)

    def _record(
        self, event_class: type[events.Happened], breach: str | None, **fields: Any
    ) -> None:
        # An erased person's key is destroyed: none of their personal data can be recorded.
        for name, subject in personal_fields(event_class).items():
            if fields.get(name) is not None and fields.get(subject) in self.erased:
                raise AlreadyErased(
                    f"the personal data of person {fields[subject]} is erased: "
                    f"{event_class.__name__}.{name} cannot be recorded"
                )
        # The command modules name the event's payload class; trigger the nested one.
        self.trigger_event(getattr(type(self), event_class.__name__), **fields)
        if breach is not None:
            self.trigger_event(
                type(self).DataQualityFlagged,
                occurred_at=fields["occurred_at"],
                rule=BEFORE_APPREHENSION,
                about_version=self.version,
                detail=breach,
            )

    # Event appliers: run on trigger and on replay, so they never check.

    @event(MemberAdded)
    def _member_added(
        self,
        person_id: UUID,
        role: MemberRole,
        name: PersonName | None,
        sex: Sex,
        birth_date: date | None,
        age: int | None,
        country: Country | None,
        a_number: ANumber | None,
    ) -> None:
        self.members[person_id] = Member(
            person_id, role, name, sex, birth_date, age, country, a_number
        )
        self.asylum[person_id] = AsylumPath()
        if role is MemberRole.CHILD:
            self.children[person_id] = ChildPath()
        else:
            self.parents[person_id] = ParentPath()

    @event(RelationshipRecorded)
    def _relationship_recorded(self, parent_id: UUID, child_id: UUID) -> None:
        self.links.add((parent_id, child_id))

    @event(Apprehended)
    def _apprehended(self, occurred_at: datetime, person_ids: list[UUID]) -> None:
        for person_id in person_ids:  # the first apprehension is the one events follow
            self.apprehended_at[person_id] = min(
                occurred_at, self.apprehended_at.get(person_id, occurred_at)
            )

    @event(Separated)
    def _separated(self, parent_id: UUID, child_id: UUID) -> None:
        self.children[child_id].separate_from(parent_id)

    @event(ChildReferred)
    def _child_referred(
        self, child_id: UUID, office: Office, hours_in_cbp_custody: int | None
    ) -> None:
        self.children[child_id].refer(office, hours_in_cbp_custody)

    @event(ChildPlaced)
    def _child_placed(self, child_id: UUID, facility: Facility) -> None:
        self.children[child_id].place(facility)

    @event(ChildTransferred)
    def _child_transferred(self, child_id: UUID, facility: Facility) -> None:
        self.children[child_id].place(facility)

    @event(ParentDetained)
    def _parent_detained(self, parent_id: UUID, facility: Facility, custody: CustodyKind) -> None:
        self.parents[parent_id].detain(facility, custody)

    @event(ParentTransferred)
    def _parent_transferred(
        self, parent_id: UUID, facility: Facility, custody: CustodyKind
    ) -> None:
        self.parents[parent_id].detain(facility, custody)

    @event(ParentReleased)
    def _parent_released(self, parent_id: UUID, destination: str) -> None:
        self.parents[parent_id].release(destination)

    @event(ContactEstablished)
    def _contact_established(self, parent_id: UUID, child_id: UUID) -> None:
        self.parents[parent_id].contacted.add(child_id)

    @event(CredibleFearDecided)
    def _credible_fear_decided(
        self, person_id: UUID, outcome: CredibleFearOutcome, while_separated: bool
    ) -> None:
        path = self.asylum[person_id]
        path.credible_fear, path.fear_while_separated = outcome, while_separated

    @event(RemovalOrdered)
    def _removal_ordered(self, parent_id: UUID, kind: RemovalKind) -> None:
        self.parents[parent_id].removal_order = kind

    @event(RemovalElectionSigned)
    def _removal_election_signed(self, parent_id: UUID, election: RemovalElection) -> None:
        self.parents[parent_id].removal_election = election

    @event(ParentRemoved)
    def _parent_removed(
        self, parent_id: UUID, country: Country, children_removed_with: list[UUID]
    ) -> None:
        self.parents[parent_id].remove(country)
        for child_id in children_removed_with:
            self.children[child_id].removed_to = country

    @event(LocationAttempted)
    def _location_attempted(self, parent_id: UUID, outcome: LocationOutcome) -> None:
        self.parents[parent_id].attempt_location(outcome)

    @event(PreferenceRecorded)
    def _preference_recorded(self, parent_id: UUID, preference: ReunificationPreference) -> None:
        self.parents[parent_id].preference = preference

    @event(EligibilityDetermined)
    def _eligibility_determined(
        self, parent_id: UUID, child_id: UUID, outcome: EligibilityOutcome, red_flag: str | None
    ) -> None:
        self.parents[parent_id].eligibility[child_id] = Eligibility(outcome, red_flag)

    @event(SettlementElected)
    def _settlement_elected(self, person_id: UUID, election: SettlementElection) -> None:
        self.asylum[person_id].settlement = election

    @event(Reinterviewed)
    def _reinterviewed(self, person_id: UUID, outcome: CredibleFearOutcome) -> None:
        self.asylum[person_id].reinterview = outcome

    @event(AsylumCaseReopened)
    def _asylum_case_reopened(self, person_id: UUID, proceeding: str) -> None:
        self.asylum[person_id].reopened_in = proceeding

    @event(ParentReturned)
    def _parent_returned(self, parent_id: UUID, how: ReturnRoute) -> None:
        self.parents[parent_id].returned = how

    @event(Reunified)
    def _reunified(self, child_id: UUID, parent_id: UUID) -> None:
        self.children[child_id].reunify(parent_id)

    @event(ChildDischarged)
    def _child_discharged(self, child_id: UUID, reason: DischargeReason) -> None:
        self.children[child_id].discharge(reason)

    @event(EntryCorrected)
    def _entry_corrected(self, version: int, changes: list[FieldChange]) -> None:
        self.amendments.correct(version, self.version + 1, changes)
        self._rederive()

    @event(EntryRetracted)
    def _entry_retracted(self, version: int) -> None:
        self.amendments.retract(version, self.version + 1)
        self._rederive()

    @event(RepresentationRecorded)
    def _representation_recorded(
        self,
        occurred_at: datetime,
        counsel: str,
        person_id: UUID,
        basis: RepresentationBasis,
        consent_to_disclosure: bool,
    ) -> None:
        self.representations[(counsel, person_id)] = Representation(
            counsel, person_id, basis, consent_to_disclosure, occurred_at
        )

    @event(RepresentationEnded)
    def _representation_ended(self, counsel: str, person_id: UUID) -> None:
        self.representations.pop((counsel, person_id), None)

    @event(CaseClosed)
    def _case_closed(self) -> None:
        self.closed = True

    @event(DataQualityFlagged)
    def _data_quality_flagged(self, rule: str, about_version: int, detail: str) -> None:
        self.flags.append(DataQualityFlag(rule, about_version, detail))

    @event(PersonalDataErased)
    def _personal_data_erased(self, person_id: UUID) -> None:
        self.erased.add(person_id)


CONFIDENTIAL_EVENTS = Family.confidential_event_types()
