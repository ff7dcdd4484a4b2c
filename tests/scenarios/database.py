"""The test database: another database on the same server, and every table emptied."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import asyncpg


def with_database(url: str, name: str) -> str:
    """The same server URL pointing at another database."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


async def reset(pool: asyncpg.Pool) -> None:
    """Empty the log and every read model."""
    async with pool.acquire() as conn:
        tables = await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            " AND tablename NOT IN ('schema_migrations')"
        )
        await conn.execute("SET session_replication_role = replica")
        names = ", ".join(f'"{t["tablename"]}"' for t in tables)
        await conn.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
        await conn.execute("SET session_replication_role = origin")
        # Months an archive test dropped: this one and the next, as the service makes them.
        await conn.execute("SELECT reunite_access_log_months(2)")
