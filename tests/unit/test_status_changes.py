"""The status changes subscribers follow: each one dated where the log caused it."""

from __future__ import annotations

from domain.values import LocationOutcome
from projections.case_fold import case_rows
from projections.projection import effective_envelopes
from tests.scenarios.events import stream
from tests.scenarios.family import at, reunified_family, separated_family

# In reunified_family: 5 separated, 6 placed, 7 reunified.
REUNIFIED = 7


def test_each_status_a_child_passes_through_is_one_change_at_its_event() -> None:
    family, _, son = reunified_family()
    rows = case_rows(stream(family), effective_envelopes)
    assert [(c.position, c.from_status, c.to_status) for c in rows.status_changes] == [
        (3, None, "with_family"),
        (5, "with_family", "separated"),
        (6, "separated", "in_care"),
        (7, "in_care", "reunified"),
    ]
    assert {c.child_id for c in rows.status_changes} == {son}


def test_a_retraction_that_reverts_a_status_is_a_change_at_the_retraction() -> None:
    family, _, son = reunified_family()
    family.retract_entry(REUNIFIED, "reunification entered on the wrong case", at(41))
    rows = case_rows(stream(family), effective_envelopes)
    assert rows.children[son.int].status == "in_care"
    # The retracted reunification no longer counts; the reversal is heard where it was made.
    assert [(c.position, c.from_status, c.to_status) for c in rows.status_changes][-2:] == [
        (6, "separated", "in_care"),
        (8, "reunified", "in_care"),
    ]


def test_a_retraction_that_changes_no_status_adds_no_change() -> None:
    family, mother, _ = separated_family()
    family.attempt_location(mother, "phone", LocationOutcome.NOT_FOUND, "counsel", at(5))
    family.retract_entry(7, "entered twice", at(6))
    rows = case_rows(stream(family), effective_envelopes)
    assert [c.position for c in rows.status_changes] == [3, 5, 6]
