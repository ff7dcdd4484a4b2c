"""One owner per projection: a second runner stands by, and takes over when the owner's
connection is lost, resuming from the checkpoint with nothing applied twice or skipped."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from projections.catalog import all_projections
from projections.runner import ProjectionRunner
from service.application.container import Container
from tests.scenarios.family import open_separated_family

pytestmark = pytest.mark.integration

POLL = 0.1


@pytest.fixture
async def standby(container: Container) -> AsyncIterator[ProjectionRunner]:
    """A second runner over the same database, as another process would have."""
    store = container.store
    yield ProjectionRunner(container.database.pool, store, all_projections(store))


async def until(condition: object, within: float = 15.0) -> float:
    """Wait until condition() holds; how long it took."""
    began = time.monotonic()
    while not condition():  # type: ignore[operator]
        assert time.monotonic() - began < within, "timed out"
        await asyncio.sleep(0.01)
    return time.monotonic() - began


async def applied_once(container: Container) -> None:
    """Every event in the timeline exactly once, and each checkpoint counted each once."""
    pool = container.database.pool
    events = await pool.fetchval("SELECT count(*) FROM events")
    assert await pool.fetchval("SELECT count(*) FROM timeline") == events
    assert await pool.fetchval("SELECT count(DISTINCT position) FROM timeline") == events
    rows = await pool.fetch("SELECT name, events_applied FROM projection_checkpoints")
    applied = {r["name"]: r["events_applied"] for r in rows}
    assert applied == {"timeline": events, "cases": events}
    families = await pool.fetchval("SELECT count(DISTINCT stream_id) FROM events")
    assert await pool.fetchval("SELECT count(*) FROM family_summary") == families


async def test_only_the_owner_applies(container: Container, standby: ProjectionRunner) -> None:
    owner, stop = container.runner, asyncio.Event()
    first = asyncio.create_task(owner.run(stop, idle_poll=0.05, claim_poll=POLL))
    await until(lambda: owner.ownership.owned == {"timeline", "cases"})
    second = asyncio.create_task(standby.run(stop, idle_poll=0.05, claim_poll=POLL))
    try:
        steps: list[str] = []
        original = standby.step

        async def counted(name: str, limit: int | None = None) -> int:
            steps.append(name)
            return await original(name, limit)

        standby.step = counted  # type: ignore[method-assign]
        last = 0
        for _ in range(5):
            *_, result = await open_separated_family(container.commands)
            last = result.last_position
        assert await owner.wait_for(last, within=15)
        await asyncio.sleep(3 * POLL)  # the standby claimed in vain meanwhile
        assert standby.ownership.owned == set()
        assert steps == []  # it never even took a batch's turn
        assert owner.runs("cases") and not standby.runs("cases")
    finally:
        stop.set()
        await asyncio.gather(first, second)
    await applied_once(container)
    assert owner.ownership.owned == set()  # released when the run ended


async def test_standby_takes_over_when_the_owners_connection_is_lost(
    container: Container, standby: ProjectionRunner
) -> None:
    owner, stop = container.runner, asyncio.Event()
    first = asyncio.create_task(owner.run(stop, idle_poll=0.05, claim_poll=POLL))
    await until(lambda: owner.ownership.owned == {"timeline", "cases"})
    second = asyncio.create_task(standby.run(stop, idle_poll=0.05, claim_poll=POLL))
    writing = asyncio.Event()

    async def write() -> int:
        n = 0
        while not writing.is_set():
            await open_separated_family(container.commands)
            n += 1
        return n

    writer = asyncio.create_task(write())
    try:
        await asyncio.sleep(0.3)
        conn = owner.ownership._conn
        assert conn is not None
        pid = conn.get_server_pid()
        await container.database.pool.execute("SELECT pg_terminate_backend($1)", pid)
        took = await until(lambda: standby.ownership.owned == {"timeline", "cases"})
        assert took < 2.0, took  # within a claim poll or two
        await until(lambda: not owner.ownership.owned)
        await asyncio.sleep(0.3)
        writing.set()
        assert await writer > 0
        head = await container.store.committed_head()
        assert await standby.wait_for(head.position, within=15)
        # The old owner claims again each poll, in vain while the standby runs them.
        await asyncio.sleep(3 * POLL)
        assert owner.ownership.owned == set()
    finally:
        writing.set()
        stop.set()
        await asyncio.gather(first, second, writer, return_exceptions=True)
    await applied_once(container)


async def test_different_projections_may_have_different_owners(
    container: Container, standby: ProjectionRunner
) -> None:
    """Each projection is claimed on its own: what one process holds, another need not."""
    pool = container.database.pool
    async with pool.acquire() as elsewhere:
        # Another process holds "cases" only.
        await elsewhere.execute(
            "SELECT pg_advisory_lock(hashtext('reunite.projection.owner:' || 'cases'))"
        )
        stop = asyncio.Event()
        task = asyncio.create_task(container.runner.run(stop, idle_poll=0.05, claim_poll=POLL))
        try:
            await until(lambda: container.runner.ownership.owned == {"timeline"})
            *_, result = await open_separated_family(container.commands)
            runner, last = container.runner, result.last_position
            took = 0.0
            while not await runner.caught_up_to(last, ["timeline"]):
                assert took < 10
                await asyncio.sleep(0.01)
                took += 0.01
            assert not await container.runner.caught_up_to(result.last_position, ["cases"])
            await elsewhere.execute("SELECT pg_advisory_unlock_all()")
            await until(lambda: container.runner.ownership.owned == {"timeline", "cases"})
            assert await container.runner.wait_for(result.last_position, within=10)
        finally:
            stop.set()
            await task
    await applied_once(container)
