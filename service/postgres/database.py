"""The connection pool, on DATABASE_URL or on the embedded server, migrated on open."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from service.postgres.embedded import EmbeddedPostgres
from service.postgres.migrate import migrate
from service.settings import Settings


@dataclass
class Database:
    """An open pool, and the embedded server behind it when there is one."""

    pool: asyncpg.Pool
    url: str
    embedded: EmbeddedPostgres | None = None

    async def close(self) -> None:
        """Close the pool, then stop the embedded server if this process started it."""
        await self.pool.close()
        if self.embedded is not None:
            await self.embedded.stop()


async def resolve_url(settings: Settings) -> tuple[str, EmbeddedPostgres | None]:
    """DATABASE_URL when set; otherwise start the embedded server in the data directory."""
    if settings.database_url:
        return settings.database_url, None
    embedded = EmbeddedPostgres(settings.data_dir)
    return await embedded.start(), embedded


async def open_database(settings: Settings, min_size: int = 2, max_size: int = 10) -> Database:
    """Connect, apply pending migrations, and return the pool."""
    url, embedded = await resolve_url(settings)
    pool: asyncpg.Pool | None = None
    try:
        pool = await asyncpg.create_pool(
            url,
            min_size=min_size,
            max_size=max_size,
            # A session idle inside a transaction would hold back every log reader.
            server_settings={"idle_in_transaction_session_timeout": "60000"},
        )
        async with pool.acquire() as conn:
            await migrate(conn)
    except BaseException:
        if pool is not None:  # a failed migration must not leave connections open
            await pool.close()
        if embedded is not None:
            await embedded.stop()
        raise
    return Database(pool, url, embedded)
