"""Where the read models stand: each one's checkpoint, lag and parked events, and the
bounded wait for a position that read-your-writes needs. It reads; it never changes a thing."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field

import asyncpg

from projections import parking
from projections.parking import ParkedSummary
from service.eventstore.records import LogPosition

UNANNOUNCED_POLL = 0.25  # seconds between looks while waiting for announcements

READ_CHECKPOINT = """
SELECT transaction_id::text::bigint AS transaction_id, position, ddl_digest
  FROM projection_checkpoints WHERE name = $1
"""
# Whether a projection stands before the last committed event: one statement, as each
# projection's loop asks it after every wake-up.
BEHIND = """
SELECT coalesce(bool_or((c.transaction_id, c.position) < (h.transaction_id, h.position)), false)
  FROM projection_checkpoints c,
       (SELECT transaction_id, position FROM events
         ORDER BY events.transaction_id DESC, events.position DESC LIMIT 1) h
 WHERE c.name = ANY($1::text[])
"""
STATUS = """
SELECT c.name, c.position, c.events_applied, c.updated_at,
       (SELECT count(*) FROM events e
         WHERE (e.transaction_id, e.position) > (c.transaction_id, c.position)) AS lag
  FROM projection_checkpoints c ORDER BY c.name
"""
# Caught up to P: no projection has a committed event at or below P still ahead of it. A
# position no event holds (rolled back) is reached with everything committed before it.
# Ordered by the log's index from each checkpoint, so only the events after it are read.
CAUGHT_UP_TO = """
SELECT NOT EXISTS (
  SELECT FROM projection_checkpoints c CROSS JOIN LATERAL (
    SELECT FROM events e
     WHERE (e.transaction_id, e.position) > (c.transaction_id, c.position)
       AND e.position <= $1
     ORDER BY e.transaction_id, e.position LIMIT 1
  ) ahead
   WHERE c.name = ANY($2::text[])
) AND (SELECT count(*) FROM projection_checkpoints WHERE name = ANY($2::text[]))
      = cardinality($2::text[])
"""


@dataclass(frozen=True)
class ProjectionStatus:
    """Where one read model stands, and what it has parked."""

    name: str
    position: int
    events_applied: int
    lag: int
    parked: ParkedSummary = field(default_factory=ParkedSummary)


class Progress:
    """Reads where a set of projections stands."""

    def __init__(self, pool: asyncpg.Pool, names: Iterable[str]) -> None:
        self.pool = pool
        self.names = list(names)

    async def checkpoint(self, name: str) -> LogPosition:
        """Where a projection stands in the log."""
        row = await self.pool.fetchrow(READ_CHECKPOINT, name)
        return LogPosition(row["transaction_id"], row["position"]) if row else LogPosition()

    async def behind(self, names: Sequence[str]) -> bool:
        """Whether committed events wait for any of these projections."""
        return bool(await self.pool.fetchval(BEHIND, list(names)))

    async def status(self) -> list[ProjectionStatus]:
        """Each projection's checkpoint, how many events it has still to apply, and what
        it has parked."""
        rows = await self.pool.fetch(STATUS)
        parked = await parking.summaries(self.pool)
        return [
            ProjectionStatus(
                r["name"],
                r["position"],
                r["events_applied"],
                r["lag"],
                parked.get(r["name"], ParkedSummary()),
            )
            for r in rows
        ]

    async def caught_up_to(self, position: int, names: Sequence[str] | None = None) -> bool:
        """Whether the projections have applied every committed event up to this position."""
        wanted = list(names or self.names)
        return bool(await self.pool.fetchval(CAUGHT_UP_TO, position, wanted))

    async def wait_for(
        self, position: int, within: float, woken: Callable[[], Awaitable[object]] | None = None
    ) -> bool:
        """Wait until projections have applied position, at most `within` seconds: look
        again each time `woken` returns (a batch was announced), else every 10 ms."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while not await self.caught_up_to(position):
            if loop.time() >= deadline:
                return False
            if woken is None:
                await asyncio.sleep(0.01)
                continue
            # An announcement may be lost with its connection: look again at least this often.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(woken(), UNANNOUNCED_POLL)
        return True
