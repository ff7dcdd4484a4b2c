"""Versioned SQL migrations, applied once each, in order, under an advisory lock."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources

from service.eventstore.records import Connection

CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    checksum   text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT clock_timestamp()
)
"""
# Serialises concurrent start-ups (two server processes) on one database.
LOCK = "SELECT pg_advisory_xact_lock(hashtext('reunite.migrations'))"
APPLIED = "SELECT version, checksum FROM schema_migrations"
RECORD = "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)"


class MigrationError(Exception):
    """An applied migration's file has changed since it was applied."""


@dataclass(frozen=True)
class Migration:
    """One numbered SQL file."""

    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def load_migrations() -> list[Migration]:
    """The migration files shipped in service/migrations, in version order."""
    found = []
    for entry in resources.files("service.postgres.migrations").iterdir():
        if entry.name.endswith(".sql"):
            version = int(entry.name.split("_", 1)[0])
            found.append(Migration(version, entry.name, entry.read_text()))
    return sorted(found, key=lambda m: m.version)


async def migrate(conn: Connection) -> list[str]:
    """Apply the pending migrations; return the names applied."""
    applied_now = []
    async with conn.transaction():
        await conn.execute(LOCK)
        await conn.execute(CREATE_TABLE)
        applied = {r["version"]: r["checksum"] for r in await conn.fetch(APPLIED)}
        for migration in load_migrations():
            if migration.version in applied:
                if applied[migration.version] != migration.checksum:
                    raise MigrationError(f"{migration.name} changed after it was applied")
                continue
            await conn.execute(migration.sql)
            await conn.execute(RECORD, migration.version, migration.name, migration.checksum)
            applied_now.append(migration.name)
    return applied_now
