"""Corrections, never edits: an amendment changes what the past says; the original stays."""

from __future__ import annotations

from datetime import date, datetime
from uuid import uuid4

import pytest

from domain.corrections import effective_history
from domain.errors import (
    InTheFuture,
    InvalidAmendment,
    InvalidValue,
    TimeWithoutZone,
    UnknownEntry,
)
from domain.events import AMENDMENTS
from domain.family import CaseStatus, ChildStatus, Family
from domain.values import (
    Agency,
    Facility,
    FieldChange,
    MemberRole,
    PersonName,
    Place,
    PlaceKind,
    ProgramType,
    SeparationReason,
)
from service.eventstore.codec import family_events
from tests.scenarios.family import (
    CASA_PADRE,
    SAN_YSIDRO,
    T0,
    adult,
    assert_refused,
    at,
    last_event,
    opened_family,
    reunified_family,
    separated_family,
)

# In separated_family: 1 opened, 2 Ana, 3 Beto, 4 linked, 5 separated, 6 placed at Casa Padre.
PLACED = 6
CASA_PADRE_RIGHTLY = Facility("casa-padre", "Casa Padre (Southwest Key)", "TX")


def fix(name: str, value: object) -> tuple[FieldChange, ...]:
    return (FieldChange(name, value),)


def replay(family: Family) -> Family:
    replayed: Family | None = None
    for event in [*family.history]:
        replayed = event.mutate(replayed)
    assert isinstance(replayed, Family)
    return replayed


def test_correcting_a_placement_changes_the_facility_the_case_knows() -> None:
    family, _, son = separated_family()
    family.correct_entry(PLACED, fix("facility", CASA_PADRE_RIGHTLY), "name as on contract", at(7))
    assert family.children[son].facility == CASA_PADRE_RIGHTLY
    corrected = last_event(family)
    assert isinstance(corrected, Family.EntryCorrected)
    assert (corrected.version, corrected.changes, corrected.reason) == (
        PLACED,
        [FieldChange("facility", CASA_PADRE_RIGHTLY)],
        "name as on contract",
    )


def test_the_original_entry_stays_and_is_marked_as_amended() -> None:
    family, _, _ = separated_family()
    family.correct_entry(PLACED, fix("facility", CASA_PADRE_RIGHTLY), "contract name", at(7))
    original = family.history[PLACED - 1]
    assert isinstance(original, Family.ChildPlaced)
    assert original.facility == CASA_PADRE
    assert family.amended_versions == {PLACED: [7]}


def test_a_later_correction_of_the_same_field_wins() -> None:
    family, _, son = separated_family()
    family.correct_entry(PLACED, fix("facility", CASA_PADRE_RIGHTLY), "contract name", at(7))
    family.correct_entry(PLACED, fix("program_type", ProgramType.INFLUX), "influx site", at(8))
    family.correct_entry(PLACED, fix("facility", CASA_PADRE), "the first was right", at(9))
    assert family.children[son].facility == CASA_PADRE
    (placed,) = [e for e in effective_history(family.history) if e.originator_version == PLACED]
    assert isinstance(placed, Family.ChildPlaced)
    assert (placed.facility, placed.program_type) == (CASA_PADRE, ProgramType.INFLUX)
    assert family.amended_versions == {PLACED: [7, 8, 9]}


def test_retracting_a_reunification_puts_the_child_back_in_care() -> None:
    family, _, son = reunified_family()
    family.retract_entry(7, "reunification entered on the wrong case", at(41))
    assert (family.children[son].status, family.children[son].facility) == (
        ChildStatus.IN_CARE,
        CASA_PADRE,
    )
    assert family.status is CaseStatus.SEPARATED
    assert isinstance(family.history[6], Family.Reunified)


def test_retracting_the_only_separation_reopens_the_case() -> None:
    family, mother, son = opened_family()
    family.separate(mother, son, SAN_YSIDRO, SeparationReason.OTHER, None, False, at(1))
    family.retract_entry(5, "not separated: recorded in error", at(2))
    assert family.children[son].status is ChildStatus.WITH_FAMILY
    assert family.status is CaseStatus.OPEN


def test_a_retracted_flag_no_longer_counts() -> None:
    family, _, _ = separated_family()
    family.flag_data_quality("age_over_17", 3, "age 19", at(7))
    family.retract_entry(7, "age was 9, mistyped", at(8))
    assert family.flags == []


def test_the_opening_may_be_corrected_but_for_the_case_number() -> None:
    family, _, _ = separated_family()
    family.correct_entry(
        1, (FieldChange("source", "intake form 7"), FieldChange("occurred_at", at(-1))), "x", at(7)
    )
    assert (family.source, family.opened_at, family.case_number) == ("intake form 7", at(-1), "C-1")


def test_a_member_may_be_corrected_to_another_adult_role() -> None:
    family, mother, son = separated_family()
    family.correct_entry(2, fix("role", MemberRole.OTHER_ADULT), "she is the aunt", at(7))
    family.correct_entry(2, fix("name", PersonName("Ana María")), "full name", at(8))
    assert family.members[mother].role is MemberRole.OTHER_ADULT
    assert family.members[mother].name == PersonName("Ana María")
    assert family.children[son].separated_from == {mother}


def test_correcting_an_apprehension_moves_the_moment_events_must_follow() -> None:
    family, mother, son = opened_family()
    family.apprehend((mother, son), SAN_YSIDRO, Agency.BORDER_PATROL, at(2))
    family.correct_entry(5, fix("occurred_at", at(1)), "crossed a day earlier", at(3))
    family.separate(mother, son, SAN_YSIDRO, SeparationReason.OTHER, None, False, at(1.5))
    assert family.apprehended_at == {mother: at(1), son: at(1)}


def test_the_fold_of_the_stream_is_the_live_case_after_amendments() -> None:
    family, mother, son = reunified_family()
    family.correct_entry(PLACED, fix("facility", CASA_PADRE_RIGHTLY), "contract name", at(41))
    family.retract_entry(7, "wrong case", at(42))
    family.reunify(son, mother, Place(PlaceKind.FACILITY, "Casa Padre"), at(43))
    assert vars(replay(family)) | {"_pending_events": []} == vars(family) | {"_pending_events": []}


def test_the_effective_history_leaves_out_amendments_and_what_was_retracted() -> None:
    family, _, _ = reunified_family()
    family.correct_entry(PLACED, fix("facility", CASA_PADRE_RIGHTLY), "contract name", at(41))
    family.retract_entry(7, "wrong case", at(42))
    effective = effective_history(family.history)
    assert [e.originator_version for e in effective] == [1, 2, 3, 4, 5, PLACED]
    placed = effective[-1]
    assert isinstance(placed, Family.ChildPlaced)
    assert placed.facility == CASA_PADRE_RIGHTLY


# What an amendment may not do.


@pytest.mark.parametrize("version", [0, -1, 8, 99])
def test_an_entry_that_does_not_exist_is_not_amended(version: int) -> None:
    family, _, _ = separated_family()
    family.correct_entry(PLACED, fix("facility", CASA_PADRE_RIGHTLY), "contract name", at(7))
    assert_refused(
        family, UnknownEntry, lambda f: f.correct_entry(version, fix("note", "x"), "why", at(8))
    )
    assert_refused(family, UnknownEntry, lambda f: f.retract_entry(version, "why", at(8)))


def test_an_amendment_is_not_itself_amended() -> None:
    family, _, _ = separated_family()
    family.correct_entry(PLACED, fix("facility", CASA_PADRE_RIGHTLY), "contract name", at(7))
    assert_refused(
        family,
        InvalidAmendment,
        lambda f: f.correct_entry(7, fix("reason", "better reason"), "why", at(8)),
    )
    assert_refused(family, InvalidAmendment, lambda f: f.retract_entry(7, "undo", at(8)))


def test_an_entry_is_retracted_once_and_then_not_corrected() -> None:
    family, _, _ = separated_family()
    family.retract_entry(PLACED, "never placed", at(7))
    assert_refused(family, InvalidAmendment, lambda f: f.retract_entry(PLACED, "again", at(8)))
    assert_refused(
        family,
        InvalidAmendment,
        lambda f: f.correct_entry(PLACED, fix("facility", CASA_PADRE), "why", at(8)),
    )


def test_the_opening_of_a_case_is_not_retracted() -> None:
    family, _, _ = separated_family()
    assert_refused(family, InvalidAmendment, lambda f: f.retract_entry(1, "no such case", at(7)))


@pytest.mark.parametrize(
    ("version", "name", "value"),
    [
        (1, "case_number", "C-2"),
        (2, "person_id", uuid4()),
        (5, "child_id", uuid4()),
        (5, "originator_id", uuid4()),
        (5, "timestamp", at(1)),
        (5, "originator_version", 9),
    ],
)
def test_what_an_entry_is_about_is_not_corrected(version: int, name: str, value: object) -> None:
    family, _, _ = separated_family()
    assert_refused(
        family, InvalidAmendment, lambda f: f.correct_entry(version, fix(name, value), "x", at(7))
    )


@pytest.mark.parametrize(
    ("version", "name", "value"),
    [
        (PLACED, "no_such_field", "x"),
        (PLACED, "facility", "Casa Padre"),
        (PLACED, "facility", None),
        (PLACED, "program_type", "shelter"),
        (5, "parent_notified", 1),
        (5, "reason", SeparationReason.OTHER.value),
        (5, "place", None),
        (3, "age", True),
        (3, "age", "4"),
        (3, "birth_date", datetime(2014, 1, 1, tzinfo=T0.tzinfo)),
        (3, "name", "Beto"),
    ],
)
def test_a_correction_gives_a_field_only_a_value_of_its_type(
    version: int, name: str, value: object
) -> None:
    family, _, _ = separated_family()
    assert_refused(
        family, InvalidAmendment, lambda f: f.correct_entry(version, fix(name, value), "x", at(7))
    )


@pytest.mark.parametrize(
    ("version", "name", "value"),
    [
        (5, "note", None),
        (5, "note", "asthma"),
        (5, "parent_notified", True),
        (3, "age", 5),
        (3, "age", None),
        (3, "birth_date", date(2014, 1, 1)),
    ],
)
def test_a_correction_accepts_any_value_of_the_fields_type(
    version: int, name: str, value: object
) -> None:
    family, _, _ = separated_family()
    family.correct_entry(version, fix(name, value), "checked the file", at(7))
    assert family.amended_versions == {version: [7]}


def test_a_correction_changes_something_and_each_field_once() -> None:
    family, _, _ = separated_family()
    assert_refused(family, InvalidAmendment, lambda f: f.correct_entry(5, (), "x", at(7)))
    assert_refused(
        family,
        InvalidAmendment,
        lambda f: f.correct_entry(
            5, (FieldChange("note", "a"), FieldChange("note", "b")), "x", at(7)
        ),
    )


def test_an_amendment_gives_its_reason() -> None:
    family, _, _ = separated_family()
    assert_refused(
        family, InvalidValue, lambda f: f.correct_entry(5, fix("note", "a"), "  ", at(7))
    )
    assert_refused(family, InvalidValue, lambda f: f.retract_entry(5, "", at(7)))


def test_a_corrected_moment_is_a_sane_moment() -> None:
    family, _, _ = separated_family()
    assert_refused(
        family,
        TimeWithoutZone,
        lambda f: f.correct_entry(5, fix("occurred_at", datetime(2018, 5, 21)), "x", at(7)),
    )
    assert_refused(
        family,
        InTheFuture,
        lambda f: f.correct_entry(
            5, fix("occurred_at", datetime(2999, 1, 1, tzinfo=T0.tzinfo)), "x", at(7)
        ),
    )


def test_a_member_named_later_is_not_retracted() -> None:
    family, _, _ = separated_family()
    assert_refused(family, InvalidAmendment, lambda f: f.retract_entry(3, "no such child", at(7)))


def test_the_link_a_separation_rests_on_is_not_retracted() -> None:
    family, _, _ = separated_family()
    assert_refused(family, InvalidAmendment, lambda f: f.retract_entry(4, "not her son", at(7)))


def test_a_child_named_as_a_child_later_is_not_corrected_into_a_parent() -> None:
    family, _, _ = separated_family()
    assert_refused(
        family,
        InvalidAmendment,
        lambda f: f.correct_entry(3, fix("role", MemberRole.PARENT), "x", at(7)),
    )


def test_a_member_named_by_nothing_may_be_retracted() -> None:
    family, _, _ = separated_family()
    stranger = uuid4()
    family.add_member(adult(stranger), at(7))
    family.retract_entry(7, "added to the wrong case", at(8))
    assert stranger not in family.members
    assert stranger not in family.parents


@pytest.mark.parametrize(
    ("version", "name", "value"),
    [(1, "source", " "), (3, "age", -1)],
)
def test_a_correction_brings_in_nothing_a_command_would_refuse(
    version: int, name: str, value: object
) -> None:
    family, _, _ = separated_family()
    assert_refused(
        family, InvalidValue, lambda f: f.correct_entry(version, fix(name, value), "x", at(7))
    )


def test_exactly_corrections_and_retractions_say_they_amend() -> None:
    amending = {cls.__name__ for cls in family_events() if cls.amends}
    assert amending == {cls.__name__ for cls in family_events() if issubclass(cls, AMENDMENTS)}
    assert amending == {"EntryCorrected", "EntryRetracted"}
