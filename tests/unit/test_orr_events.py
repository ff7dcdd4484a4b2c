"""An ORR row as a family case: the entries, their days, the flags and what they are about."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import pytest

from domain.family import Family
from domain.values import (
    Agency,
    Country,
    DischargeReason,
    Evidence,
    Facility,
    MemberRole,
    Office,
    Place,
    PlaceKind,
    ProgramType,
    RelationshipKind,
    SeparationReason,
    Sex,
)
from service.orr_import.events import Unrecordable, decide
from service.orr_import.identity import CaseIds, ImportRun, idempotency_key, row_digest
from service.orr_import.reader import read_records
from service.orr_import.row import OrrRow

HEADER = (
    "AGE,GENDER,COO,DATE_APPREHENDED,REFERRAL_DATE,DATE_ORR_APPROVED,REFERRING OFFICE,"
    "FACILITY_APPROVED,REUNITIED_SEP_PARENTS,UAC STATUS,Date Discharged,Reason fo Separation"
)
REUNITED = (
    '4,M,Guatemala,6/15/2018,6/18/2018,6/20/2018,"El Paso  (ELP)",Cayuga Centers,'
    "Reunited with Sep Parent,DISCHARGED,7/11/2018,Zero Tolerance Policy"
)
RUN = ImportRun("orr.csv", "ab" * 32, "importer.test", datetime(2026, 1, 5, tzinfo=UTC), uuid4())


def row(line: str) -> OrrRow:
    """The row the reader makes of one data line (row 2 of a file with the header)."""
    (result,) = read_records(io.StringIO(f"{HEADER}\n{line}\n", newline=""))
    assert isinstance(result, OrrRow), result
    return result


def day(month: int, dom: int, year: int = 2018) -> datetime:
    return datetime(year, month, dom, tzinfo=UTC)


def kinds(events: tuple[Any, ...]) -> list[str]:
    return [type(e).__name__ for e in events]


def flags(events: tuple[Any, ...]) -> list[tuple[str, int]]:
    return [(e.rule, e.about_version) for e in events if isinstance(e, Family.DataQualityFlagged)]


def test_a_reunited_child_is_a_case_from_apprehension_to_reunification() -> None:
    decided = decide(row(REUNITED), RUN)
    assert kinds(decided.events) == [
        "CaseOpened",
        "MemberAdded",
        "MemberAdded",
        "RelationshipRecorded",
        "Apprehended",
        "Separated",
        "ChildReferred",
        "ChildPlaced",
        "Reunified",
    ]
    opened, child, parent, link, caught, separated, referred, placed, reunified = decided.events
    ids = CaseIds.of("orr.csv", 2)
    assert (opened.originator_id, opened.case_number) == (ids.family, "orr.csv row 2")
    assert opened.source == f"import:orr.csv sha256:{'ab' * 32} row 2"
    assert (child.person_id, child.role, child.name, child.age) == (
        ids.child,
        MemberRole.CHILD,
        None,
        4,
    )
    assert (child.sex, child.country) == (Sex.MALE, Country("GT"))
    assert (parent.person_id, parent.role, parent.name, parent.sex) == (
        ids.parent,
        MemberRole.PARENT,
        None,
        Sex.UNKNOWN,
    )
    assert (link.kind, link.evidence) == (RelationshipKind.UNKNOWN, Evidence.CLAIMED)
    area = Place(PlaceKind.OTHER, "area of referring office El Paso (ELP)")
    assert (caught.place, caught.agency, caught.person_ids) == (
        area,
        Agency.BORDER_PATROL,
        [ids.parent, ids.child],
    )
    assert (separated.reason, separated.reason_text, separated.place) == (
        SeparationReason.ZERO_TOLERANCE,
        "Zero Tolerance Policy",
        area,
    )
    assert (referred.office, referred.hours_in_cbp_custody) == (Office("ELP", "El Paso"), None)
    assert (placed.facility, placed.program_type) == (
        Facility("cayuga-centers", "Cayuga Centers"),
        ProgramType.UNKNOWN,
    )
    assert reunified.parent_id == ids.parent
    # The separation is dated the day of apprehension: the file gives no day of its own.
    assert [e.occurred_at for e in decided.events] == [day(6, 15)] * 6 + [
        day(6, 18),
        day(6, 20),
        day(7, 11),
    ]
    assert decided.rules == ()


def test_other_appropriate_circumstances_is_a_discharge_saying_so() -> None:
    line = REUNITED.replace(
        "Reunited with Sep Parent", "Discharged Under other approp circumstances"
    )
    *_, discharged = decide(row(line), RUN).events
    assert isinstance(discharged, Family.ChildDischarged)
    assert (discharged.reason, discharged.note, discharged.occurred_at) == (
        DischargeReason.OTHER,
        "other appropriate circumstances",
        day(7, 11),
    )


def test_a_child_still_in_care_ends_at_the_placement() -> None:
    line = REUNITED.replace(
        "Reunited with Sep Parent,DISCHARGED,7/11/2018", "Still in Care,ADMITTED,"
    )
    assert kinds(decide(row(line), RUN).events)[-1] == "ChildPlaced"


def test_a_reunification_without_a_day_stays_undated_and_is_flagged() -> None:
    decided = decide(row(REUNITED.replace("7/11/2018", "")), RUN)
    reunified = decided.events[8]
    assert isinstance(reunified, Family.Reunified)
    assert reunified.occurred_at is None
    assert flags(decided.events) == [("discharged_without_date", 9)]
    assert decided.events[9].occurred_at == RUN.started_at  # a finding of this import


def test_a_blank_office_leaves_office_and_place_unknown_and_flags_the_referral() -> None:
    decided = decide(row(REUNITED.replace('"El Paso  (ELP)"', "")), RUN)
    assert decided.events[4].place == Place(PlaceKind.OTHER, "unknown")
    assert decided.events[6].office.id == "UNKNOWN"
    assert flags(decided.events) == [("referring_office_blank", 7)]


def test_each_broken_rule_is_flagged_on_the_entry_that_breaks_it() -> None:
    over_age = decide(row("19" + REUNITED[1:]), RUN)
    assert flags(over_age.events) == [("age_over_17", 2)]
    early = REUNITED.replace("6/18/2018,6/20/2018", "6/18/2018,6/17/2018")
    assert flags(decide(row(early), RUN).events) == [("approved_before_referral", 8)]


def test_history_before_the_apprehension_carries_the_domains_flag_and_the_files() -> None:
    line = REUNITED.replace("6/18/2018,6/20/2018", "6/18/2018,6/10/2018")
    decided = decide(row(line), RUN)
    assert flags(decided.events) == [
        ("before_apprehension", 8),
        ("approved_before_referral", 8),
        ("dates_out_of_order", 8),
    ]
    assert decided.rules == (
        "approved_before_referral",
        "before_apprehension",
        "dates_out_of_order",
    )


@pytest.mark.parametrize("column", ["DATE_APPREHENDED", "REFERRAL_DATE", "DATE_ORR_APPROVED"])
def test_a_step_without_its_day_is_not_recordable(column: str) -> None:
    cells = REUNITED.split(",")
    blank = {"DATE_APPREHENDED": 3, "REFERRAL_DATE": 4, "DATE_ORR_APPROVED": 5}[column]
    cells[blank] = ""
    with pytest.raises(Unrecordable, match=column):
        decide(row(",".join(cells)), RUN)


def test_a_rows_identity_is_its_file_name_and_number_its_digest_its_cells() -> None:
    assert CaseIds.of("orr.csv", 2) == CaseIds.of("orr.csv", 2) != CaseIds.of("orr.csv", 3)
    assert CaseIds.of("orr.csv", 2) != CaseIds.of("other.csv", 2)
    assert idempotency_key("orr.csv", 2) == "import:orr:orr.csv:row:2"
    same, changed = row(REUNITED), row("5" + REUNITED[1:])
    assert row_digest(same.raw) == row_digest(row(REUNITED).raw) != row_digest(changed.raw)


def test_provenance_names_the_file_its_hash_the_row_and_the_person_who_imported() -> None:
    provenance = RUN.provenance(58)
    assert (provenance.actor, provenance.role) == ("importer.test", "admin")
    assert provenance.source == f"import:orr.csv sha256:{'ab' * 32} row 58"
    assert provenance.reason == "ORR 2018 separated-children list"
    assert provenance.correlation_id == RUN.correlation_id
