"""The log's horizon in time: the latest moment whose recorded events can no longer change.

An append locks `events` (ROW EXCLUSIVE, held to its transaction's end) before its rows'
`recorded_at` (`clock_timestamp()`) is evaluated. So every event recorded before a probe's
`statement_timestamp()` belongs to a transaction that had ended by the probe, or that
holds such a lock in `pg_locks` then; once none of those is left, the events recorded
before that moment are final, and a later snapshot sees them all. This is the gap-safe
readers' rule (store.READ_LOG: nothing still running can appear behind them) kept to the
transactions that write this log, so a long transaction elsewhere does not hold it back.
A moment is sealed at once when no append is running, else by a later probe; this
assumes, as the log's `recorded_at` constraint does, that the database's clock does not
step back.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass
from datetime import datetime

import asyncpg

# Readers take ACCESS SHARE; every other lock on the log is a writer's (or stronger).
PROBE = """
SELECT statement_timestamp() AS at,
       coalesce(array_agg(virtualtransaction), '{}') AS writers
  FROM pg_locks
 WHERE locktype = 'relation' AND relation = 'events'::regclass
   AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
   AND granted AND mode <> 'AccessShareLock'
"""
PENDING = 32  # probes waiting for their transactions to end; older ones are let go
PROBES, PROBE_INTERVAL = 5, 0.05  # how long (seconds) a caller waits for a running writer


@dataclass(frozen=True)
class Probe:
    """A moment and the transactions that might still append events recorded before it."""

    at: datetime
    writers: frozenset[str]


class Horizon:
    """The latest moment known to be sealed, advanced by probes of the database."""

    def __init__(self) -> None:
        self.sealed: datetime | None = None
        self.pending: deque[Probe] = deque(maxlen=PENDING)

    def behind(self, moment: datetime) -> bool:
        """Whether every event recorded at or before `moment` is known to be final."""
        return self.sealed is not None and moment < self.sealed

    async def passed(self, pool: asyncpg.Pool, moment: datetime) -> bool:
        """Whether `moment` is behind the horizon, probing the database when not known yet;
        a writer still running is waited for a moment (appends are short), not longer."""
        for attempt in range(PROBES):
            if self.behind(moment):
                return True
            if attempt:
                await asyncio.sleep(PROBE_INTERVAL)
            if moment >= await self._probe(pool):
                return False  # not yet past: no wait can seal it
        return self.behind(moment)

    async def _probe(self, pool: asyncpg.Pool) -> datetime:
        """Take a probe and seal every pending one whose transactions have all ended."""
        row = await pool.fetchrow(PROBE)
        assert row is not None, "a SELECT without FROM returns one row"
        writers = frozenset(row["writers"])
        self.pending.append(Probe(row["at"], writers))
        for probe in list(self.pending):
            if not probe.writers & writers:  # every append it might have missed has ended
                self.pending.remove(probe)
                if self.sealed is None or probe.at > self.sealed:
                    self.sealed = probe.at
        at: datetime = row["at"]
        return at
