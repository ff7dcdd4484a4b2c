"""Replaying a family to a point on two clocks: what counts, and what the case said then."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from domain.corrections import effective_history
from domain.events import EntryCorrected
from domain.family import Family
from domain.values import CustodyKind, Facility, FieldChange, ProgramType
from projections.case_rows import day
from projections.projection import Envelope, effective_envelopes
from service.history.replay import Point, diff, happened_by, known_by, replay, steps
from tests.scenarios.events import recorded, stream
from tests.scenarios.family import at, separated_family
from tests.scenarios.histories import PROPERTY, family_histories

# In separated_family: 1 opened, 2 Ana, 3 Beto, 4 linked, 5 separated at(1), 6 placed at(3).
PLACED = 6
TORNILLO = Facility("tornillo", "Tornillo", "TX")
PORT_ISABEL = Facility("port-isabel", "Port Isabel Detention Center", "TX")
EAST = timezone(timedelta(hours=13, minutes=45))


def child_status(family: Family, point: Point) -> tuple[str, str | None]:
    state = replay(stream(family), point)
    assert state is not None
    [child] = state.children()
    return child["status"], child["facility_name"]


def test_the_recorded_clock_counts_what_had_been_recorded_and_its_corrections_only() -> None:
    family, mother, son = separated_family()
    family.correct_entry(PLACED, (FieldChange("facility", TORNILLO),), "wrong shelter", at(4))
    family.reunify(son, mother, None, at(30))

    assert child_status(family, Point(recorded(PLACED))) == ("in_care", "Casa Padre")
    assert child_status(family, Point(recorded(7))) == ("in_care", "Tornillo")
    assert child_status(family, Point()) == ("reunified", None)
    assert replay(stream(family), Point(recorded(1) - timedelta(seconds=1))) is None


def test_an_event_recorded_later_never_counts_even_if_a_clock_stepped_back() -> None:
    family, _, _ = separated_family()
    history = stream(family)
    skewed = history[5].recorded._replace(recorded_at=recorded(2))
    history[5] = Envelope(skewed, history[5].event)

    assert [e.recorded.version for e in known_by(history, recorded(3))] == [1, 2, 3]


def test_the_world_clock_applies_every_correction_and_leaves_out_what_happened_later() -> None:
    family, mother, son = separated_family()
    family.correct_entry(PLACED, (FieldChange("occurred_at", at(10)),), "placed later", at(12))
    family.reunify(son, mother, None, at(30))
    day = at(0).date()

    assert child_status(family, Point(on=day)) == ("with_family", None)
    assert child_status(family, Point(on=day + timedelta(days=3))) == ("separated", None)
    assert child_status(family, Point(on=day + timedelta(days=10))) == ("in_care", "Casa Padre")
    assert child_status(family, Point(on=day + timedelta(days=30))) == ("reunified", None)


def test_both_clocks_give_the_world_on_a_date_as_it_was_known_at_a_moment() -> None:
    family, _, _ = separated_family()
    family.correct_entry(PLACED, (FieldChange("occurred_at", at(10)),), "placed later", at(12))
    on = at(5).date()

    assert child_status(family, Point(recorded(PLACED), on)) == ("in_care", "Casa Padre")
    assert child_status(family, Point(None, on)) == ("separated", None)


def test_who_the_case_is_about_counts_on_any_date_and_an_undated_event_on_none() -> None:
    family, mother, son = separated_family()
    family.reunify(son, mother, None, None, historical=True)
    long_before = date(2000, 1, 1)

    state = replay(stream(family), Point(on=long_before))
    assert state is not None
    assert state.summary.case_number == "C-1" and len(state.rows.members) == 2
    assert child_status(family, Point(on=date(2030, 1, 1))) == ("in_care", "Casa Padre")
    assert child_status(family, Point()) == ("reunified", None)


def test_replay_folds_the_rows_the_read_models_hold() -> None:
    family, mother, _ = separated_family()
    state = replay(stream(family), Point())
    assert state is not None
    [child] = state.children()
    [parent] = state.parents()
    assert child["separated_from"] == mother and child["age_band"] == "0-4"
    assert child["placed_at"] == at(3).date() and child["parent_situation"] == "location_unknown"
    assert parent["parent_id"] == mother and parent["situation"] == "location_unknown"
    assert (state.summary.status, state.summary.version) == ("separated", PLACED)


def test_a_diff_names_each_changed_field_and_the_events_in_between() -> None:
    family, _, son = separated_family()
    family.transfer_child(son, TORNILLO, ProgramType.SHELTER, at(8))
    history = stream(family)

    found = diff(history, Point(recorded(5)), Point(recorded(7)))

    assert [e.recorded.version for e in found.events] == [6, 7] and found.withdrawn == []
    [child] = found.members
    changes = {c.field: (c.before, c.after) for c in child.changes}
    assert child.person_id == son and child.present_before and child.present_after
    assert changes["status"] == ("separated", "in_care")
    assert changes["facility_name"] == (None, "Tornillo")
    assert changes["placed_at"] == (None, at(3).date())
    assert {c.field: (c.before, c.after) for c in found.case}["version"] == (5, 7)


def test_a_diff_backwards_withdraws_the_events_and_a_new_member_has_no_before() -> None:
    family, _, _ = separated_family()
    history = stream(family)

    found = diff(history, Point(recorded(6)), Point(recorded(2)))
    assert [e.recorded.version for e in found.withdrawn] == [3, 4, 5, 6] and found.events == []
    [son] = diff(history, Point(recorded(2)), Point(recorded(3))).members
    assert (son.present_before, son.present_after) == (False, True)
    assert {c.field for c in son.changes} >= {"name", "status", "age"}


def test_a_correction_moving_a_date_out_of_the_window_withdraws_the_event() -> None:
    family, _, _ = separated_family()
    family.correct_entry(PLACED, (FieldChange("occurred_at", at(10)),), "placed later", at(12))
    on = at(5).date()

    found = diff(stream(family), Point(recorded(PLACED), on), Point(None, on))

    assert [e.recorded.version for e in found.withdrawn] == [PLACED]
    assert [c.after for c in found.members[0].changes if c.field == "status"] == ["separated"]


def test_each_step_shows_the_case_just_after_it_and_a_correction_refolds_the_past() -> None:
    family, _, son = separated_family()
    family.correct_entry(PLACED, (FieldChange("facility", TORNILLO),), "wrong shelter", at(4))

    replayed = steps(stream(family), Point())

    assert [s.envelope.recorded.version for s in replayed] == list(range(1, 8))
    assert [s.rows.children[son.int].facility_name for s in replayed[5:]] == [
        "Casa Padre",
        "Tornillo",
    ]
    assert replayed[2].rows.children[son.int].status == "with_family"


def test_a_diff_names_a_childs_care_stays_a_corrected_transfer_date_moved() -> None:
    family, _, son = separated_family()
    family.transfer_child(son, TORNILLO, ProgramType.SHELTER, at(8))
    family.correct_entry(PLACED + 1, (FieldChange("occurred_at", at(9)),), "moved later", at(10))

    found = diff(stream(family), Point(recorded(PLACED + 1)), Point())

    [child] = found.members
    assert child.person_id == son
    assert [(c.field, c.before, c.after) for c in child.changes] == [
        (
            "stays",
            [
                "Casa Padre (shelter): 2018-05-23 to 2018-05-28",
                "Tornillo (shelter): 2018-05-28 to open",
            ],
            [
                "Casa Padre (shelter): 2018-05-23 to 2018-05-29",
                "Tornillo (shelter): 2018-05-29 to open",
            ],
        )
    ]


def test_a_diff_names_a_parents_situations_a_corrected_detention_date_moved() -> None:
    family, mother, _ = separated_family()
    family.detain_parent(mother, PORT_ISABEL, CustodyKind.ICE, at(2))
    family.correct_entry(PLACED + 1, (FieldChange("occurred_at", at(4)),), "held later", at(5))

    found = diff(stream(family), Point(recorded(PLACED + 1)), Point())

    [parent] = found.members
    assert parent.person_id == mother
    assert [(c.field, c.before, c.after) for c in parent.changes] == [
        (
            "situations",
            [
                "location_unknown for Beto: the start to 2018-05-22",
                "ice_custody for Beto: 2018-05-22 to open",
            ],
            [
                "location_unknown for Beto: the start to 2018-05-24",
                "ice_custody for Beto: 2018-05-24 to open",
            ],
        )
    ]


def test_on_a_date_a_corrected_step_keeps_its_own_row_and_version_order() -> None:
    family, _, son = separated_family()
    family.correct_entry(PLACED, (FieldChange("facility", TORNILLO),), "wrong shelter", at(4))

    replayed = steps(stream(family), Point(on=at(5).date()))

    assert [s.envelope.recorded.version for s in replayed] == list(range(1, PLACED + 1))
    placed = replayed[PLACED - 1]
    assert placed.envelope.recorded.occurred_at == at(3)
    assert placed.envelope.event.facility == TORNILLO
    assert placed.rows.children[son.int].facility_name == "Tornillo"


@given(family_histories())
@PROPERTY
def test_the_effective_envelopes_are_the_domains_effective_history_where_it_took_effect(
    family: Family,
) -> None:
    history = stream(family)
    effective = effective_envelopes(history)
    assert [e.event for e in effective] == effective_history(family.history)
    latest_correction = {
        e.event.version: e.recorded for e in history if isinstance(e.event, EntryCorrected)
    }
    for envelope in effective:
        version = envelope.event.originator_version
        original = history[version - 1]
        if envelope.event is original.event:
            assert envelope is original
        else:  # corrected: dated where its latest correction stands
            assert envelope.recorded is latest_correction[version]


@given(
    st.datetimes(timezones=st.sampled_from([UTC, timezone(timedelta(hours=-7)), EAST])),
    st.dates(min_value=date(2000, 1, 2), max_value=date(2099, 12, 30)),
)
def test_an_event_counts_on_a_date_when_its_utc_day_is_that_day_or_before(
    moment: datetime, on: date
) -> None:
    family, _, _ = separated_family()
    history = stream(family)
    placed, opened = history[PLACED - 1], history[0]
    event = dataclasses.replace(placed.event, occurred_at=moment)
    undated = dataclasses.replace(placed.event, occurred_at=None)
    counts = happened_by([placed._replace(event=event), placed._replace(event=undated), opened], on)
    when = day(moment)
    in_time = when is not None and when <= on
    assert [e.event for e in counts] == [event] * in_time + [opened.event]
