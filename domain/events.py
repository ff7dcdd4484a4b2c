"""Every event of a family's history: one frozen record per step, in the caseworker's words.

The Family aggregate nests each of these (``Family.Separated`` subclasses ``Separated``),
so stored topics read ``domain.family:Family.<Name>``. Lists, not tuples, hold several
values: JSON arrays read back as lists, and an event must read back equal to itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.values import (
    Agency,
    ANumber,
    ContactChannel,
    Country,
    CredibleFearOutcome,
    CustodyKind,
    DischargeReason,
    EligibilityOutcome,
    Evidence,
    Facility,
    FieldChange,
    LocationOutcome,
    MemberRole,
    Office,
    PersonName,
    Place,
    ProgramType,
    RelationshipKind,
    RemovalElection,
    RemovalKind,
    RepresentationBasis,
    ReturnRoute,
    ReunificationPreference,
    SeparationReason,
    SettlementElection,
    Sex,
)


class Happened(Aggregate.Event):
    """Base of every family event: when it happened in the world."""

    occurred_at: datetime
    # 8 CFR 208.6: asylum and credible-fear information is not disclosed without consent.
    confidential: ClassVar[bool] = False
    # Whether it is part of a person's protection claim (8 CFR 208.6 covers records
    # "pertaining to" a claim, not only their contents): who may not read that person's
    # asylum facts does not learn that the entry exists (schema/policy.py).
    asylum_record: ClassVar[bool] = False
    # Whether it amends an earlier entry (a correction or retraction): a class attribute,
    # read once per event by every replay, where isinstance costs six times as much.
    amends: ClassVar[bool] = False
    # Personal data (domain.personal): each field holding it, to the field naming the person
    # it is about; and the text-like fields decided to hold none. tests/unit/test_personal
    # fails when a field of a personal-looking type is in neither.
    personal: ClassVar[Mapping[str, str]] = {}
    impersonal: ClassVar[frozenset[str]] = frozenset()
    # Whether it makes earlier entries read otherwise (an erasure): folds start over.
    erases: ClassVar[bool] = False


class CaseOpened(Aggregate.Created):
    """A case was opened for a family."""

    amends: ClassVar[bool] = False
    asylum_record: ClassVar[bool] = False
    personal: ClassVar[Mapping[str, str]] = {}
    # The case's number and where it came from identify a record, not a person.
    impersonal: ClassVar[frozenset[str]] = frozenset({"case_number", "source"})
    erases: ClassVar[bool] = False

    occurred_at: datetime
    case_number: str
    source: str


class MemberAdded(Happened):
    """A person was added to the case."""

    personal: ClassVar[Mapping[str, str]] = {
        "name": "person_id",
        "birth_date": "person_id",
        "a_number": "person_id",
    }

    person_id: UUID
    role: MemberRole
    name: PersonName | None
    sex: Sex
    birth_date: date | None
    age: int | None
    country: Country | None
    a_number: ANumber | None


class RelationshipRecorded(Happened):
    """An adult was linked to a child."""

    parent_id: UUID
    child_id: UUID
    kind: RelationshipKind
    evidence: Evidence


class Apprehended(Happened):
    """Members of the family were apprehended together."""

    person_ids: list[UUID]
    place: Place
    agency: Agency


class Separated(Happened):
    """A child was taken from a parent."""

    personal: ClassVar[Mapping[str, str]] = {"note": "child_id", "reason_text": "child_id"}

    parent_id: UUID
    child_id: UUID
    place: Place
    reason: SeparationReason
    note: str | None
    parent_notified: bool
    reason_text: str | None  # the source's own wording of the reason, when imported

    class_version = 2

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        state["reason_text"] = None


class ChildReferred(Happened):
    """A child was referred to ORR."""

    child_id: UUID
    office: Office
    hours_in_cbp_custody: int | None


class ChildPlaced(Happened):
    """A child was placed with an ORR care provider."""

    child_id: UUID
    facility: Facility
    program_type: ProgramType


class ChildTransferred(Happened):
    """A child in care was moved to another care provider."""

    child_id: UUID
    facility: Facility
    program_type: ProgramType


class ParentDetained(Happened):
    """A parent was detained."""

    parent_id: UUID
    facility: Facility
    custody: CustodyKind


class ParentTransferred(Happened):
    """A detained parent was moved to another facility."""

    parent_id: UUID
    facility: Facility
    custody: CustodyKind


class ParentReleased(Happened):
    """A parent was released from custody."""

    # Where a parent was released to is an address: contact details.
    personal: ClassVar[Mapping[str, str]] = {"destination": "parent_id"}

    parent_id: UUID
    destination: str


class ContactEstablished(Happened):
    """A separated parent and child were put in touch."""

    parent_id: UUID
    child_id: UUID
    channel: ContactChannel


class CredibleFearDecided(Happened):
    """A credible-fear decision was made for a person."""

    personal: ClassVar[Mapping[str, str]] = {"language": "person_id"}
    # The outcome decides the settlement's class, which the court's counts rest on, so an
    # erasure must leave it; 8 CFR 208.6 already keeps it from whoever may not read it.
    impersonal = frozenset({"outcome"})

    asylum_record = True
    confidential = True

    person_id: UUID
    outcome: CredibleFearOutcome
    language: str
    while_separated: bool


class RemovalOrdered(Happened):
    """A parent was ordered removed."""

    parent_id: UUID
    kind: RemovalKind


class RemovalElectionSigned(Happened):
    """A parent with a removal order signed an election form."""

    personal: ClassVar[Mapping[str, str]] = {"language": "parent_id", "how_read": "parent_id"}

    parent_id: UUID
    election: RemovalElection
    language: str
    counsel_present: bool
    how_read: str


class ParentRemoved(Happened):
    """A parent was removed from the United States."""

    parent_id: UUID
    country: Country
    children_removed_with: list[UUID]


class LocationAttempted(Happened):
    """Someone tried to locate a parent."""

    # How a parent was sought (a phone number, an address) is contact data; by whom is staff.
    personal: ClassVar[Mapping[str, str]] = {"method": "parent_id"}
    impersonal = frozenset({"by_whom"})

    parent_id: UUID
    method: str
    outcome: LocationOutcome
    by_whom: str


class PreferenceRecorded(Happened):
    """A parent's wish for the child's reunification was recorded."""

    parent_id: UUID
    preference: ReunificationPreference


class EligibilityDetermined(Happened):
    """Whether a parent may be reunified with a child was determined."""

    personal: ClassVar[Mapping[str, str]] = {"red_flag": "parent_id"}

    parent_id: UUID
    child_id: UUID
    outcome: EligibilityOutcome
    red_flag: str | None


class SettlementElected(Happened):
    """A person chose under the settlement whether to have their claim reviewed."""

    asylum_record = True

    person_id: UUID
    election: SettlementElection


class Reinterviewed(Happened):
    """A person was re-interviewed on their fear claim under the settlement."""

    impersonal = frozenset({"outcome"})  # as CredibleFearDecided.outcome

    asylum_record = True
    confidential = True

    person_id: UUID
    outcome: CredibleFearOutcome


class AsylumCaseReopened(Happened):
    """A person's asylum case was reopened."""

    personal: ClassVar[Mapping[str, str]] = {"proceeding": "person_id"}

    asylum_record = True

    person_id: UUID
    proceeding: str


class ParentReturned(Happened):
    """A removed parent came back to the United States."""

    parent_id: UUID
    how: ReturnRoute


class Reunified(Happened):
    """A child was reunified with a parent."""

    # Widened on purpose: imported history may say a child left care but not when, and that
    # stays unknown (None) rather than invented. Only these two events may be undated.
    occurred_at: datetime | None  # type: ignore[assignment]
    child_id: UUID
    parent_id: UUID
    place: Place | None


class ChildDischarged(Happened):
    """A child left ORR care other than by reunification."""

    personal: ClassVar[Mapping[str, str]] = {"note": "child_id"}

    occurred_at: datetime | None  # type: ignore[assignment]  # undated: see Reunified
    child_id: UUID
    reason: DischargeReason
    note: str | None


class EntryCorrected(Happened):
    """Named fields of the event at a stream version are replaced; the original stays."""

    # A new value of a personal field (a name, a note) is the corrected entry's person's:
    # each such value is sealed under their key (service.eventstore.sealed_changes).
    personal: ClassVar[Mapping[str, str]] = {"changes": "subject"}
    impersonal = frozenset({"reason"})

    amends = True

    version: int
    changes: list[FieldChange]
    reason: str
    # Whose personal data the changed values are; None when they change none of it (and
    # in corrections recorded before personal data was sealed).
    subject: UUID | None = None


class EntryRetracted(Happened):
    """The event at a stream version no longer counts; the original stays."""

    impersonal = frozenset({"reason"})

    amends = True

    version: int
    reason: str


class RepresentationRecorded(Happened):
    """A lawyer became counsel of record for a member of the case.

    `counsel` is the lawyer's identity as their bearer token's subject says it, so what
    they may read follows from the record. `consent_to_disclosure` records the person's
    written consent to disclose their asylum facts (8 CFR 208.6) to this counsel.
    """

    # Counsel is a lawyer acting in office, the reference a court filing.
    impersonal = frozenset({"counsel", "reference"})

    counsel: str
    person_id: UUID
    basis: RepresentationBasis
    reference: str | None  # the filing or appointment, e.g. "EOIR-28 filed 2018-07-02"
    consent_to_disclosure: bool


class RepresentationEnded(Happened):
    """A lawyer is no longer counsel of record for a member (withdrawal, substitution)."""

    impersonal = frozenset({"counsel", "reason"})

    counsel: str
    person_id: UUID
    reason: str


class CaseClosed(Happened):
    """The case was closed; nothing more is recorded on it."""

    impersonal = frozenset({"reason"})

    reason: str


class DataQualityFlagged(Happened):
    """An entry broke a data-quality rule; it is kept, and flagged."""

    # A flag's detail says what is wrong with an entry (dates of events, ids, versions), not
    # who the person is: callers must not quote personal values in it (README, Personal data).
    impersonal = frozenset({"rule", "detail"})

    rule: str
    about_version: int
    detail: str


class PersonalDataErased(Happened):
    """A person's personal data was erased (crypto-shredded): who ordered it, on what authority.

    It holds no personal data itself; from it on, every personal field of the person reads
    as erased, at every point of the family's history.
    """

    erases = True
    # Who ordered it and the order (a court order, a retention schedule) are the record's.
    impersonal = frozenset({"authority", "ordered_by"})

    person_id: UUID
    authority: str
    ordered_by: str
    # Completed years of age on the day the child was separated (else recorded), when only
    # a birth date gave it: the court's counts by age stay as they were; an age in years is
    # not a birth date.
    age: int | None = None


AMENDMENTS = (EntryCorrected, EntryRetracted)
