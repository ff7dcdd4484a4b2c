"""Migrations apply once and are recorded; the operator's CLI works on a real database."""

from __future__ import annotations

import asyncio

import pytest

from service.application.container import Container
from service.entrypoints import cli
from service.postgres.migrate import Migration, MigrationError, load_migrations, migrate
from tests.scenarios.family import open_separated_family

pytestmark = pytest.mark.integration


async def test_migrations_are_recorded_and_idempotent(container: Container) -> None:
    async with container.database.pool.acquire() as conn:
        assert await migrate(conn) == []
        recorded = await conn.fetch("SELECT version, name FROM schema_migrations ORDER BY 1")
    assert [(r["version"], r["name"]) for r in recorded] == [
        (m.version, m.name) for m in load_migrations()
    ]


async def test_an_edited_applied_migration_is_refused(
    container: Container,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = load_migrations()[0]
    edited = Migration(first.version, first.name, first.sql + "\n-- edited")
    monkeypatch.setattr("service.postgres.migrate.load_migrations", lambda: [edited])
    async with container.database.pool.acquire() as conn:
        with pytest.raises(MigrationError, match="changed after it was applied"):
            await migrate(conn)


def run_cli(args: list[str], url: str, monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setenv("DATABASE_URL", url)
    return cli.main(args)


async def test_cli_status_and_rebuild(
    container: Container,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    await open_separated_family(container.commands)
    await container.runner.catch_up()
    # The CLI runs its own event loop, as it does from a shell.
    loop = asyncio.get_running_loop()
    code = await loop.run_in_executor(
        None, run_cli, ["projections", "rebuild", "timeline"], database_url, monkeypatch
    )
    assert code == 0
    assert "rebuilt timeline from 6 events" in capsys.readouterr().out
    code = await loop.run_in_executor(
        None, run_cli, ["projections", "status"], database_url, monkeypatch
    )
    out = capsys.readouterr().out
    assert code == 0 and "timeline" in out and "cases" in out
    code = await loop.run_in_executor(
        None, run_cli, ["projections", "rebuild", "nope"], database_url, monkeypatch
    )
    assert code == 2
    code = await loop.run_in_executor(None, run_cli, ["migrate"], database_url, monkeypatch)
    assert code == 0 and "up to date" in capsys.readouterr().out
