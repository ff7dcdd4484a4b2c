"""A read model whose table definitions change is rebuilt from the log, not altered."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from projections.projection import Envelope
from projections.rebuild import Rebuilder
from projections.runner import ProjectionRunner, ReadModelReplaced
from service.application.container import Container
from service.eventstore.records import Connection
from tests.scenarios.family import open_separated_family

pytestmark = pytest.mark.integration

V1 = "CREATE TABLE IF NOT EXISTS seen (position bigint PRIMARY KEY);"
V2 = "CREATE TABLE IF NOT EXISTS seen (position bigint PRIMARY KEY, kind text NOT NULL);"


class Seen:
    """Every event's position (v1), then also its kind (v2)."""

    name = "seen"
    tables: tuple[str, ...] = ("seen",)

    def __init__(self, ddl: str, version: int = 1) -> None:
        self.ddl = ddl
        self.version = version

    async def apply(self, conn: Connection, batch: Sequence[Envelope]) -> None:
        if self.ddl == V1:
            await conn.executemany(
                "INSERT INTO seen VALUES ($1)", [(e.recorded.position,) for e in batch]
            )
        else:
            rows = [(e.recorded.position, e.kind) for e in batch]
            await conn.executemany("INSERT INTO seen VALUES ($1, $2)", rows)


def runner(container: Container, ddl: str, version: int = 1) -> ProjectionRunner:
    return ProjectionRunner(container.database.pool, container.store, [Seen(ddl, version)])


async def test_changed_definitions_rebuild_the_read_model_from_the_log(
    container: Container,
) -> None:
    pool = container.database.pool
    await open_separated_family(container.commands)
    first = runner(container, V1)
    await first.setup()
    await first.catch_up()
    assert await first.renew_changed() == []  # built by this very code: kept
    assert await pool.fetchval("SELECT count(*) FROM seen") == 6

    second = runner(container, V2)
    await second.setup()  # as any command-line tool does: nothing is dropped
    assert await pool.fetchval("SELECT count(*) FROM seen") == 6
    assert await second.renew_changed() == ["seen"]  # as the serving process does
    assert await pool.fetchval("SELECT count(*) FROM seen") == 0
    assert (await second.checkpoint("seen")).position == 0
    await second.catch_up()
    kinds = await pool.fetch("SELECT kind FROM seen ORDER BY position")
    assert [k["kind"] for k in kinds][:2] == ["CaseOpened", "MemberAdded"]
    assert len(kinds) == 6

    # The same tables, a changed fold: its version says so, and it is replayed too.
    assert await runner(container, V2, version=2).renew_changed() == ["seen"]
    assert await runner(container, V2, version=2).renew_changed() == []
    await pool.execute("DROP TABLE seen")


async def test_a_rebuild_records_what_built_the_read_model(container: Container) -> None:
    await open_separated_family(container.commands)
    seen = runner(container, V1)
    await seen.setup()
    await container.database.pool.execute(
        "UPDATE projection_checkpoints SET ddl_digest = 'other code' WHERE name = 'seen'"
    )
    await Rebuilder(seen, "seen").run()
    assert await seen.renew_changed() == []
    await container.database.pool.execute("DROP TABLE seen")


async def test_a_runner_of_other_code_leaves_rebuilt_tables_alone(container: Container) -> None:
    """A rollout: the new release rebuilds while an old projector runs; once the new tables
    are swapped in, the old one's batches fail without writing, the new one's apply."""
    pool = container.database.pool
    await open_separated_family(container.commands)
    old = runner(container, V1)
    await old.setup()
    await old.renew_changed()
    await old.catch_up()
    await Rebuilder(runner(container, V2), "seen").run()  # the new release's rebuild
    await open_separated_family(container.commands)
    with pytest.raises(ReadModelReplaced, match="built by other code"):
        await old.step("seen")
    assert await pool.fetchval("SELECT count(*) FROM seen") == 6  # nothing applied
    new = runner(container, V2)
    assert await new.renew_changed() == []  # the rebuild's digest: kept, not emptied
    await new.catch_up()
    assert await pool.fetchval("SELECT count(*) FROM seen WHERE kind IS NOT NULL") == 12
    await pool.execute("DROP TABLE seen")
