"""The rows the case read models hold for one family, as plain dataclasses.

The rows a fold makes per event (stays, situations, status changes, flags) have slots:
built and freed a thousand times in a replay, a slotted row is one object, not two.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from uuid import UUID

from domain.paths import ChildStatus, Eligibility

# Before anything is known about a parent, their situation interval starts at -infinity.
DAWN = date.min
# The statuses of a child still apart from their family, as the status columns hold them.
OPEN_STATUSES = tuple(
    s.value for s in (ChildStatus.SEPARATED, ChildStatus.REFERRED, ChildStatus.IN_CARE)
)


def day(moment: datetime | None) -> date | None:
    """The calendar day (UTC) of a moment; None stays unknown."""
    return None if moment is None else moment.astimezone(UTC).date()


def age_on(birth_date: date, on: date) -> int:
    """Completed years of age on a day."""
    return on.year - birth_date.year - ((on.month, on.day) < (birth_date.month, birth_date.day))


def age_band(age: int | None) -> str | None:
    """The court report's age bands; a negative age (born after the day) has none."""
    if age is None or age < 0:
        return None
    return "0-4" if age <= 4 else "5-17" if age <= 17 else "18+"


@dataclass
class ChildRow:
    """Where one child stands, and the dates that answer 'as of' questions."""

    family_id: UUID
    child_id: UUID
    name: str | None
    age: int | None
    birth_date: date | None
    sex: str
    country: str | None
    status: str = ChildStatus.WITH_FAMILY.value
    separated_at: date | None = None
    separated_from: UUID | None = None
    separation_reason: str | None = None
    separation_reason_text: str | None = None
    referred_at: date | None = None
    referring_office: str | None = None
    placed_at: date | None = None
    facility_id: str | None = None
    facility_name: str | None = None
    program_type: str | None = None
    discharged_at: date | None = None
    discharge_kind: str | None = None
    reunified_with: UUID | None = None
    last_version: int = 0
    parent_ids: list[UUID] = field(default_factory=list)  # the adults linked to the child
    # The child's personal data was erased: null name, birth date and notes mean that.
    personal_data_erased: bool = False

    def age_band(self, recorded_on: date | None) -> str | None:
        """The band of the recorded age or, without one, of the age the birth date gives on
        the day of separation (else the day the child was recorded). A fixed day, not today,
        so a replay years later files the child where the court's report did."""
        if self.age is not None or self.birth_date is None:
            return age_band(self.age)
        on = self.separated_at or recorded_on
        return None if on is None else age_band(age_on(self.birth_date, on))


@dataclass(slots=True)
class Stay:
    """One stay of a child with one care provider."""

    family_id: UUID
    child_id: UUID
    facility_id: str
    facility_name: str
    program_type: str
    start_date: date | None
    end_date: date | None = None


@dataclass
class ParentRow:
    """Where one parent stands on each of the paths the court asks about."""

    family_id: UUID
    parent_id: UUID
    name: str | None
    sex: str
    country: str | None
    a_number: str | None
    role: str
    custody: str | None = None
    facility_id: str | None = None
    facility_name: str | None = None
    released_at: date | None = None
    released_to: str | None = None
    credible_fear: str | None = None
    credible_fear_while_separated: bool | None = None
    removal_order: str | None = None
    removal_election: str | None = None
    removed_at: date | None = None
    removed_to: str | None = None
    times_removed: int = 0
    children_removed_with: list[UUID] = field(default_factory=list)
    returned_at: date | None = None
    return_route: str | None = None
    location_attempts: int = 0
    located: bool = False
    preference: str | None = None
    # Eligibility is decided per child (CaseRows.eligibility); the parent's row sums it up:
    # 'ineligible' if ineligible for any child, else 'eligible' once determined for one;
    # red_flag is the latest red flag standing for any child, None if none stands.
    eligibility: str | None = None
    red_flag: str | None = None
    settlement_election: str | None = None
    reinterview_outcome: str | None = None
    asylum_reopened: bool = False
    # Where the parent stands in the settlement's class (parents separated from a child whose
    # negative credible-fear decision was made while separated, red-flagged or ineligible for
    # none of their children): awaiting a re-interview, declined the review, or re-interviewed
    # (the outcome is reinterview_outcome). None outside the class. Set by `stances`.
    reinterview_stance: str | None = None
    # The parent's own category: ineligible for any child files the parent as ineligible;
    # each child's own category is in Situation and child_case.parent_situation.
    situation: str = "location_unknown"
    # The parent's personal data was erased: null name, A-number and notes mean that.
    personal_data_erased: bool = False


@dataclass(slots=True)
class Situation:
    """A separated parent's situation over an interval of days, as it bears on one child
    (eligibility is decided per parent and child)."""

    family_id: UUID
    parent_id: UUID
    child_id: UUID
    situation: str
    country: str | None
    start_date: date
    end_date: date | None = None


@dataclass(slots=True)
class Flag:
    """A data-quality rule a recorded event broke."""

    family_id: UUID
    version: int
    rule: str
    detail: str
    # When the flagged entry is part of a person's protection claim (an asylum record), that
    # person: the flag then counts only for who may read their asylum facts.
    asylum_person: UUID | None = None


@dataclass(slots=True)
class RepresentationRow:
    """A lawyer's time as counsel of record for one member; active until ended."""

    family_id: UUID
    counsel: str
    person_id: UUID
    basis: str
    reference: str | None
    consent_to_disclosure: bool
    since: date | None
    ended_at: date | None = None
    active: bool = True


@dataclass(slots=True)
class StatusChange:
    """A child's status changed, caused by the event at this place in the log."""

    transaction_id: int
    position: int
    family_id: UUID
    child_id: UUID
    version: int
    from_status: str | None
    to_status: str
    occurred_at: datetime | None


@dataclass
class MemberRow:
    """A member as the family view lists them, in the order they were added."""

    family_id: UUID
    person_id: UUID
    role: str
    name: str | None
    sex: str
    birth_date: date | None
    age: int | None
    country: str | None
    a_number: str | None
    status: str | None
    facility_id: str | None
    facility_name: str | None
    separated_at: date | None
    reunified_at: date | None
    reunified_with: UUID | None
    ordinal: int
    # The person's personal data was erased: their null name, dates and numbers mean that.
    personal_data_erased: bool = False


@dataclass
class SummaryRow:
    """One row per case: its number, status and how far its stream goes."""

    family_id: UUID
    case_number: str
    status: str
    opened_at: datetime | None
    members: int
    children: int
    separated: int
    version: int
    last_position: int
    updated_at: datetime


@dataclass
class CaseRows:
    """Everything the case read models hold for one family.

    Members are indexed by their id's 128-bit int (`person_id.int`), not the UUID: a
    UUID hashes and compares in Python (uuid.UUID.__hash__ and __eq__ are Python methods),
    an int in C, and the fold looks members up several times per event.
    """

    children: dict[int, ChildRow] = field(default_factory=dict)
    stays: list[Stay] = field(default_factory=list)
    parents: dict[int, ParentRow] = field(default_factory=dict)
    situations: list[Situation] = field(default_factory=list)
    flags: list[Flag] = field(default_factory=list)
    status_changes: list[StatusChange] = field(default_factory=list)
    case_number: str = ""
    opened_at: datetime | None = None
    closed: bool = False
    summary: SummaryRow | None = None
    members: list[MemberRow] = field(default_factory=list)
    ordinals: dict[int, int] = field(default_factory=dict)
    recorded_on: dict[int, date | None] = field(default_factory=dict)
    # By (parent, child), in the order last determined: the latest is last.
    eligibility: dict[tuple[int, int], Eligibility] = field(default_factory=dict)
    # A child is separated from one parent, once: its open interval is the pair's.
    open_situations: dict[int, Situation] = field(default_factory=dict)
    # By parent, the children separated from them: the pairs a parent's events touch.
    separated_by: dict[int, list[ChildRow]] = field(default_factory=dict)
    open_stays: dict[int, list[Stay]] = field(default_factory=dict)
    # Counsel of record, each period in the order recorded; the standing ones by
    # (counsel, person).
    representations: list[RepresentationRow] = field(default_factory=list)
    # The members whose personal data was erased (by person_id.int).
    erased: set[int] = field(default_factory=set)
    standing: dict[tuple[str, int], RepresentationRow] = field(default_factory=dict)
    # The stream versions of the asylum records (events.Happened.asylum_record) folded or
    # known, by the person each is about: what a flag about one of them is about.
    asylum_entries: dict[int, UUID] = field(default_factory=dict)
