"""The read audit: who read which family's personal data, when, and how."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

import asyncpg

from service.access.auth import Identity

log = logging.getLogger(__name__)

# One record per answer, naming every family it read (migration 0011). unnest cannot take
# an array of arrays apart row by row, so each answer's families arrive as a slice of $4
# between offsets $5 (its first, 1-based) and $6 (its last).
RECORD = """
INSERT INTO access_log (subject, role, operation, family_ids)
SELECT s, r, o, ($4::uuid[])[first:last]
  FROM unnest($1::text[], $2::text[], $3::text[], $5::int[], $6::int[]) AS a(s, r, o, first, last)
"""
# The service creates this month's partition and the next ones' before it writes into them.
MONTHS_AHEAD = 2
CREATE_MONTHS = "SELECT reunite_access_log_months($1)"


@dataclass(frozen=True)
class _Read:
    """One caller's rows, and how it learns they are on record."""

    subject: str
    role: str
    operation: str
    family_ids: list[UUID]
    recorded: asyncio.Future[None]


class AccessLog:
    """Appends reads to access_log: concurrent callers share one INSERT and one commit.

    Each caller still waits until its own rows have committed, so no answer leaves before
    the read it reveals is on record. While one write is in flight the next callers queue
    and go together in the following one: a commit per request would cost a WAL flush each.
    """

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self._queued: list[_Read] = []
        self._writer: asyncio.Task[None] | None = None
        self._months_made: tuple[int, int] | None = None  # (year, month) last ensured
        self.written = 0  # rows committed by this process (a metric)

    async def record(self, reader: Identity, operation: str, family_ids: Collection[UUID]) -> None:
        """Append one record naming the families read; return once it is committed."""
        if not family_ids:
            return
        recorded: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        # A caller that went away leaves nobody to read a failure: it is logged instead.
        recorded.add_done_callback(_unread)
        self._queued.append(
            _Read(reader.subject, reader.role.value, operation, sorted(family_ids), recorded)
        )
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_queued())
        # Shielded: a caller that goes away (a closed connection) must not cancel the write
        # its own and other callers' rows are in.
        await asyncio.shield(recorded)

    async def drain(self) -> None:
        """Wait for every queued read to be written (at shutdown)."""
        if self._writer is not None:
            await self._writer

    async def _write_queued(self) -> None:
        while self._queued:
            batch, self._queued = self._queued, []
            try:
                await self._insert(batch)
            except Exception as e:
                if len(batch) == 1 or not isinstance(e, asyncpg.DataError):
                    # The database is gone or timed out: every read of the batch failed.
                    for read in batch:
                        read.recorded.set_exception(e)
                    continue
                # One bad read (say, a subject PostgreSQL cannot store) must not fail the
                # others: each is written on its own, and only the bad one fails.
                for read in batch:
                    try:
                        await self._insert([read])
                    except Exception as alone:
                        read.recorded.set_exception(alone)
                    else:
                        read.recorded.set_result(None)
            else:
                for read in batch:
                    read.recorded.set_result(None)

    async def _insert(self, batch: list[_Read]) -> None:
        await self._ensure_months()
        families: list[UUID] = []
        first: list[int] = []
        last: list[int] = []
        for read in batch:
            first.append(len(families) + 1)
            families.extend(read.family_ids)
            last.append(len(families))
        args = (
            [read.subject for read in batch],
            [read.role for read in batch],
            [read.operation for read in batch],
            families,
            first,
            last,
        )
        try:
            await self.pool.execute(RECORD, *args)
        except asyncpg.SerializationError:
            # The read waited for the chain across the turn of a month (migration 0011).
            await self._ensure_months(again=True)
            await self.pool.execute(RECORD, *args)
        self.written += len(families)

    async def _ensure_months(self, again: bool = False) -> None:
        """This month's partition and the next ones, created once a month by the service."""
        now = datetime.now(UTC)
        if again or self._months_made != (now.year, now.month):
            await self.pool.execute(CREATE_MONTHS, MONTHS_AHEAD)
            self._months_made = (now.year, now.month)


def _unread(recorded: asyncio.Future[None]) -> None:
    if not recorded.cancelled() and (error := recorded.exception()) is not None:
        log.debug("access log write failed: %s", error)


async def page(
    pool: asyncpg.Pool,
    family_id: UUID | None,
    subject: str | None,
    before: int,
    limit: int,
    backward: bool = False,
) -> list[asyncpg.Record]:
    """Newest first, older than `before`, optionally for one family or one reader; backward:
    newer than `before`, oldest first (the page before it in the list's order)."""
    # Only the filters given are in the SQL, so each shape has a plan that uses its index.
    clauses: list[str] = ["id > $1" if backward else "id < $1"]
    args: list[object] = [before, limit]
    for fragment, value in (
        ("family_ids @> ARRAY[${}::uuid]", family_id),
        ("subject = ${}", subject),
    ):
        if value is not None:
            args.append(value)
            clauses.append(fragment.format(len(args)))
    sql = (
        "SELECT id, read_at, subject, role, operation, family_ids FROM access_log"
        f" WHERE {' AND '.join(clauses)} ORDER BY id {'ASC' if backward else 'DESC'} LIMIT $2"
    )
    return await pool.fetch(sql, *args)


WHO_READ = """
SELECT id, read_at, subject, role, operation, family_ids FROM access_log
 WHERE family_ids @> ARRAY[$1::uuid] AND read_at >= $2 AND read_at < $3 ORDER BY id
"""


async def who_read(
    pool: asyncpg.Pool, family_id: UUID, since: datetime, until: datetime
) -> list[asyncpg.Record]:
    """The records naming the family read in [since, until), oldest first: one statement,
    the months outside the range pruned, the family found in each month's GIN index."""
    return await pool.fetch(WHO_READ, family_id, since, until)


async def archived_months(pool: asyncpg.Pool) -> list[str]:
    """The months archived out of the hot database ('2026-01'), oldest first."""
    rows = await pool.fetch("SELECT month FROM access_log_archives ORDER BY month")
    return [row["month"].strftime("%Y-%m") for row in rows]
