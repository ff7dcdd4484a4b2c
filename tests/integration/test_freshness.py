"""minPosition: a read waits until the read models hold everything up to that position."""

from __future__ import annotations

from dataclasses import replace
from uuid import uuid4

import pytest

from schema.build import create_schema
from service.application.container import Container
from service.eventstore.provenance import Provenance
from service.eventstore.records import NewEvent
from tests.scenarios.family import open_separated_family
from tests.scenarios.graphql import context

pytestmark = pytest.mark.integration

WRITER = Provenance(actor="importer", role="importer", source="test")


async def test_a_position_is_reached_once_applied_and_not_before(container: Container) -> None:
    runner = container.runner
    _, _, _, result = await open_separated_family(container.commands)
    assert not await runner.caught_up_to(result.last_position)
    assert not await runner.wait_for(result.last_position, within=0.05)
    await runner.catch_up()
    assert await runner.caught_up_to(result.last_position)


async def test_a_wait_looks_again_when_a_batch_is_announced(container: Container) -> None:
    runner = container.runner
    _, _, _, result = await open_separated_family(container.commands)
    looks = 0

    async def woken() -> None:  # the batch is applied and announced while the reader waits
        nonlocal looks
        looks += 1
        await runner.catch_up()

    assert await runner.wait_for(result.last_position, within=5, woken=woken)
    assert looks == 1


async def test_nothing_to_wait_for_at_or_below_zero(container: Container) -> None:
    await open_separated_family(container.commands)  # not applied yet: irrelevant below 1
    assert await container.runner.wait_for(0, within=0.05)
    assert await container.runner.wait_for(-3, within=0.05)


async def test_a_position_no_event_holds_is_reached_with_everything_before_it(
    container: Container,
) -> None:
    store, runner = container.store, container.runner
    await open_separated_family(container.commands)
    async with container.database.pool.acquire() as conn:
        transaction = conn.transaction()
        await transaction.start()
        tick = [NewEvent("tests:Tick", b"x", None)]
        rolled_back = (await store.append(uuid4(), 0, tick, WRITER, conn=conn)).last_position
        await transaction.rollback()
    assert not await runner.caught_up_to(rolled_back)  # the events before it are not applied
    await runner.catch_up()
    assert await runner.wait_for(rolled_back, within=0.05)


async def test_a_read_that_cannot_be_fresh_in_time_says_so(container: Container) -> None:
    family, _, _, result = await open_separated_family(container.commands)
    settings = replace(container.settings, freshness_timeout=0.1)
    impatient = replace(container, settings=settings)
    query = "query($id: UUID!, $pos: Int) { family(id: $id, minPosition: $pos) { version } }"
    variables = {"id": str(family), "pos": result.last_position}

    late = await create_schema().execute(query, variables, context(impatient))
    assert late.errors and late.errors[0].extensions == {"code": "NOT_FRESH"}
    assert f"position {result.last_position}" in late.errors[0].message

    await container.runner.catch_up()
    fresh = await create_schema().execute(query, variables, context(impatient))
    assert fresh.errors is None and fresh.data == {"family": {"version": result.version}}
