"""The connection pool, on DATABASE_URL or on the embedded server, migrated on open."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import asyncpg
from asyncpg.pool import PoolAcquireContext

from service.postgres.embedded import EmbeddedPostgres
from service.postgres.migrate import migrate
from service.settings import Settings

log = logging.getLogger(__name__)

# The server's own statement timeout fires first, with a clean error; the client's, this
# much later, catches a server that cannot answer at all (frozen, or the network gone).
CLIENT_GRACE = 2.0
# A session idle inside a transaction would hold back every log reader.
IDLE_IN_TRANSACTION_MS = "60000"
# Errors that say the database cannot serve now (down, restarting, frozen, overloaded),
# not that the request is wrong: a retry after it returns will do.
OUTAGES: tuple[type[BaseException], ...] = (
    OSError,  # refused, reset, unreachable; ConnectionError is one
    TimeoutError,  # acquire, connect or command timeout
    asyncpg.PostgresConnectionError,  # 08xxx, the connection does not exist or failed
    asyncpg.CannotConnectNowError,  # 57P03, starting up or shutting down
    asyncpg.AdminShutdownError,  # 57P01, terminated by a restart
    asyncpg.CrashShutdownError,  # 57P02
    asyncpg.QueryCanceledError,  # 57014, the statement timeout
    asyncpg.TooManyConnectionsError,  # 53300
    # A connection left mid-operation by a server that went away, found when the pool
    # resets it ("another operation is in progress").
    asyncpg.InternalClientError,
)
# asyncpg says these as InterfaceError, which also means a programming error.
LOST_CONNECTION = ("connection is closed", "connection was closed", "pool is closing")


class BoundedPool(asyncpg.Pool):
    """A pool whose every acquire (so every pool.fetch too) gives up after a timeout."""

    acquire_timeout: float | None = None

    def acquire(self, *, timeout: float | None = None) -> PoolAcquireContext[Any]:
        return super().acquire(timeout=self.acquire_timeout if timeout is None else timeout)


@dataclass
class Database:
    """An open pool, and the embedded server behind it when there is one."""

    pool: asyncpg.Pool
    url: str
    embedded: EmbeddedPostgres | None = None
    # The role the pool's sessions act as (migration 0009); None: the owner that connected.
    role: str | None = None

    @contextlib.asynccontextmanager
    async def as_owner(self) -> AsyncIterator[asyncpg.Pool]:
        """A pool that acts as the owner, for DDL: this one, or one connection beside it."""
        if self.role is None:
            yield self.pool
            return
        owner = await asyncpg.create_pool(self.url, min_size=1, max_size=1)
        try:
            yield owner
        finally:
            await owner.close()

    async def close(self) -> None:
        """Close the pool, then stop the embedded server if this process started it."""
        await self.pool.close()
        if self.embedded is not None:
            await self.embedded.stop()


def unavailable(error: BaseException) -> bool:
    """Whether an error, or one it was raised from, says the database is out of reach."""
    for e in _chain(error):
        if isinstance(e, OUTAGES):
            return True
        if isinstance(e, asyncpg.InterfaceError) and any(m in str(e) for m in LOST_CONNECTION):
            return True
    return False


def _chain(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        original = getattr(current, "original_error", None)  # GraphQL wraps resolver errors
        current = original or current.__cause__ or current.__context__


async def resolve_url(settings: Settings) -> tuple[str, EmbeddedPostgres | None]:
    """DATABASE_URL when set; otherwise start the embedded server in the data directory."""
    if settings.database_url:
        return settings.database_url, None
    embedded = EmbeddedPostgres(settings.data_dir)
    return await embedded.start(), embedded


async def open_database(
    settings: Settings,
    min_size: int = 2,
    max_size: int = 10,
    *,
    bounded: bool = False,
    wait: float = 0.0,
    role: str | None = None,
) -> Database:
    """Connect, apply pending migrations, and return the pool.

    `bounded` applies the settings' acquire and statement timeouts to every query: the
    server's pool is; command-line tools (an import, a rebuild, a verification) run long
    statements on purpose. `wait` is how long to keep trying while the database is not up.
    `role`, when given, is the role the pool's sessions act as once the owner has migrated.
    """
    url, embedded = await resolve_url(settings)
    pool: asyncpg.Pool | None = None
    try:
        pool = await _connect_when_up(url, settings, min_size, max_size, bounded, wait)
        async with pool.acquire() as conn:
            await migrate(conn)
        if role is not None:
            # Not before: on a new database, the migrations create the role.
            owner, pool = pool, None
            await owner.close()
            pool = await _create_pool(url, settings, min_size, max_size, bounded, role)
    except BaseException:
        if pool is not None:  # a failed migration must not leave connections open
            await pool.close()
        if embedded is not None:
            await embedded.stop()
        raise
    return Database(pool, url, embedded, role)


async def _connect_when_up(
    url: str, settings: Settings, min_size: int, max_size: int, bounded: bool, wait: float
) -> asyncpg.Pool:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    pause = 0.1
    while True:
        try:
            return await _create_pool(url, settings, min_size, max_size, bounded)
        except Exception as e:
            left = deadline - loop.time()
            if not unavailable(e) or left <= 0:
                raise
            log.info("database not reachable yet (%s); retrying for %.0f s more", e, left)
            await asyncio.sleep(min(pause, left))
            pause = min(pause * 2, 2.0)


async def _create_pool(
    url: str,
    settings: Settings,
    min_size: int,
    max_size: int,
    bounded: bool,
    role: str | None = None,
) -> asyncpg.Pool:
    server_settings = {"idle_in_transaction_session_timeout": IDLE_IN_TRANSACTION_MS}
    if role is not None:
        # Set at connection start, `role` is the session's default: RESET ROLE and the
        # pool's RESET ALL between uses return to it, not to the owner that logged in.
        server_settings["role"] = role
    statement = settings.statement_timeout if bounded else 0.0
    acquire = settings.acquire_timeout if bounded else 0.0
    server_settings["statement_timeout"] = str(int(statement * 1000))
    pool = BoundedPool(
        url,
        min_size=min_size,
        max_size=max_size,
        max_queries=50000,
        max_inactive_connection_lifetime=300.0,
        loop=None,
        connection_class=asyncpg.Connection,
        record_class=asyncpg.Record,
        server_settings=server_settings,
        command_timeout=statement + CLIENT_GRACE if statement else None,
        timeout=acquire or 60.0,  # to connect
    )
    pool.acquire_timeout = acquire or None
    await pool
    return pool
