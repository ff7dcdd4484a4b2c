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
# Read replicas: where the primary's WAL stands now, and whether a replica has replayed it
# (NULL on a server not in recovery, say a promoted one: it holds all it will ever get).
PRIMARY_LSN = "SELECT pg_current_wal_lsn()::text"
REPLAYED = "SELECT coalesce(pg_last_wal_replay_lsn() >= $1::text::pg_lsn, true)"
REPLAY_POLL = 0.005  # seconds between looks at the replica's replay position
REPLICA_CATCH_UP = 30.0  # seconds a starting server waits for the replica, at least


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
    # A streaming replica's pool (REUNITE_REPLICA_URL), for read-model queries only.
    replica: asyncpg.Pool | None = None

    @property
    def read_pool(self) -> asyncpg.Pool:
        """Where read-model queries go: the replica when there is one, else the primary.
        Appends, the log (time travel, its horizon) and the read audit stay on `pool`."""
        return self.replica if self.replica is not None else self.pool

    async def replica_reached(self) -> bool:
        """Wait until the replica has replayed everything the primary has written so far
        (so every transaction committed before this call); at once without a replica.
        Unbounded: the caller bounds it (the freshness timeout)."""
        if self.replica is None:
            return True
        lsn = await self.pool.fetchval(PRIMARY_LSN)
        while True:  # replay is not announced: look again shortly
            if await self.replica.fetchval(REPLAYED, lsn):
                return True
            await asyncio.sleep(REPLAY_POLL)

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
        """Close the pools, then stop the embedded server if this process started it."""
        if self.replica is not None:
            await self.replica.close()
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
    replica: bool = False,
) -> Database:
    """Connect, apply pending migrations, and return the pool.

    `bounded` applies the settings' acquire and statement timeouts to every query: the
    server's pool is; command-line tools (an import, a rebuild, a verification) run long
    statements on purpose. `wait` is how long to keep trying while the database is not up.
    `role`, when given, is the role the pool's sessions act as once the owner has migrated.
    `replica` opens a second pool on REUNITE_REPLICA_URL when it is set (the server's).
    """
    url, embedded = await resolve_url(settings)
    pool: asyncpg.Pool | None = None
    standby: asyncpg.Pool | None = None
    try:
        pool = await _connect_when_up(url, settings, min_size, max_size, bounded, wait)
        async with pool.acquire() as conn:
            await migrate(conn)
        if role is not None:
            # Not before: on a new database, the migrations create the role.
            owner, pool = pool, None
            await owner.close()
            pool = await _create_pool(url, settings, min_size, max_size, bounded, role)
        if replica and settings.replica_url:
            standby = await _open_replica(pool, settings, min_size, max_size, bounded, wait, role)
    except BaseException:
        if standby is not None:
            await standby.close()
        if pool is not None:  # a failed migration must not leave connections open
            await pool.close()
        if embedded is not None:
            await embedded.stop()
        raise
    return Database(pool, url, embedded, role, standby)


async def _open_replica(
    primary: asyncpg.Pool,
    settings: Settings,
    min_size: int,
    max_size: int,
    bounded: bool,
    wait: float,
    role: str | None,
) -> asyncpg.Pool:
    """The replica's pool, once the replica has replayed the migrations just applied (and
    the role they create): a hot standby is never migrated, it replays the primary."""
    assert settings.replica_url is not None
    lsn = await primary.fetchval(PRIMARY_LSN)
    probe = await _connect_when_up(settings.replica_url, settings, 1, 1, bounded, wait)
    try:
        async with asyncio.timeout(max(wait, REPLICA_CATCH_UP)):
            while not await probe.fetchval(REPLAYED, lsn):  # noqa: ASYNC110
                await asyncio.sleep(REPLAY_POLL * 20)
    except TimeoutError:
        raise TimeoutError(f"the replica has not replayed the primary's WAL up to {lsn}") from None
    finally:
        await probe.close()
    return await _create_pool(settings.replica_url, settings, min_size, max_size, bounded, role)


async def _connect_when_up(
    url: str,
    settings: Settings,
    min_size: int,
    max_size: int,
    bounded: bool,
    wait: float,
    role: str | None = None,
) -> asyncpg.Pool:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    pause = 0.1
    while True:
        try:
            return await _create_pool(url, settings, min_size, max_size, bounded, role)
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
