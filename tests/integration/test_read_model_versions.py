"""A read model whose table definitions change is rebuilt from the log, not altered."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from projections.projection import Envelope
from projections.runner import ProjectionRunner
from service.container import Container
from service.store import Connection
from tests.builders import open_separated_family

pytestmark = pytest.mark.integration

V1 = "CREATE TABLE IF NOT EXISTS seen (position bigint PRIMARY KEY);"
V2 = "CREATE TABLE IF NOT EXISTS seen (position bigint PRIMARY KEY, kind text NOT NULL);"


class Seen:
    """Every event's position (v1), then also its kind (v2)."""

    name = "seen"
    tables: tuple[str, ...] = ("seen",)

    def __init__(self, ddl: str) -> None:
        self.ddl = ddl

    async def apply(self, conn: Connection, batch: Sequence[Envelope]) -> None:
        if self.ddl == V1:
            await conn.executemany(
                "INSERT INTO seen VALUES ($1)", [(e.recorded.position,) for e in batch]
            )
        else:
            rows = [(e.recorded.position, e.kind) for e in batch]
            await conn.executemany("INSERT INTO seen VALUES ($1, $2)", rows)


def runner(container: Container, ddl: str) -> ProjectionRunner:
    return ProjectionRunner(container.database.pool, container.store, [Seen(ddl)])


async def test_changed_definitions_rebuild_the_read_model_from_the_log(
    container: Container,
) -> None:
    pool = container.database.pool
    await open_separated_family(container.commands)
    first = runner(container, V1)
    await first.setup()
    await first.catch_up()
    await first.setup()  # unchanged: nothing happens
    assert await pool.fetchval("SELECT count(*) FROM seen") == 6

    second = runner(container, V2)
    await second.setup()
    assert await pool.fetchval("SELECT count(*) FROM seen") == 0
    assert (await second.checkpoint("seen")).position == 0
    await second.catch_up()
    kinds = await pool.fetch("SELECT kind FROM seen ORDER BY position")
    assert [k["kind"] for k in kinds][:2] == ["CaseOpened", "MemberAdded"]
    assert len(kinds) == 6
    await pool.execute("DROP TABLE seen")
