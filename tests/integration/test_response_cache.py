"""The response cache: repeated read-model queries answered once per projection batch."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any
from uuid import UUID

import pytest

from domain.values import LocationOutcome
from projections.rebuild import Rebuilder
from schema.build import create_schema
from schema.context import Context
from schema.loaders import Loaders
from schema.response_cache import ResponseCache
from service.access.auth import Identity, Role
from service.application.container import Container
from tests.scenarios.family import at, ctx, open_separated_family

pytestmark = pytest.mark.integration

JO = Identity("jo", Role.CASEWORKER)
FAMILY = "query($id: UUID!) { family(id: $id) { caseNumber members { personId } } }"
TIMELINE = "query($id: UUID!) { timeline(familyId: $id, first: 50) { edges { node { version } } } }"
SCHEMA = create_schema()


@pytest.fixture
async def listening(container: Container) -> AsyncIterator[Container]:
    """The container with its process's LISTEN connection open, as the server has it."""
    await container.notifications.start()
    yield container
    await container.notifications.stop()


@pytest.fixture
def cache(container: Container) -> ResponseCache:
    """The process's cache, as service.entrypoints.app gives it to every HTTP request's context."""
    return ResponseCache(container.notifications, size=100)


def context(container: Container, cache: ResponseCache, identity: Identity = JO) -> Context:
    loaders = Loaders.create(container.database.pool)
    return Context(container, None, None, identity, loaders, response_cache=cache)


async def ask(
    container: Container,
    cache: ResponseCache,
    query: str,
    identity: Identity = JO,
    **variables: Any,
) -> dict[str, Any]:
    result = await SCHEMA.execute(
        query, variable_values=variables, context_value=context(container, cache, identity)
    )
    assert result.errors is None, result.errors
    assert result.data is not None
    return result.data


async def until(condition: Callable[[], bool], what: str) -> None:
    """Wait up to two seconds for condition to hold."""
    for _ in range(200):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"never {what}")


async def heard_after(container: Container, before: int) -> None:
    """Wait until this process has heard a batch announced after `before`."""
    await until(lambda: container.notifications.generation > before, "heard a batch")


async def applied(container: Container) -> None:
    """Apply every new event and wait until this process has heard the batches."""
    before = container.notifications.generation
    await container.runner.catch_up()
    await heard_after(container, before)


async def a_family_asked_once(container: Container, cache: ResponseCache) -> UUID:
    """A new family, projected and heard, whose FAMILY answer the cache has been asked once."""
    family_id, *_ = await open_separated_family(container.commands)
    await applied(container)
    await ask(container, cache, FAMILY, id=str(family_id))
    return family_id


async def reads_logged(container: Container, family_id: UUID) -> int:
    count = await container.database.pool.fetchval(
        "SELECT count(*) FROM access_log WHERE family_ids @> ARRAY[$1::uuid]", family_id
    )
    return int(count)


async def test_a_repeated_query_is_answered_once_and_every_answer_is_audited(
    listening: Container, cache: ResponseCache
) -> None:
    family_id, *_ = await open_separated_family(listening.commands)
    await applied(listening)
    first = await ask(listening, cache, TIMELINE, id=str(family_id))
    second = await ask(listening, cache, TIMELINE, id=str(family_id))
    assert second == first and len(first["timeline"]["edges"]) == 6
    assert cache.hits == 1
    await listening.access_log.drain()
    assert await reads_logged(listening, family_id) == 2


async def test_a_projection_batch_makes_every_process_forget(
    listening: Container, cache: ResponseCache
) -> None:
    family_id, mother, _, _ = await open_separated_family(listening.commands)
    await applied(listening)
    before = await ask(listening, cache, TIMELINE, id=str(family_id))
    await listening.commands.execute(
        family_id,
        lambda f: f.attempt_location(mother, "phone", LocationOutcome.NOT_FOUND, "counsel", at(3)),
        ctx(),
    )
    await applied(listening)
    after = await ask(listening, cache, TIMELINE, id=str(family_id))
    assert len(after["timeline"]["edges"]) == len(before["timeline"]["edges"]) + 1
    assert cache.hits == 0


async def test_a_rebuilt_read_model_is_announced(
    listening: Container, cache: ResponseCache
) -> None:
    family_id = await a_family_asked_once(listening, cache)
    before = listening.notifications.generation
    await Rebuilder(listening.runner, "cases").run()
    await heard_after(listening, before)
    await ask(listening, cache, FAMILY, id=str(family_id))
    assert cache.hits == 0


async def test_callers_do_not_share_answers(listening: Container, cache: ResponseCache) -> None:
    family_id = await a_family_asked_once(listening, cache)
    await ask(listening, cache, FAMILY, Identity("kim", Role.CASEWORKER), id=str(family_id))
    await ask(listening, cache, FAMILY, Identity("jo", Role.AUDITOR), id=str(family_id))
    assert cache.hits == 0


@pytest.mark.parametrize(
    "query",
    [
        # Waits for a position: a client reading its own writes is never answered from before.
        "query($id: UUID!) { family(id: $id, minPosition: 1) { caseNumber } }",
        # Reads the log as known at a time, and the access log: not read models.
        'query($id: UUID!) { courtReport(asOf: "2018-07-26", knownAt: "2030-01-01T00:00:00Z")'
        " { children { total } } family(id: $id) { caseNumber } }",
        "query($id: UUID!) { accessLog(familyId: $id, first: 5) { edges { cursor } } }",
    ],
)
async def test_queries_that_read_the_log_are_always_executed(
    listening: Container, cache: ResponseCache, query: str
) -> None:
    family_id, *_ = await open_separated_family(listening.commands)
    await applied(listening)
    auditor = Identity("ana", Role.AUDITOR)
    await ask(listening, cache, query, auditor, id=str(family_id))
    await ask(listening, cache, query, auditor, id=str(family_id))
    assert cache.hits == 0 and not cache.kept


async def test_answers_with_errors_are_not_kept(listening: Container, cache: ResponseCache) -> None:
    for _ in range(2):
        result = await SCHEMA.execute(
            "{ families(first: 100000) { edges { cursor } } }",
            context_value=context(listening, cache),
        )
        assert result.errors
    assert cache.hits == 0 and not cache.kept


async def test_without_its_listener_a_process_keeps_nothing(
    container: Container, cache: ResponseCache
) -> None:
    family_id, *_ = await open_separated_family(container.commands)
    await container.runner.catch_up()
    await ask(container, cache, FAMILY, id=str(family_id))
    await ask(container, cache, FAMILY, id=str(family_id))
    assert cache.hits == 0 and not cache.kept


async def test_a_lost_listener_forgets_what_was_kept_and_keeps_again_once_it_hears(
    listening: Container, cache: ResponseCache
) -> None:
    family_id = await a_family_asked_once(listening, cache)
    before = listening.notifications.generation
    await listening.database.pool.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        " WHERE datname = current_database() AND query LIKE 'LISTEN%'"
    )
    # Batches announced while nothing was heard are unknown: what was kept is forgotten.
    await until(lambda: listening.notifications.generation > before, "noticed the loss")
    await until(lambda: listening.notifications.listening, "listened again")
    await ask(listening, cache, FAMILY, id=str(family_id))
    assert cache.hits == 0
    await ask(listening, cache, FAMILY, id=str(family_id))
    assert cache.hits == 1
