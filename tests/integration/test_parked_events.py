"""Poison events: a read model parks the family it cannot apply, and only that family."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID, uuid4

import pytest

from domain.family import Family, Member
from domain.values import Evidence, FieldChange, MemberRole, PersonName, RelationshipKind, Sex
from projections.catalog import all_projections
from projections.parking import parked_streams
from projections.projection import Decode
from projections.rebuild import Rebuilder
from projections.retry import retry
from projections.runner import ProjectionRunner
from schema.build import create_schema
from service.access.auth import Role
from service.application.container import Container
from service.entrypoints import cli
from service.eventstore.codec import create_mapper
from service.eventstore.records import NewEvent, RecordedEvent
from service.eventstore.store import EventStore
from tests.scenarios.family import CASEWORKER, T0, at, ctx, open_separated_family
from tests.scenarios.graphql import context

pytestmark = pytest.mark.integration

# A class this code does not know yet: a later version will (see `knowing`).
FUTURE_TOPIC = "domain.events:ChildAdmitted"
PROJECTIONS = ("cases", "timeline")


def knowing(decode: Decode, topic: str, as_topic: str) -> Decode:
    """A later version of the decoder, which reads `topic` as the class at `as_topic`."""

    def upgraded(r: RecordedEvent) -> Any:
        return decode(r._replace(topic=as_topic) if r.topic == topic else r)

    return upgraded


def opened(family_id: UUID, mother_name: str = "Ana") -> tuple[Family, UUID, UUID]:
    family = Family(id=family_id, occurred_at=T0, case_number="C-9", source="test")
    mother, son = uuid4(), uuid4()
    family.add_member(Member(mother, MemberRole.PARENT, PersonName(mother_name), Sex.FEMALE), T0)
    return family, mother, son


async def pending(container: Container, family: Family) -> list[NewEvent]:
    return await container.store.encode_all(family.collect_events())


async def record_with_a_future_event(container: Container) -> tuple[UUID, NewEvent]:
    """Ana's case, her son added as an event of a class a later version defines, then
    their link recorded: versions 1 and 2 known, 3 unknown, 4 known."""
    family_id = uuid4()
    family, mother, son = opened(family_id)
    await container.store.append(family_id, 0, await pending(container, family), CASEWORKER)
    family.add_member(Member(son, MemberRole.CHILD, PersonName("Beto"), Sex.MALE, age=4), T0)
    (added,) = await pending(container, family)
    future = NewEvent(FUTURE_TOPIC, added.payload, added.occurred_at)
    await container.store.append(family_id, 2, [future], CASEWORKER)
    family.record_relationship(mother, son, RelationshipKind.MOTHER, Evidence.CLAIMED, T0)
    await container.store.append(family_id, 3, await pending(container, family), CASEWORKER)
    return family_id, added


async def parked(container: Container) -> dict[tuple[str, UUID], list[tuple[int, bool]]]:
    """(projection, family) -> [(version, failed)] of every parked event, in order."""
    rows = await container.database.pool.fetch(
        "SELECT projection, stream_id, version, error IS NOT NULL AS failed FROM parked_events"
        " ORDER BY projection, stream_id, transaction_id, position"
    )
    found: dict[tuple[str, UUID], list[tuple[int, bool]]] = {}
    for r in rows:
        found.setdefault((r["projection"], r["stream_id"]), []).append((r["version"], r["failed"]))
    return found


async def timeline_versions(container: Container, family_id: UUID) -> list[int]:
    rows = await container.database.pool.fetch(
        "SELECT version FROM timeline WHERE family_id = $1 ORDER BY version", family_id
    )
    return [r["version"] for r in rows]


async def summary_version(container: Container, family_id: UUID) -> int | None:
    version: int | None = await container.database.pool.fetchval(
        "SELECT version FROM family_summary WHERE family_id = $1", family_id
    )
    return version


async def test_an_event_of_an_unknown_class_parks_only_its_family_in_each_read_model(
    container: Container,
) -> None:
    before, *_ = await open_separated_family(container.commands)
    poisoned, _ = await record_with_a_future_event(container)
    after, *_ = await open_separated_family(container.commands)

    await container.runner.catch_up()

    assert await parked(container) == {
        (name, poisoned): [(3, True), (4, False)] for name in PROJECTIONS
    }
    for family_id in (before, after):
        assert await timeline_versions(container, family_id) == [1, 2, 3, 4, 5, 6]
        assert await summary_version(container, family_id) == 6
    assert await timeline_versions(container, poisoned) == [1, 2]
    assert await summary_version(container, poisoned) == 2
    head = await container.store.committed_head()
    for status in await container.runner.status():
        # Past the parked events, each applied once: 16 events, 2 of them parked.
        assert await container.runner.checkpoint(status.name) == head
        assert (status.events_applied, status.lag) == (14, 0)
        assert (status.parked.events, status.parked.streams) == (2, 1)
        assert status.parked.last_error is not None and FUTURE_TOPIC in status.parked.last_error
    assert await container.runner.caught_up_to(head.position)  # reads are fresh, not frozen


async def test_a_later_version_that_knows_the_class_applies_the_parked_family_in_order(
    container: Container,
) -> None:
    poisoned, added = await record_with_a_future_event(container)
    other, *_ = await open_separated_family(container.commands)
    await container.runner.catch_up()

    store = container.store
    store.decode = knowing(store.decode, FUTURE_TOPIC, added.topic)
    upgraded = ProjectionRunner(container.database.pool, store, all_projections(store))
    retried = await retry(upgraded, poisoned)

    assert sorted((r.projection, r.applied, r.still_parked) for r in retried) == [
        ("cases", 2, 0),
        ("timeline", 2, 0),
    ]
    assert await parked(container) == {}
    assert await timeline_versions(container, poisoned) == [1, 2, 3, 4]
    assert await summary_version(container, poisoned) == 4
    for status in await upgraded.status():
        assert (status.events_applied, status.parked.events) == (10, 0)
    # Exactly once: what retrying built equals a replay of the whole log by the new version.
    live = await container.database.pool.fetch("SELECT * FROM timeline ORDER BY position")
    await Rebuilder(upgraded, "timeline").run()
    assert await container.database.pool.fetch("SELECT * FROM timeline ORDER BY position") == live
    assert await summary_version(container, other) == 6


async def record_with_a_nul(container: Container) -> tuple[UUID, UUID]:
    """Ana's case, her name stored with a NUL as today's mutations let through (JSON bytes,
    appended by the store), then her son added and linked: versions 3 and 4 come after."""
    family_id = uuid4()
    family, mother, son = opened(family_id, "Ana QQQ")
    # Written clear, as before personal data was sealed (a sealed name holds no bytes to poison).
    clear = EventStore(container.database.pool, create_mapper())
    events = [clear.encode(e) for e in family.collect_events()]
    assert b"QQQ" in events[1].payload
    added = events[1]
    events[1] = NewEvent(added.topic, added.payload.replace(b"QQQ", b"\\u0000"), added.occurred_at)
    await container.store.append(family_id, 0, events, CASEWORKER)
    family.add_member(Member(son, MemberRole.CHILD, PersonName("Beto"), Sex.MALE, age=4), T0)
    family.record_relationship(mother, son, RelationshipKind.MOTHER, Evidence.CLAIMED, T0)
    await container.store.append(family_id, 2, await pending(container, family), CASEWORKER)
    return family_id, mother


async def test_a_name_stored_with_a_nul_parks_its_family_instead_of_freezing_the_read_side(
    container: Container,
) -> None:
    poisoned, _ = await record_with_a_nul(container)
    other, *_ = await open_separated_family(container.commands)
    stop = asyncio.Event()
    task = asyncio.create_task(container.runner.run(stop, idle_poll=0.05))
    try:
        later, *_, result = await open_separated_family(container.commands)
        assert await container.runner.wait_for(result.last_position, within=10)
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)

    assert container.runner.failure is None  # parked, not failing
    assert await parked(container) == {
        (name, poisoned): [(2, True), (3, False), (4, False)] for name in PROJECTIONS
    }
    for family_id in (other, later):
        assert await summary_version(container, family_id) == 6
    status = {s.name: s.parked for s in await container.runner.status()}
    for name in PROJECTIONS:
        assert "0x00" in str(status[name].last_error)
    # A rebuild meets it again, parks it again, and completes.
    assert await Rebuilder(container.runner, "cases").run() == 12 + 1
    assert (await parked(container))[("cases", poisoned)] == [(2, True), (3, False), (4, False)]


async def test_a_correction_of_the_name_lets_the_case_read_model_apply_the_family_again(
    container: Container,
) -> None:
    poisoned, mother = await record_with_a_nul(container)
    await container.runner.catch_up()
    await container.commands.execute(
        poisoned,
        lambda f: f.correct_entry(
            2, (FieldChange("name", PersonName("Ana")),), "a stray byte", at(1)
        ),
        ctx(),
    )
    await container.runner.catch_up()
    assert (await parked(container))[("cases", poisoned)][-1] == (5, False)  # waits too

    retried = {r.projection: r for r in await retry(container.runner)}

    assert (retried["cases"].applied, retried["cases"].still_parked) == (4, 0)
    # The timeline keeps each entry as recorded, the NUL included: it waits for a version
    # that can show it, still parked, still saying why.
    assert (retried["timeline"].applied, retried["timeline"].still_parked) == (0, 4)
    assert retried["timeline"].error is not None and "0x00" in retried["timeline"].error
    assert set(await parked(container)) == {("timeline", poisoned)}
    name = await container.database.pool.fetchval(
        "SELECT name FROM family_members WHERE person_id = $1", mother
    )
    assert name == "Ana" and await summary_version(container, poisoned) == 5


FAMILY = """query($id: UUID!) { family(id: $id) {
  version stale parkedSince staleReadModels } }"""
PARENT = """query($id: UUID!) { parent(id: $id) { stale } }"""
STATUS = """{ projectionStatus {
  name eventsApplied parkedEvents parkedStreams lastFailure lastFailureAt failing } }"""


async def test_the_api_says_which_cases_are_stale_and_why_a_read_model_parked(
    container: Container,
) -> None:
    poisoned, _ = await record_with_a_future_event(container)
    fine, fine_mother, *_ = await open_separated_family(container.commands)
    await container.runner.catch_up()
    schema = create_schema()
    mother = await container.database.pool.fetchval(
        "SELECT parent_id FROM parent_case WHERE family_id = $1", poisoned
    )
    for parent_id, stale in ((mother, True), (fine_mother, False)):  # as her case says
        result = await schema.execute(
            PARENT, {"id": str(parent_id)}, context_value=context(container, Role.CASEWORKER)
        )
        assert result.errors is None and result.data is not None
        assert result.data["parent"]["stale"] is stale

    for family_id, stale in ((poisoned, True), (fine, False)):
        result = await schema.execute(
            FAMILY, {"id": str(family_id)}, context_value=context(container, Role.CASEWORKER)
        )
        assert result.errors is None and result.data is not None
        family = result.data["family"]
        assert family["stale"] is stale
        assert (family["parkedSince"] is not None) is stale
        assert family["staleReadModels"] == (list(PROJECTIONS) if stale else [])
    result = await schema.execute(STATUS, context_value=context(container, Role.ADMIN))
    assert result.errors is None and result.data is not None
    for state in result.data["projectionStatus"]:
        assert (state["parkedEvents"], state["parkedStreams"]) == (2, 1)
        assert FUTURE_TOPIC in state["lastFailure"] and state["lastFailureAt"] is not None
        assert state["failing"] is None


def run_cli(args: list[str], url: str, monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setenv("DATABASE_URL", url)
    return cli.main(args)


async def test_an_operator_lists_parked_families_and_retries_them_from_the_command_line(
    container: Container,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    poisoned, _ = await record_with_a_future_event(container)
    await container.runner.catch_up()
    loop = asyncio.get_running_loop()

    async def reunite(*args: str) -> tuple[int, str]:
        code = await loop.run_in_executor(None, run_cli, list(args), database_url, monkeypatch)
        return code, capsys.readouterr().out

    code, out = await reunite("projections", "status")
    failing = [line.split()[0] for line in out.splitlines() if FUTURE_TOPIC in line]
    assert code == 0 and sorted(failing) == list(PROJECTIONS)
    code, out = await reunite("projections", "parked")
    assert code == 0
    assert f"cases family {poisoned}" in out and f"timeline family {poisoned}" in out
    assert "at version 3" in out and "2 event(s) waiting" in out
    # This version still cannot read the class: nothing changes, and the exit status says so.
    code, out = await reunite("projections", "retry", str(poisoned))
    assert code == 1 and "0 applied, 2 still parked" in out
    assert len(await parked_streams(container.database.pool)) == 2
    code, out = await reunite("projections", "retry", str(uuid4()))
    assert code == 0 and "nothing parked" in out


async def test_the_runner_listens_again_after_its_connection_is_terminated(
    container: Container,
) -> None:
    runner = container.runner
    stop = asyncio.Event()
    # A long idle poll: only NOTIFY can bring the new events in time.
    task = asyncio.create_task(runner.run(stop, idle_poll=60))
    try:
        for _ in range(200):
            if runner.listening.connected:
                break
            await asyncio.sleep(0.01)
        first = runner.listening
        assert first.connected and first.since is not None
        pool = container.database.pool
        terminated = await pool.fetchval(
            "SELECT bool_or(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND query LIKE 'LISTEN%reunite_events%'"
        )
        assert terminated
        for _ in range(500):
            state = runner.listening
            if state.connected and state.since != first.since:
                break
            await asyncio.sleep(0.01)
        assert runner.listening.connected and runner.listening.since != first.since
        *_, result = await open_separated_family(container.commands)
        assert await runner.wait_for(result.last_position, within=5)
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
    assert not runner.listening.connected
    assert await runner.checkpoint("timeline") == await container.store.committed_head()
