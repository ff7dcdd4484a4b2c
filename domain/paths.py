"""What a case knows about each member: the person, and the path they are on."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum
from uuid import UUID

from domain.values import (
    ANumber,
    Country,
    CredibleFearOutcome,
    CustodyKind,
    DischargeReason,
    EligibilityOutcome,
    Facility,
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

ADULTS = (MemberRole.PARENT, MemberRole.OTHER_ADULT)


class ChildStatus(Enum):
    """Where a child's path stands."""

    WITH_FAMILY = "with_family"
    SEPARATED = "separated"
    REFERRED = "referred"
    IN_CARE = "in_care"
    REUNIFIED = "reunified"
    DISCHARGED = "discharged"


ENDED = (ChildStatus.REUNIFIED, ChildStatus.DISCHARGED)


class CaseStatus(Enum):
    """Where the family case as a whole stands."""

    OPEN = "open"
    SEPARATED = "separated"
    REUNIFIED = "reunified"
    CLOSED = "closed"


@dataclass
class Member:
    """What the case knows about one person."""

    person_id: UUID
    role: MemberRole
    name: PersonName | None
    sex: Sex
    birth_date: date | None = None
    age: int | None = None
    country: Country | None = None
    a_number: ANumber | None = None


@dataclass
class ChildPath:
    """One child's path: with the family, separated, referred, in care, then out of care."""

    status: ChildStatus = ChildStatus.WITH_FAMILY
    facility: Facility | None = None
    separated_from: set[UUID] = field(default_factory=set)
    referred_by: Office | None = None
    hours_in_cbp_custody: int | None = None
    reunified_with: UUID | None = None
    discharge_reason: DischargeReason | None = None
    removed_to: Country | None = None

    def separate_from(self, parent_id: UUID) -> None:
        self.separated_from.add(parent_id)
        if self.status is ChildStatus.WITH_FAMILY:
            self.status = ChildStatus.SEPARATED

    def refer(self, office: Office, hours_in_cbp_custody: int | None) -> None:
        self.referred_by, self.hours_in_cbp_custody = office, hours_in_cbp_custody
        if self.status in (ChildStatus.WITH_FAMILY, ChildStatus.SEPARATED):
            self.status = ChildStatus.REFERRED

    def place(self, facility: Facility) -> None:
        self.status, self.facility = ChildStatus.IN_CARE, facility

    def reunify(self, parent_id: UUID) -> None:
        self.status, self.reunified_with, self.facility = ChildStatus.REUNIFIED, parent_id, None

    def discharge(self, reason: DischargeReason) -> None:
        self.status, self.discharge_reason, self.facility = ChildStatus.DISCHARGED, reason, None


@dataclass(frozen=True)
class Eligibility:
    """Whether a parent may be reunified with one child, and the red flag if not."""

    outcome: EligibilityOutcome
    red_flag: str | None


@dataclass
class ParentPath:
    """One adult's path: custody, removal and return, the search for them, their wishes."""

    custody: CustodyKind | None = None
    facility: Facility | None = None
    released_to: str | None = None
    removal_order: RemovalKind | None = None
    removal_election: RemovalElection | None = None
    removed_to: Country | None = None
    removals: int = 0
    returned: ReturnRoute | None = None
    location_attempts: int = 0
    last_location_outcome: LocationOutcome | None = None
    preference: ReunificationPreference | None = None
    eligibility: dict[UUID, Eligibility] = field(default_factory=dict)
    contacted: set[UUID] = field(default_factory=set)

    @property
    def abroad(self) -> bool:
        """Removed, and not recorded as returned since."""
        return self.removed_to is not None and self.returned is None

    def detain(self, facility: Facility, custody: CustodyKind) -> None:
        self.custody, self.facility, self.released_to = custody, facility, None

    def release(self, destination: str) -> None:
        self.custody, self.facility, self.released_to = None, None, destination

    def remove(self, country: Country) -> None:
        self.custody, self.facility, self.released_to = None, None, None
        self.removed_to, self.returned = country, None
        self.removals += 1

    def attempt_location(self, outcome: LocationOutcome) -> None:
        self.location_attempts += 1
        self.last_location_outcome = outcome


@dataclass
class AsylumPath:
    """One person's protection claim: credible fear, the settlement, re-interview, reopening."""

    credible_fear: CredibleFearOutcome | None = None
    fear_while_separated: bool | None = None
    settlement: SettlementElection | None = None
    reinterview: CredibleFearOutcome | None = None
    reopened_in: str | None = None

    @property
    def has_negative_decision(self) -> bool:
        """A negative credible-fear decision stands, original or from a prior re-interview."""
        negative = CredibleFearOutcome.NEGATIVE
        return negative in (self.credible_fear, self.reinterview)


@dataclass(frozen=True)
class Representation:
    """A lawyer standing as counsel of record for one member, from a day."""

    counsel: str
    person_id: UUID
    basis: RepresentationBasis
    consent_to_disclosure: bool
    since: datetime


@dataclass(frozen=True)
class DataQualityFlag:
    """A rule an entry broke: it was kept, and flagged."""

    rule: str
    about_version: int
    detail: str
