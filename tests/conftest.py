"""Fixtures: a fresh PostgreSQL database per test session, cleaned between tests."""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from service.application.container import Container
from service.eventstore.sealing import generate_kek_file
from service.postgres.database import Database, open_database
from service.postgres.embedded import EmbeddedPostgres
from service.settings import Settings
from tests.scenarios.database import reset, with_database

DISCLOSURE_SECRET = "tests-cell-key-secret-of-forty-bytes-long"


@pytest.fixture(scope="session")
async def server_url(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    """DATABASE_URL when set, else an embedded server in a temporary data directory."""
    if url := os.environ.get("DATABASE_URL"):
        yield url
        return
    embedded = EmbeddedPostgres(Path(tmp_path_factory.mktemp("embedded")))
    yield await embedded.start()
    await embedded.stop()


@pytest.fixture(scope="session")
async def database_url(server_url: str) -> AsyncIterator[str]:
    """A database created for this test session and dropped after it."""
    name = f"reunite_test_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(server_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield with_database(server_url, name)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture(scope="session")
async def settings(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    # The analysts' cell-key secret and the personal data KEK are set: no test writes one
    # into the user's data directory.
    kek = tmp_path_factory.mktemp("kek") / "person-kek"
    generate_kek_file(kek)
    # The CLI, and services run as processes, read their settings from the environment.
    os.environ["REUNITE_KEK_FILE"] = str(kek)
    return Settings(
        database_url=database_url,
        freshness_timeout=10.0,
        disclosure_secret=DISCLOSURE_SECRET,
        kek_file=kek,
    )


@pytest.fixture(scope="session")
async def database(settings: Settings) -> AsyncIterator[Database]:
    db = await open_database(settings, max_size=20)
    yield db
    await db.close()


@pytest.fixture
async def container(settings: Settings, database: Database) -> AsyncIterator[Container]:
    """A fresh container over an emptied database."""
    await reset(database.pool)
    built = await Container.build(settings, database)
    yield built
    await built.store.announcements.drain()
