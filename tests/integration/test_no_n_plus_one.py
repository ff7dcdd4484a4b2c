"""A page of children with their parents and facilities costs a constant number of queries."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from schema.build import create_schema
from schema.context import Context
from schema.loaders import Loaders
from service.access.auth import Identity, Role
from service.application.container import Container
from service.postgres.database import Database
from service.settings import Settings
from tests.scenarios.family import open_separated_family

pytestmark = pytest.mark.integration

PAGE = """query($first: Int!) { children(first: $first) { edges { node {
  childId status parents { parentId name situation } facility { facilityId facilityName }
} } } }"""


@pytest.fixture
async def counted_pool(database_url: str) -> AsyncIterator[tuple[asyncpg.Pool, list[str]]]:
    statements: list[str] = []

    def record(query: Any) -> None:
        # The pool's own reset on release is housekeeping, not the request's SQL.
        if not query.query.startswith("SELECT pg_advisory_unlock_all()"):
            statements.append(query.query)

    async def log_queries(conn: asyncpg.Connection) -> None:
        conn.add_query_logger(record)

    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=1, init=log_queries)
    yield pool, statements
    await pool.close()


async def test_children_page_queries_do_not_grow_with_page_size(
    container: Container,
    settings: Settings,
    database_url: str,
    counted_pool: tuple[asyncpg.Pool, list[str]],
) -> None:
    for _ in range(24):
        await asyncio.gather(*(open_separated_family(container.commands) for _ in range(5)))
    await container.runner.catch_up()
    pool, statements = counted_pool
    counted = await Container.build(settings, Database(pool, database_url))
    schema = create_schema()

    async def run(first: int) -> tuple[int, dict[str, Any]]:
        context = Context(
            counted,
            None,
            None,
            Identity("maria.lopez", Role.CASEWORKER),
            Loaders.create(pool),
        )
        statements.clear()
        result = await schema.execute(PAGE, variable_values={"first": first}, context_value=context)
        assert result.errors is None, result.errors
        assert result.data is not None
        return len(statements), result.data

    await run(1)  # asyncpg introspects new types once per connection; not per request
    small, _ = await run(10)
    large, data = await run(100)
    edges = data["children"]["edges"]
    assert len(edges) == 100
    assert all(e["node"]["parents"] and e["node"]["facility"] for e in edges)
    assert large == small <= 4, statements
