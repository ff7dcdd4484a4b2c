"""The projection runner: replayable, exactly-once, resumable, rebuildable without downtime."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Any
from uuid import uuid4

import pytest

from projections.cases import CasesProjection
from projections.catalog import all_projections
from projections.projection import Envelope, Projection
from projections.rebuild import Rebuilder
from projections.runner import CheckpointMoved, ProjectionRunner
from service.application.container import Container
from service.eventstore.provenance import Provenance
from service.eventstore.records import Connection, LogPosition, NewEvent
from service.ledger.verify import place
from tests.scenarios.family import open_separated_family
from tests.scenarios.ledger import settled

WRITER = Provenance(actor="importer", role="importer", source="test")

pytestmark = pytest.mark.integration

SNAPSHOT = {
    "family_summary": "SELECT * FROM family_summary ORDER BY family_id",
    "child_case": "SELECT * FROM child_case ORDER BY child_id",
    "parent_case": "SELECT * FROM parent_case ORDER BY parent_id",
    "care_stays": "SELECT * FROM care_stays ORDER BY child_id, start_date",
    "parent_situations": "SELECT * FROM parent_situations ORDER BY parent_id, start_date",
    "family_members": "SELECT * FROM family_members ORDER BY person_id",
    "timeline": "SELECT * FROM timeline ORDER BY position",
}


class Wrapping:
    """A projection that is another one; a test's subclass changes what apply does."""

    def __init__(self, inner: Projection) -> None:
        self.inner = inner
        self.name, self.tables, self.ddl = inner.name, inner.tables, inner.ddl
        self.version = inner.version

    async def apply(self, conn: Connection, batch: Sequence[Envelope]) -> None:
        await self.inner.apply(conn, batch)


async def snapshot(container: Container) -> dict[str, list[dict[str, Any]]]:
    pool = container.database.pool
    return {name: [dict(r) for r in await pool.fetch(sql)] for name, sql in SNAPSHOT.items()}


async def record_families(container: Container, count: int) -> None:
    for _ in range(count):
        await open_separated_family(container.commands)


async def test_replaying_from_zero_twice_gives_identical_rows(container: Container) -> None:
    await record_families(container, 5)
    await container.runner.catch_up()
    first = await snapshot(container)
    assert len(first["timeline"]) == 5 * 6 and len(first["family_summary"]) == 5

    for projection in container.runner.projections:
        assert await Rebuilder(container.runner, projection).run() == 30
    assert await snapshot(container) == first


async def test_small_batches_and_one_big_batch_agree(container: Container) -> None:
    await record_families(container, 4)
    await container.runner.catch_up()
    whole = await snapshot(container)
    small = ProjectionRunner(
        container.database.pool, container.store, all_projections(container.store), batch_size=1
    )
    for projection in small.projections:
        await Rebuilder(small, projection).run()
    assert await snapshot(container) == whole


async def test_cancelled_runner_resumes_without_loss_or_duplicates(container: Container) -> None:
    await record_families(container, 20)
    interrupted = asyncio.Event()

    class Interrupting(Wrapping):
        """The timeline, whose fourth batch is cancelled once its rows are written: the
        cancellation lands on the runner's next await, saving the checkpoint, and the
        batch's one transaction must take rows and checkpoint back together."""

        batches = 0

        async def apply(self, conn: Connection, batch: Sequence[Envelope]) -> None:
            await self.inner.apply(conn, batch)
            self.batches += 1
            if self.batches == 4:
                interrupted.set()
                current = asyncio.current_task()
                assert current is not None
                current.cancel()

    projections = [
        Interrupting(p) if p.name == "timeline" else p for p in all_projections(container.store)
    ]
    runner = ProjectionRunner(container.database.pool, container.store, projections, batch_size=7)
    task = asyncio.create_task(runner.run(asyncio.Event()))
    await asyncio.wait_for(interrupted.wait(), timeout=30)
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.wait_for(task, timeout=30)
    pool = container.database.pool
    applied = await pool.fetchval(
        "SELECT events_applied FROM projection_checkpoints WHERE name = 'timeline'"
    )
    assert applied == await pool.fetchval("SELECT count(*) FROM timeline") == 3 * 7

    await runner.catch_up()
    rows = await snapshot(container)
    assert [r["version"] for r in rows["timeline"]].count(1) == 20
    assert len(rows["timeline"]) == 120 == len({r["position"] for r in rows["timeline"]})
    assert {r["status"] for r in rows["family_summary"]} == {"separated"}


async def test_running_runner_picks_up_new_events_through_notify(container: Container) -> None:
    stop = asyncio.Event()
    # A long idle poll proves the wake-up came from NOTIFY, not from polling.
    task = asyncio.create_task(container.runner.run(stop, idle_poll=60))
    try:
        await asyncio.sleep(0.2)
        _, _, _, result = await open_separated_family(container.commands)
        assert await container.runner.wait_for(result.last_position, within=10)
    finally:
        stop.set()
        await task
    status = {s.name: s for s in await container.runner.status()}
    assert status["timeline"].lag == 0 and status["timeline"].position == result.last_position


async def test_rebuild_swaps_in_while_the_live_runner_keeps_going(container: Container) -> None:
    await record_families(container, 3)
    stop = asyncio.Event()
    live = asyncio.create_task(container.runner.run(stop, idle_poll=0.05))
    try:
        writer = asyncio.create_task(record_families(container, 5))
        await Rebuilder(container.runner, "timeline").run()
        await writer
        head = await container.store.head()
        assert await container.runner.wait_for(head, within=10)
    finally:
        stop.set()
        await live
    rows = await snapshot(container)
    assert len(rows["timeline"]) == 8 * 6 == len({r["position"] for r in rows["timeline"]})
    schemas = await container.database.pool.fetchval(
        "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'rebuild_%'"
    )
    assert schemas == 0


async def test_an_event_the_runner_cannot_apply_is_parked_and_never_ends_it(
    container: Container,
) -> None:
    unknown = NewEvent("domain.future:Family.SomethingNew", b"{}", None)
    await container.store.append(uuid4(), 0, [unknown], WRITER)
    stop = asyncio.Event()
    task = asyncio.create_task(container.runner.run(stop, idle_poll=0.01))
    try:
        _, _, _, result = await open_separated_family(container.commands)
        assert await container.runner.wait_for(result.last_position, within=10)
        assert not task.done() and container.runner.failure is None
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)
    status = {s.name: (s.lag, s.parked.events) for s in await container.runner.status()}
    assert status == {"cases": (0, 1), "timeline": (0, 1)}  # parked, not skipped


async def test_a_projection_that_fails_parks_only_the_bad_events_family_and_only_for_itself(
    container: Container,
) -> None:
    await record_families(container, 3)
    await container.runner.catch_up()  # so every event is readable (none withheld) below
    log = await container.store.read_log(LogPosition(), 1000)
    bad = log[10]

    class Picky(Wrapping):
        """The timeline, but a bug makes it fail on one event."""

        async def apply(self, conn: Connection, batch: Sequence[Envelope]) -> None:
            if any(e.recorded.position == bad.position for e in batch):
                raise RuntimeError(f"cannot summarise position {bad.position}")
            await self.inner.apply(conn, batch)

    projections = [
        Picky(p) if p.name == "timeline" else p for p in all_projections(container.store)
    ]
    runner = ProjectionRunner(container.database.pool, container.store, projections)
    for projection in runner.projections:
        await Rebuilder(runner, projection).run()

    assert await runner.checkpoint("cases") == await runner.checkpoint("timeline") == place(log[-1])
    assert not runner.troubled
    parked = await container.database.pool.fetch(
        "SELECT projection, position, error FROM parked_events ORDER BY position"
    )
    waiting = [e.position for e in log if e.stream_id == bad.stream_id and e.version > bad.version]
    assert [(r["projection"], r["position"]) for r in parked] == [
        ("timeline", p) for p in [bad.position, *waiting]
    ]
    assert f"position {bad.position}" in parked[0]["error"]
    timeline = await container.database.pool.fetchval("SELECT count(*) FROM timeline")
    assert timeline == len(log) - len(parked)


async def test_projections_catch_up_side_by_side(container: Container) -> None:
    # One projection waiting (on the database, say) must not hold back the others.
    await record_families(container, 3)
    end = await container.store.committed_head()
    gate = asyncio.Event()

    class Gated(Wrapping):
        """The timeline, whose batches wait for the gate to open."""

        async def apply(self, conn: Connection, batch: Sequence[Envelope]) -> None:
            await gate.wait()
            await self.inner.apply(conn, batch)

    gated = [Gated(p) for p in all_projections(container.store) if p.name == "timeline"]
    others = [p for p in all_projections(container.store) if p.name != "timeline"]
    runner = ProjectionRunner(container.database.pool, container.store, [*gated, *others])
    await runner.setup()
    catching_up = asyncio.create_task(runner.catch_up())
    try:
        for _ in range(500):
            if await runner.checkpoint("cases") == end:
                break
            await asyncio.sleep(0.01)
        cases, timeline = await runner.checkpoint("cases"), await runner.checkpoint("timeline")
    finally:
        gate.set()
        applied = await asyncio.wait_for(catching_up, 30)
    assert (cases, timeline) == (end, LogPosition())
    assert applied > 0 and await runner.checkpoint("timeline") == end


async def test_a_batch_whose_checkpoint_was_renewed_meanwhile_saves_nothing(
    container: Container,
) -> None:
    await record_families(container, 3)
    pool = container.database.pool
    await settled(pool)  # else another database's transaction may leave the batch empty

    class Renewed(Wrapping):
        """The timeline, while another worker renews its checkpoint mid-batch."""

        async def apply(self, conn: Connection, batch: Sequence[Envelope]) -> None:
            await self.inner.apply(conn, batch)
            await pool.execute(
                "UPDATE projection_checkpoints SET position = position + 1 WHERE name = 'timeline'"
            )

    projections = [
        Renewed(p) if p.name == "timeline" else p for p in all_projections(container.store)
    ]
    runner = ProjectionRunner(pool, container.store, projections)
    with pytest.raises(CheckpointMoved):
        await runner.step("timeline")
    assert await pool.fetchval("SELECT count(*) FROM timeline") == 0


async def test_refolds_read_in_runs_agree_with_one_read(container: Container) -> None:
    await record_families(container, 4)
    await container.runner.catch_up()
    whole = await snapshot(container)
    # Nothing kept between batches of three events: every batch refolds, each family's
    # stored events read in a run of its own.
    projections = all_projections(container.store, folds_kept=0)
    for each in projections:
        if isinstance(each, CasesProjection):
            each.refold_events = 1
    small = ProjectionRunner(container.database.pool, container.store, projections, batch_size=3)
    for projection in small.projections:
        await Rebuilder(small, projection).run()
    assert await snapshot(container) == whole
