"""Time travel on a real log: replay equals the read models, now and as they stood then."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.family import Family
from domain.values import Agency, Facility, FieldChange, Office, PersonName
from projections import timeline
from projections.case_queries import COURT_REPORT
from service.application.container import Container
from service.eventstore.codec import create_mapper
from service.eventstore.store import EventStore
from service.eventstore.typed_payloads import TYPED
from service.history.replay import CaseState, Point
from service.history.time_travel import TimeTravel
from tests.scenarios.database import reset
from tests.scenarios.family import CASEWORKER, SAN_YSIDRO, at, ctx, open_separated_family
from tests.scenarios.histories import family_histories

pytestmark = pytest.mark.integration

AGREE = settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
# Every case read model of one family.
READ_MODELS = {
    "family_summary": "SELECT * FROM family_summary WHERE family_id = $1",
    "family_members": "SELECT * FROM family_members WHERE family_id = $1",
    "child_case": "SELECT * FROM child_case WHERE family_id = $1",
    "parent_case": "SELECT * FROM parent_case WHERE family_id = $1",
    "care_stays": "SELECT * FROM care_stays WHERE family_id = $1",
    "parent_situations": "SELECT * FROM parent_situations WHERE family_id = $1",
    "data_quality_flags": "SELECT * FROM data_quality_flags WHERE family_id = $1",
}
TORNILLO = Facility("tornillo", "Tornillo", "TX")
ERO = Office("ero-sdc", "ICE ERO San Diego")


def travel(container: Container) -> TimeTravel:
    return TimeTravel(container.store, container.runner.projections["cases"])


Rows = dict[str, list[dict[str, Any]]]


def canonical(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows in one order whatever order a table or a fold gives them; arrays as lists (a
    fold's rows hold them as tuples)."""
    rows = [{k: list(v) if isinstance(v, tuple) else v for k, v in row.items()} for row in rows]
    return sorted(rows, key=lambda row: repr(sorted(row.items())))


async def read_models(container: Container, family_id: UUID) -> Rows:
    pool = container.database.pool
    return {
        name: canonical([dict(r) for r in await pool.fetch(sql, family_id)])
        for name, sql in READ_MODELS.items()
    }


def replayed(state: CaseState) -> Rows:
    rows = state.rows
    found = {
        "family_summary": [vars(state.summary)],
        "family_members": [vars(m) for m in rows.members],
        "child_case": state.children(),
        "parent_case": state.parents(),
        "care_stays": [asdict(s) for s in rows.stays],
        "parent_situations": [asdict(s) for s in rows.situations],
        "data_quality_flags": [asdict(f) for f in rows.flags],
    }
    return {name: canonical(found_rows) for name, found_rows in found.items()}


async def append(container: Container, family: Family, events: list[Any], after: int) -> datetime:
    """Append events as one command; the moment the last of them was recorded."""
    encoded = await container.store.encode_all(events)
    result = await container.store.append(family.id, after, encoded, CASEWORKER)
    return (await container.store.read_stream(family.id, result.version))[-1].recorded_at


async def fresh_log(container: Container, family: Family, cut: float) -> tuple[list[Any], int]:
    """An empty log; the family's events, and how many of them come before the cut."""
    await reset(container.database.pool)
    await container.runner.setup()
    events = list(family.collect_events())
    return events, max(1, round(len(events) * cut))


@AGREE
@given(family=family_histories(), cut=st.floats(0, 1))
async def test_replay_equals_the_read_models_now_and_as_they_stood_then(
    container: Container, family: Family, cut: float
) -> None:
    events, first = await fresh_log(container, family, cut)
    known_at = await append(container, family, events[:first], 0)
    await container.runner.catch_up()
    then = await read_models(container, family.id)
    if first < len(events):
        await append(container, family, events[first:], first)
        await container.runner.catch_up()

    at_then = await travel(container).case_at(family.id, Point(known_at))
    now = await travel(container).case_at(family.id, Point())

    assert at_then is not None and now is not None
    assert replayed(at_then) == then
    assert replayed(now) == await read_models(container, family.id)


@AGREE
@given(family=family_histories(), cut=st.floats(0, 1))
async def test_a_stream_begun_in_tagged_payloads_and_continued_typed_replays_exactly(
    container: Container, family: Family, cut: float
) -> None:
    # Rows written before typed payloads existed stay as they are; the stream goes on typed.
    events, first = await fresh_log(container, family, cut)
    before = EventStore(container.database.pool, create_mapper(typed=False))
    old = [before.encode(e) for e in events[:first]]
    await before.append(family.id, 0, old, CASEWORKER)
    if first < len(events):
        await append(container, family, events[first:], first)
    await container.runner.catch_up()

    stored = await container.store.read_stream(family.id)
    assert [r.payload.startswith(TYPED) for r in stored[:first]] == [False] * first
    assert [vars(container.store.decode(r)) for r in stored] == [vars(e) for e in events]
    now = await travel(container).case_at(family.id, Point())
    assert now is not None
    assert replayed(now) == await read_models(container, family.id)


async def database_now(container: Container) -> datetime:
    moment: datetime = await container.database.pool.fetchval("SELECT clock_timestamp()")
    return moment


async def live_report(container: Container, as_of: date) -> list[dict[str, Any]]:
    await container.runner.catch_up()
    rows = await container.database.pool.fetch(COURT_REPORT, as_of)
    return [dict(r) for r in rows]


async def test_the_court_report_as_known_then_reproduces_the_figures_given_then(
    container: Container,
) -> None:
    as_of = date(2018, 7, 26)
    family_id, mother, son, _ = await open_separated_family(container.commands)
    given_to_the_court = await live_report(container, as_of)
    known_at = await database_now(container)
    # Later: the boy was 6, not 4, and he had been reunified before the report's date.
    await container.commands.execute(
        family_id,
        lambda f: f.correct_entry(3, (FieldChange("age", 6),), "birth record", at(60)),
        ctx(),
    )
    await container.commands.execute(
        family_id, lambda f: f.reunify(son, mother, None, at(40)), ctx()
    )
    await open_separated_family(container.commands)

    then = [dict(r) for r in await travel(container).court_report(as_of, known_at)]
    corrected = await live_report(container, as_of)

    assert then == given_to_the_court
    assert [(r["age_band"], r["total"], r["in_care"], r["reunified"]) for r in then] == [
        ("0-4", 1, 1, 0)
    ]
    assert [(r["age_band"], r["total"], r["in_care"], r["reunified"]) for r in corrected] == [
        ("0-4", 1, 1, 0),
        ("5-17", 1, 0, 1),
    ]
    now = [
        dict(r) for r in await travel(container).court_report(as_of, await database_now(container))
    ]
    assert now == corrected


async def test_the_court_report_as_known_then_leaves_nothing_behind(container: Container) -> None:
    await open_separated_family(container.commands)
    before = await live_report(container, date(2018, 7, 26))
    path = await container.database.pool.fetchval("SHOW search_path")

    for _ in range(3):  # more often than the pool has idle connections to hand out
        await travel(container).court_report(date(2018, 7, 26), await database_now(container))

    pool = container.database.pool
    scratch = await pool.fetchval(
        "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname LIKE 'pg_temp%' AND c.relname = 'child_case'"
    )
    assert scratch == 0
    assert await live_report(container, date(2018, 7, 26)) == before
    assert await pool.fetchval("SHOW search_path") == path


async def test_a_family_unknown_or_not_yet_recorded_replays_to_nothing(
    container: Container,
) -> None:
    family_id, *_ = await open_separated_family(container.commands)
    [first] = await container.store.read_stream(family_id, 1)

    assert await travel(container).case_at(uuid4(), Point()) is None
    assert await travel(container).case_at(family_id, Point(first.recorded_at)) is not None
    earlier = Point(first.recorded_at - timedelta(microseconds=1))
    assert await travel(container).case_at(family_id, earlier) is None
    assert await travel(container).diff(uuid4(), Point(), Point()) is None


async def test_a_diff_between_two_recorded_moments_lists_the_correction(
    container: Container,
) -> None:
    family_id, _, son, _ = await open_separated_family(container.commands)
    placed = await database_now(container)
    await container.commands.execute(
        family_id,
        lambda f: f.correct_entry(6, (FieldChange("facility", TORNILLO),), "wrong shelter", at(5)),
        ctx(),
    )

    found = await travel(container).diff(family_id, Point(placed), Point())

    assert found is not None
    assert [(e.kind, e.recorded.version) for e in found.events] == [("EntryCorrected", 7)]
    [child] = found.members
    assert child.person_id == son
    assert {c.field: (c.before, c.after) for c in child.changes} == {
        "facility_id": ("casa-padre", "tornillo"),
        "facility_name": ("Casa Padre", "Tornillo"),
        "stays": (
            ["Casa Padre (shelter): 2018-05-23 to open"],
            ["Tornillo (shelter): 2018-05-23 to open"],
        ),
    }


async def test_the_timeline_filter_finds_a_members_entries_their_corrections_and_flags(
    container: Container,
) -> None:
    family_id, mother, son, _ = await open_separated_family(container.commands)
    commands = container.commands
    await commands.execute(
        family_id,
        lambda f: f.apprehend((mother, son), SAN_YSIDRO, Agency.BORDER_PATROL, at(2)),
        ctx(),
    )
    await commands.execute(  # 8: before the apprehension, kept and flagged (9)
        family_id, lambda f: f.refer_child(son, ERO, 10, at(1.5), historical=True), ctx()
    )
    await commands.execute(  # 10: a correction of the mother's entry
        family_id,
        lambda f: f.correct_entry(
            2, (FieldChange("name", PersonName("Ana María")),), "id card", at(3)
        ),
        ctx(),
    )
    await container.runner.catch_up()
    pool = container.database.pool

    async def versions(person: UUID | None = None, types: list[str] | None = None) -> list[int]:
        rows = await timeline.page(pool, family_id, 0, 100, person, types)
        return [r["version"] for r in rows]

    assert await versions(son) == [3, 4, 5, 6, 7, 8, 9]
    assert await versions(mother) == [2, 4, 5, 7, 10]
    assert await versions(types=["DataQualityFlagged", "EntryCorrected"]) == [9, 10]
    assert await versions(son, ["ChildReferred"]) == [8]
    assert await versions(uuid4()) == []
