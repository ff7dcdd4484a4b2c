"""One owner per projection across a fleet: a session-level advisory lock on a held connection.

A process that runs projections claims each one with `pg_try_advisory_lock` on one
connection it keeps for that alone, and applies batches only to the projections it holds.
PostgreSQL releases a session's locks when the session ends, so an owner that dies (kill -9)
or loses its connection loses its projections with it, and a standby, which tries again
every `poll` seconds, takes them over within about that long. Different processes may own
different projections: each lock is claimed on its own.

Ownership only keeps other processes from contending; it is not what makes a batch apply
once. Each batch still takes the projection's transaction-level turn and saves its
checkpoint only from where it began (runner.py), so an owner that lost its lock and has not
noticed yet (for at most one poll) can at worst fail a batch, never apply one twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from service.postgres.listener import LOST

log = logging.getLogger(__name__)

# Distinct from the batch's transaction-level turn ('reunite.projection:' || name).
TRY_OWN = "SELECT pg_try_advisory_lock(hashtext('reunite.projection.owner:' || $1))"
DISOWN = "SELECT pg_advisory_unlock(hashtext('reunite.projection.owner:' || $1))"
PROBE = "SELECT 1"
# Said on the runners' channel once a process has let its projections go, so standbys
# claim them at once rather than at their next poll.
RELEASED = "reunite.projections.released"
SAY_RELEASED = "SELECT pg_notify($1, $2)"
CONNECT_TIMEOUT = 5.0
PROBE_TIMEOUT = 2.0  # an owner whose server stopped answering gives its projections up


class Ownership:
    """Which projections this process owns now; claim() tries for the rest."""

    def __init__(self, pool: asyncpg.Pool, names: Iterable[str], channel: str) -> None:
        self.pool = pool
        self.channel = channel
        self.names = list(names)
        self.owned: set[str] = set()
        self.since: dict[str, float] = {}  # wall-clock time each was taken, for metrics
        self.changed = asyncio.Event()  # set whenever a projection is taken or lost
        self._conn: PoolConnectionProxy[asyncpg.Record] | None = None
        self._unreachable = False  # said once per outage, not at every poll

    def owns(self, name: str) -> bool:
        return name in self.owned

    async def claim(self) -> set[str]:
        """Check the held connection still answers (else every projection is lost), then
        try to take each projection not held; return those taken now."""
        if self._conn is not None:
            try:
                await asyncio.wait_for(self._conn.fetchval(PROBE), PROBE_TIMEOUT)
            except LOST as e:
                await self._lose(f"{type(e).__name__}: {e}")
        if self._conn is None:
            try:
                self._conn = await asyncio.wait_for(self.pool.acquire(), CONNECT_TIMEOUT)
            except LOST as e:
                if not self._unreachable:
                    log.warning("cannot claim projections (%s: %s)", type(e).__name__, e)
                self._unreachable = True
                return set()
            self._unreachable = False
        taken = set()
        for name in self.names:
            if name in self.owned:
                continue
            try:
                got = await asyncio.wait_for(self._conn.fetchval(TRY_OWN, name), PROBE_TIMEOUT)
            except LOST as e:
                await self._lose(f"{type(e).__name__}: {e}")
                return set()
            if got:
                taken.add(name)
        if taken:
            now = time.time()
            self.owned |= taken
            self.since.update(dict.fromkeys(taken, now))
            log.info("this process now runs projection(s) %s", ", ".join(sorted(taken)))
            self.changed.set()
        return taken

    async def release(self) -> None:
        """Give every projection up (unlock, then return the connection), so a standby
        takes over at its next poll rather than when this process's session ends."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        with contextlib.suppress(*LOST):
            for name in sorted(self.owned):
                await asyncio.wait_for(conn.fetchval(DISOWN, name), PROBE_TIMEOUT)
            if self.owned:
                await asyncio.wait_for(
                    conn.fetchval(SAY_RELEASED, self.channel, RELEASED), PROBE_TIMEOUT
                )
        if self.owned:
            log.info("released projection(s) %s", ", ".join(sorted(self.owned)))
        self.owned.clear()
        self.since.clear()
        self.changed.set()
        with contextlib.suppress(*LOST):
            await self.pool.release(conn)  # the pool resets it (unlocking all) before reuse

    async def _lose(self, why: str) -> None:
        conn, self._conn = self._conn, None
        if self.owned:
            log.warning("lost projection(s) %s: %s", ", ".join(sorted(self.owned)), why)
        self.owned.clear()
        self.since.clear()
        self.changed.set()
        if conn is not None:
            conn.terminate()  # whatever locks it held end with the session
            with contextlib.suppress(*LOST):
                await self.pool.release(conn)
