"""The case fold files each separated child under its own parent's category, with the
eligibility decided for that parent and child, and bands every child it can."""

from __future__ import annotations

from dataclasses import fields
from datetime import date, datetime, timedelta, timezone
from typing import Any
from uuid import UUID, uuid4

from hypothesis import given

from domain.family import Family, Member
from domain.values import (
    Country,
    CustodyKind,
    EligibilityOutcome,
    Evidence,
    Facility,
    LocationOutcome,
    MemberRole,
    PersonName,
    ProgramType,
    RelationshipKind,
    ReturnRoute,
    SeparationReason,
    Sex,
)
from projections.case_fold import case_rows, fold_case
from projections.case_rows import CaseRows, ChildRow, day
from projections.cases import CHILD_EXTRA, child_record
from projections.parent_fold import pair_situation, situation_of
from projections.projection import effective_envelopes
from tests.scenarios.events import stream
from tests.scenarios.family import CASA_PADRE, SAN_YSIDRO, T0, at, separated_family
from tests.scenarios.histories import PROPERTY, family_histories

CHILD_COLUMNS = (*(f.name for f in fields(ChildRow)), *CHILD_EXTRA)
GEO = Facility("geo-adelanto", "Adelanto", "CA")


def folded(family: Family) -> CaseRows:
    return case_rows(stream(family), effective_envelopes)


def child_rows(family: Family) -> dict[UUID, dict[str, Any]]:
    rows = folded(family)
    return {
        c.child_id: dict(zip(CHILD_COLUMNS, child_record(rows, c), strict=True))
        for c in rows.children.values()
    }


def situation(family: Family, child_id: UUID) -> str | None:
    found: str | None = child_rows(family)[child_id]["parent_situation"]
    return found


def with_daughter(family: Family, mother: UUID) -> UUID:
    """A daughter of the same mother, linked, separated from her and placed."""
    daughter = uuid4()
    family.add_member(Member(daughter, MemberRole.CHILD, PersonName("Eva"), Sex.FEMALE, age=9), T0)
    family.record_relationship(mother, daughter, RelationshipKind.MOTHER, Evidence.CLAIMED, T0)
    family.separate(
        mother, daughter, SAN_YSIDRO, SeparationReason.ZERO_TOLERANCE, None, False, at(1)
    )
    family.place_child(daughter, CASA_PADRE, ProgramType.SHELTER, at(3))
    return daughter


def test_the_day_of_a_moment_is_its_utc_calendar_day() -> None:
    pacific = timezone(timedelta(hours=-7))
    assert day(datetime(2018, 7, 26, 20, tzinfo=pacific)) == date(2018, 7, 27)
    assert day(datetime(2018, 7, 27, 1, tzinfo=timezone(timedelta(hours=2)))) == date(2018, 7, 26)


def test_an_evening_event_in_the_pacific_is_dated_its_utc_day() -> None:
    family, mother, son = separated_family()
    family.reunify(
        son, mother, None, datetime(2018, 7, 26, 20, tzinfo=timezone(timedelta(hours=-7)))
    )
    assert child_rows(family)[son]["discharged_at"] == date(2018, 7, 27)


def test_eligibility_for_one_child_leaves_the_others_situation_alone() -> None:
    family, mother, son = separated_family()
    daughter = with_daughter(family, mother)
    family.determine_eligibility(
        mother, son, EligibilityOutcome.INELIGIBLE, "criminal history", at(9)
    )
    family.determine_eligibility(mother, daughter, EligibilityOutcome.ELIGIBLE, None, at(10))

    assert situation(family, son) == "ineligible"
    assert situation(family, daughter) == "location_unknown"
    parent = folded(family).parents[mother.int]
    # The parent's row sums it up: ineligible for one child, with that child's red flag.
    assert (parent.eligibility, parent.red_flag, parent.situation) == (
        "ineligible",
        "criminal history",
        "ineligible",
    )
    # A later decision for the same child replaces that child's, and its red flag.
    family.determine_eligibility(mother, son, EligibilityOutcome.ELIGIBLE, None, at(19))
    parent = folded(family).parents[mother.int]
    assert (parent.eligibility, parent.red_flag, parent.situation) == (
        "eligible",
        None,
        "location_unknown",
    )


def test_each_childs_situation_intervals_follow_its_own_eligibility() -> None:
    family, mother, son = separated_family()
    daughter = with_daughter(family, mother)
    family.determine_eligibility(mother, son, EligibilityOutcome.INELIGIBLE, "record", at(9))
    family.determine_eligibility(mother, daughter, EligibilityOutcome.ELIGIBLE, None, at(10))

    intervals = {
        (s.child_id, s.situation, s.start_date, s.end_date) for s in folded(family).situations
    }
    nine = at(9).date()
    assert intervals == {
        (son, "location_unknown", date.min, nine),
        (son, "ineligible", nine, None),
        (daughter, "location_unknown", date.min, None),
    }


def test_a_child_never_separated_has_no_parent_situation() -> None:
    family, mother, son = separated_family()
    sister = uuid4()
    family.add_member(Member(sister, MemberRole.CHILD, PersonName("Flor"), Sex.FEMALE, age=2), T0)
    family.record_relationship(mother, sister, RelationshipKind.MOTHER, Evidence.CLAIMED, T0)
    rows = child_rows(family)
    assert rows[sister]["parent_situation"] is None
    assert rows[son]["parent_situation"] == "location_unknown"


def test_a_child_recorded_with_a_birth_date_only_is_banded_by_age_at_separation() -> None:
    family = Family(id=uuid4(), occurred_at=T0, case_number="C-2", source="test")
    mother, baby, teen, later = uuid4(), uuid4(), uuid4(), uuid4()
    family.add_member(Member(mother, MemberRole.PARENT, PersonName("Ana"), Sex.FEMALE), T0)
    for child_id, born in (
        (baby, date(2015, 1, 1)),
        (teen, date(2005, 6, 1)),
        (later, date(2013, 5, 22)),  # five on 2018-05-22: four on the day she was separated
    ):
        member = Member(child_id, MemberRole.CHILD, None, Sex.FEMALE, birth_date=born)
        family.add_member(member, T0)
        family.record_relationship(mother, child_id, RelationshipKind.MOTHER, Evidence.DNA, T0)
        family.separate(mother, child_id, SAN_YSIDRO, SeparationReason.HEALTH, None, False, at(1))
    bands = {k: v["age_band"] for k, v in child_rows(family).items()}
    assert bands == {baby: "0-4", teen: "5-17", later: "0-4"}


def test_an_unseparated_child_with_a_birth_date_is_banded_by_age_when_recorded() -> None:
    family, _, _ = separated_family()
    born = uuid4()
    family.add_member(
        Member(born, MemberRole.CHILD, None, Sex.MALE, birth_date=date(2010, 1, 1)), at(2)
    )
    assert child_rows(family)[born]["age_band"] == "5-17"


def test_a_returned_parent_is_released_in_the_interior_until_detained() -> None:
    family, mother, son = separated_family()
    family.remove_parent(mother, Country("GT"), (), at(10))
    assert situation(family, son) == "removed"
    family.return_parent(mother, ReturnRoute.PAROLE, at(60))
    assert situation(family, son) == "released_interior"
    family.detain_parent(mother, GEO, CustodyKind.ICE, at(70))
    assert situation(family, son) == "ice_custody"


def test_a_parent_returned_by_court_order_is_in_the_interior() -> None:
    family, mother, son = separated_family()
    family.remove_parent(mother, Country("HN"), (), at(10))
    family.return_parent(mother, ReturnRoute.COURT_ORDER, at(60))
    assert situation(family, son) == "released_interior"


def test_a_located_parent_never_removed_is_in_the_interior() -> None:
    family, mother, son = separated_family()
    family.attempt_location(mother, "phone", LocationOutcome.NOT_FOUND, "counsel", at(5))
    assert situation(family, son) == "location_unknown"
    family.attempt_location(mother, "phone", LocationOutcome.FOUND, "counsel", at(6))
    assert situation(family, son) == "released_interior"
    # Found after removal, a parent is abroad: removal comes first.
    family.remove_parent(mother, Country("GT"), (), at(10))
    family.attempt_location(mother, "phone", LocationOutcome.FOUND, "steering committee", at(30))
    assert situation(family, son) == "removed"


def test_a_parent_in_other_custody_is_in_other_federal_state_or_local_custody() -> None:
    family, mother, son = separated_family()
    family.detain_parent(mother, GEO, CustodyKind.OTHER, at(4))
    assert situation(family, son) == "criminal_custody"


def test_a_child_lists_the_adults_linked_to_it_only() -> None:
    family, mother, son = separated_family()
    uncle, cousin = uuid4(), uuid4()
    family.add_member(Member(uncle, MemberRole.OTHER_ADULT, PersonName("Luis"), Sex.MALE), T0)
    family.add_member(Member(cousin, MemberRole.CHILD, PersonName("Gabi"), Sex.MALE, age=6), T0)
    family.record_relationship(uncle, cousin, RelationshipKind.FATHER, Evidence.CLAIMED, T0)
    rows = child_rows(family)
    assert rows[son]["parent_ids"] == (mother,)
    assert rows[cousin]["parent_ids"] == (uncle,)


@PROPERTY
@given(family_histories())
def test_tracking_only_the_people_an_event_names_misses_no_change_of_category(
    family: Family,
) -> None:
    # After every prefix, each category the fold tracked must be the one recomputed from
    # the rows as they stand: an event that changed someone it does not name would show.
    history = effective_envelopes(stream(family))
    for end in range(1, len(history) + 1):
        rows = fold_case(history[:end])
        for adult in rows.parents.values():
            assert adult.situation == situation_of(adult, adult.eligibility)[0]
        for child in rows.children.values():
            parent = rows.parents.get(child.separated_from.int) if child.separated_from else None
            if parent is None:
                continue
            tracked = rows.open_situations[child.child_id.int]
            found = pair_situation(rows, parent, child)
            assert (tracked.situation, tracked.country) == found
