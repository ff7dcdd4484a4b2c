"""The read audit: who read which family's personal data, when, and how."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection
from dataclasses import dataclass
from uuid import UUID

import asyncpg

from service.access.auth import Identity

log = logging.getLogger(__name__)

RECORD = """
INSERT INTO access_log (subject, role, operation, family_id)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::uuid[])
"""


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

    async def record(self, reader: Identity, operation: str, family_ids: Collection[UUID]) -> None:
        """Append one row per family read; return once they are committed."""
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
        columns: tuple[list[str], list[str], list[str], list[UUID]] = ([], [], [], [])
        for read in batch:
            for family_id in read.family_ids:
                columns[0].append(read.subject)
                columns[1].append(read.role)
                columns[2].append(read.operation)
                columns[3].append(family_id)
        await self.pool.execute(RECORD, *columns)


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
    for fragment, value in (("family_id = ${}", family_id), ("subject = ${}", subject)):
        if value is not None:
            args.append(value)
            clauses.append(fragment.format(len(args)))
    sql = (
        "SELECT id, read_at, subject, role, operation, family_id FROM access_log"
        f" WHERE {' AND '.join(clauses)} ORDER BY id {'ASC' if backward else 'DESC'} LIMIT $2"
    )
    return await pool.fetch(sql, *args)
