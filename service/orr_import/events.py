"""One ORR row as a family case: the commands an importer gives a new Family, in order.

Dates are calendar days; each is recorded as 00:00 UTC of that day, which the read models
turn back into the same day. The file has no separation date: the separation is dated
the day of apprehension, the earliest day it can have happened (zero-tolerance
separations took place in Border Patrol custody, before the referral to ORR). A missing
discharge day stays unknown (None); nothing else may be missing, and no date is invented.
The reader's data-quality flags are findings of the import, dated when it ran; the domain's
own flag (an entry before the apprehension) is dated like the entry it flags.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

from domain.family import Family, Member
from domain.values import (
    Agency,
    Country,
    DischargeReason,
    Evidence,
    MemberRole,
    Office,
    Place,
    PlaceKind,
    ProgramType,
    RelationshipKind,
    Sex,
)
from service.orr_import import flagging
from service.orr_import.flagging import Step
from service.orr_import.identity import CaseIds, ImportRun
from service.orr_import.row import Office as RowOffice
from service.orr_import.row import OrrRow, ReunificationStatus

UNKNOWN_PLACE = Place(PlaceKind.OTHER, "unknown")
UNKNOWN_OFFICE = Office("UNKNOWN", "unknown (REFERRING OFFICE blank)")
DISCHARGE_NOTE = "other appropriate circumstances"
# A step cannot be recorded undated: only leaving care may be (see the module docstring).
REQUIRED_DATES = (
    ("date_apprehended", "DATE_APPREHENDED"),
    ("referral_date", "REFERRAL_DATE"),
    ("date_orr_approved", "DATE_ORR_APPROVED"),
)


class Unrecordable(ValueError):
    """A readable row the importer cannot turn into a case; the message says why."""


@dataclass(frozen=True)
class Decided:
    """A row's case as the domain decided it: its pending events and the rules they flag."""

    row: OrrRow
    family_id: UUID
    events: tuple[Any, ...]
    rules: tuple[str, ...]


def moment(day: date | None) -> datetime | None:
    """The start of a day in UTC; an unknown day stays unknown."""
    return None if day is None else datetime(day.year, day.month, day.day, tzinfo=UTC)


def case_number(run: ImportRun, row: OrrRow) -> str:
    """How a person cites the case: the file and the spreadsheet row."""
    return f"{run.file_name} row {row.row_number}"


def check_recordable(row: OrrRow) -> None:
    """Every step but leaving care needs its day, and the placement its care provider."""
    for field, column in REQUIRED_DATES:
        if getattr(row, field) is None:
            raise Unrecordable(f"{column} blank: the step it dates cannot be recorded undated")
    if row.facility is None:
        raise Unrecordable("FACILITY_APPROVED blank: the placement names no care provider")


def decide(row: OrrRow, run: ImportRun) -> Decided:
    """Open the row's case and record its path; the domain checks every step."""
    check_recordable(row)
    ids = CaseIds.of(run.file_name, row.row_number)
    family, child_version = _opened(row, run, ids)
    steps = {Step.CHILD: child_version, **_path(family, row, ids)}
    for flag in row.flags:
        family.flag_data_quality(
            flag.value,
            steps[flagging.about(flag, row)],
            flagging.detail(flag, row),
            run.started_at,
            historical=True,
        )
    events = tuple(family.collect_events())
    rules = tuple(sorted({e.rule for e in events if isinstance(e, Family.DataQualityFlagged)}))
    return Decided(row, ids.family, events, rules)


def _opened(row: OrrRow, run: ImportRun, ids: CaseIds) -> tuple[Family, int]:
    """The case with its child and unidentified parent, linked by an unverified claim;
    and the version of the child's entry, which flags about the child point to."""
    # The case dates from the apprehension: the first the government knew of the family.
    at = _day(row.date_apprehended)
    family = Family.open(ids.family, at, case_number(run, row), run.source(row.row_number))
    country = Country(row.country) if row.country else None
    child = Member(ids.child, MemberRole.CHILD, None, row.sex, age=row.age, country=country)
    child_version = family.version + 1
    family.add_member(child, at, historical=True)
    parent = Member(ids.parent, MemberRole.PARENT, None, Sex.UNKNOWN)
    family.add_member(parent, at, historical=True)
    family.record_relationship(
        ids.parent, ids.child, RelationshipKind.UNKNOWN, Evidence.CLAIMED, at, historical=True
    )
    return family, child_version


def _path(family: Family, row: OrrRow, ids: CaseIds) -> dict[Step, int]:
    """Apprehended, separated, referred, placed, then out of care; each step's version."""
    office = row.referring_office
    place = UNKNOWN_PLACE if office is None else Place(PlaceKind.OTHER, _area(office))
    at, pair = _day(row.date_apprehended), (ids.parent, ids.child)
    family.apprehend(pair, place, Agency.BORDER_PATROL, at, historical=True)
    family.separate(
        *pair, place, row.reason, None, False, at, reason_text=row.reason_text, historical=True
    )
    # A step's own version: a domain flag may follow it, so read it before the command.
    steps = {Step.REFERRAL: family.version + 1}
    referred_by = UNKNOWN_OFFICE if office is None else Office(office.id, office.name)
    family.refer_child(ids.child, referred_by, None, _day(row.referral_date), historical=True)
    steps[Step.PLACEMENT] = family.version + 1
    assert row.facility is not None, "check_recordable() refuses a row without a facility"
    placed = _day(row.date_orr_approved)
    family.place_child(ids.child, row.facility, ProgramType.UNKNOWN, placed, historical=True)
    if row.status.discharged:
        steps[Step.EXIT] = family.version + 1
        _leave_care(family, row, ids)
    return steps


def _leave_care(family: Family, row: OrrRow, ids: CaseIds) -> None:
    """Reunified or discharged as the status says, on the day given (or an unknown day)."""
    left = moment(row.date_discharged)
    if row.status is ReunificationStatus.REUNITED_WITH_SEPARATED_PARENT:
        family.reunify(ids.child, ids.parent, None, left, historical=True)
    else:
        family.discharge_child(
            ids.child, DischargeReason.OTHER, DISCHARGE_NOTE, left, historical=True
        )


def _area(office: RowOffice) -> str:
    # The file does not say where a family was apprehended; the referring ICE ERO office's
    # area is the nearest place it names, and the name says so.
    return f"area of referring office {office.name} ({office.id})"


def _day(day: date | None) -> datetime:
    when = moment(day)
    assert when is not None, "check_recordable() refuses a row missing a required date"
    return when
