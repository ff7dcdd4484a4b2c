"""A LISTEN connection that reconnects, with back-off, after any loss."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg
from asyncpg.pool import PoolConnectionProxy

log = logging.getLogger(__name__)

FIRST_BACKOFF = 0.1  # doubled per failed attempt, up to:
MAX_BACKOFF = 1.0  # so listening resumes within a second or so of the database's return
CONNECT_TIMEOUT = 5.0
PROBE_TIMEOUT = 5.0  # a frozen server answers no probe: the connection is dropped, then renewed
PROBE_EVERY = 5.0  # how often a connection to a frozen server must answer a probe

# Whatever says the database, not the statement, failed.
LOST = (OSError, TimeoutError, asyncpg.InterfaceError, asyncpg.PostgresError)


@dataclass(frozen=True)
class ListenerState:
    """Whether a listener hears NOTIFY now, since when (connected or lost), and why not."""

    connected: bool
    since: datetime | None = None  # None: never started
    error: str | None = None


class Listener:
    """Listens on one channel, and after a lost connection listens again, with back-off.

    `wake` is called with the payload of every notification, and with None whenever
    listening (re)starts, since notifications sent while not listening are never heard:
    the owner catches up then.
    """

    def __init__(
        self, pool: asyncpg.Pool, channel: str, wake: Callable[[str | None], None]
    ) -> None:
        self.pool = pool
        self.channel = channel
        self.wake = wake
        self.state = ListenerState(False)
        self._conn: PoolConnectionProxy[asyncpg.Record] | None = None
        self._failures = 0
        self._retry_at = 0.0
        self._task: asyncio.Task[None] | None = None
        self._kick = asyncio.Event()  # the connection ended: listen again now

    @property
    def connected(self) -> bool:
        return self._conn is not None and _open(self._conn)

    def retry_in(self) -> float:
        """Seconds until the next attempt to listen (0 when listening or due)."""
        return max(0.0, self._retry_at - asyncio.get_running_loop().time())

    async def start(self) -> None:
        """Listen now, then keep listening: reconnect with back-off after any loss."""
        await self.ensure()
        self._task = asyncio.create_task(self._keep_listening())

    async def stop(self) -> None:
        """Stop listening and give the connection back."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.close()

    async def _keep_listening(self) -> None:
        while True:
            self._kick.clear()
            if not await self.ensure():
                await asyncio.sleep(max(self.retry_in(), 0.05))
                continue
            try:
                await asyncio.wait_for(self._kick.wait(), PROBE_EVERY)
            except TimeoutError:
                await self.probe()

    async def ensure(self) -> bool:
        """Listen, unless already listening or still backing off; whether it listens now."""
        if self.connected:
            return True
        if self._conn is not None:
            await self._drop("connection lost")
        if self.retry_in() > 0:
            return False
        try:
            conn = await asyncio.wait_for(self.pool.acquire(), CONNECT_TIMEOUT)
        except LOST as e:
            self._failed(e)
            return False
        try:
            await conn.add_listener(self.channel, self._notified)
            conn.add_termination_listener(self._terminated)
        except LOST as e:
            await self._release(conn)
            self._failed(e)
            return False
        if self.state.since is not None:
            log.info("listening on %s again", self.channel)
        self._conn, self._failures = conn, 0
        self.state = ListenerState(True, datetime.now(UTC))
        self.wake(None)
        return True

    async def probe(self) -> None:
        """Check the connection answers; drop it if not (a frozen or half-open server)."""
        if self._conn is None or not _open(self._conn):
            return
        try:
            await asyncio.wait_for(self._conn.fetchval("SELECT 1"), PROBE_TIMEOUT)
        except LOST as e:
            self._conn.terminate()
            await self._drop(f"{type(e).__name__}: {e}")

    async def close(self) -> None:
        """Stop listening and give the connection back."""
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(*LOST):
                conn.remove_termination_listener(self._terminated)
                await conn.remove_listener(self.channel, self._notified)
            await self._release(conn)
        self.state = ListenerState(False, datetime.now(UTC))

    def _notified(self, _conn: object, _pid: int, _channel: str, payload: object) -> None:
        self.wake(payload if isinstance(payload, str) else None)

    def _terminated(self, _conn: object) -> None:
        self._lost("connection lost")
        self._kick.set()  # the loop calls ensure(), which listens again
        self.wake(None)

    async def _drop(self, why: str) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            await self._release(conn)
        self._lost(why)

    def _lost(self, why: str) -> None:
        if self.state.connected:  # said once per loss, dated when it was noticed
            log.warning("stopped listening on %s: %s; listening again", self.channel, why)
            self.state = ListenerState(False, datetime.now(UTC), why)

    def _failed(self, error: BaseException) -> None:
        self._failures += 1
        pause = min(MAX_BACKOFF, FIRST_BACKOFF * 2 ** min(self._failures, 10))
        self._retry_at = asyncio.get_running_loop().time() + pause
        why = f"{type(error).__name__}: {error}"
        since = self.state.since if not self.state.connected and self.state.since else None
        self.state = ListenerState(False, since or datetime.now(UTC), why)
        log.warning("cannot listen on %s (%s); trying again in %.1f s", self.channel, why, pause)

    async def _release(self, conn: PoolConnectionProxy[asyncpg.Record]) -> None:
        # A lost connection goes back too: the pool replaces it.
        with contextlib.suppress(*LOST):
            await self.pool.release(conn)


def _open(conn: PoolConnectionProxy[asyncpg.Record]) -> bool:
    try:
        return not conn.is_closed()
    except asyncpg.InterfaceError:  # the pool took the lost connection back already
        return False
