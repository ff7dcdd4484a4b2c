"""A log written before hash format 2 keeps verifying, and its streams continue in format 2."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator

import asyncpg
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from service.application.container import Container
from service.eventstore.chain import verify_stream
from service.eventstore.codec import create_mapper
from service.eventstore.store import EventStore
from service.ledger.checkpoints import CheckpointTaker
from service.ledger.keys import Signer
from service.ledger.verify import verify_log
from service.postgres.database import open_database
from service.postgres.migrate import load_migrations, migrate
from service.settings import Settings
from tests.scenarios.database import with_database
from tests.scenarios.family import CASEWORKER, opened_family
from tests.scenarios.ledger import read_log

pytestmark = pytest.mark.integration

SIGNER = Signer.from_private_key(Ed25519PrivateKey.generate())
# The append of migrations 0001-0006: the trigger chained each row in format 1.
OLD_APPEND = """
SELECT * FROM reunite_append($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
"""


@pytest.fixture
async def old_database(server_url: str, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[str]:
    """A database of its own, migrated only up to 0006."""
    older = [m for m in load_migrations() if m.version <= 6]
    name = f"reunite_upgrade_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(server_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = with_database(server_url, name)
    try:
        monkeypatch.setattr("service.postgres.migrate.load_migrations", lambda: older)
        conn = await asyncpg.connect(url)
        try:
            await migrate(conn)
        finally:
            await conn.close()
            monkeypatch.undo()
        yield url
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def test_format_1_rows_verify_and_their_streams_continue_in_format_2(
    old_database: str, settings: Settings
) -> None:
    family, _, _ = opened_family()
    encode = EventStore(None, create_mapper()).encode  # type: ignore[arg-type]
    events = [encode(e) for e in family.collect_events()]
    p = CASEWORKER
    conn = await asyncpg.connect(old_database)
    try:
        for version in (0, 2):
            stored = events[version : version + 2]
            await conn.fetchrow(
                OLD_APPEND,
                family.id,
                version,
                [s.topic for s in stored],
                [s.payload for s in stored],
                [s.occurred_at for s in stored],
                p.actor,
                p.role,
                p.source,
                p.reason,
                p.correlation_id,
                p.causation_id,
                f"old-{version}",
                b"digest",
            )
    finally:
        await conn.close()

    database = await open_database(Settings(database_url=old_database))  # applies 0007
    try:
        container = await Container.build(
            Settings(database_url=old_database, kek_file=settings.kek_file), database
        )
        store = container.store
        # A retry of a command recorded before the upgrade still answers its first result.
        again = await store.append(family.id, 0, events[:2], p, "old-0", b"digest")
        assert again.duplicate and again.version == 2
        later, _, _ = opened_family(family.id)
        more = await store.encode_all(list(later.collect_events())[1:3])
        await store.append(family.id, 4, more, p, "new-4", b"digest")

        stream = await store.read_stream(family.id)
        assert [e.hash_format for e in stream] == [1, 1, 1, 1, 2, 2]
        assert verify_stream(stream) is None
        assert len(await read_log(container)) == 6
        assert await CheckpointTaker(database.pool, SIGNER).take() is not None
        report = await verify_log(database.pool, frozenset({SIGNER.public_key}))
        assert report.ok, report.lines()
        assert report.checkpoints == 1
    finally:
        await database.close()
