"""Import the ORR list into family streams: one case per row, many cases per transaction.

Each accepted row is decided by the domain (service.orr_import.events), then appended as one
stream under an idempotency key from the file's name and the row's number, with a digest
of the row's cells. A batch first asks the store which of its keys are taken: a key taken
with the same digest is a row imported before (skipped), with another digest a conflict
(reported, never overwritten). The rest go in one transaction, one EventStore.append (a
single INSERT) per stream, and are announced once it has committed. Should the store refuse
one of them (a concurrent writer took its key or stream), the batch is rolled back and redone
row by row, each in its own savepoint, so one row fails alone.
"""

from __future__ import annotations

import asyncio
import getpass
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar
from uuid import uuid4

from domain.errors import DomainError
from service.eventstore.records import Connection, NewEvent
from service.eventstore.store import EventStore, IdempotencyKeyReused, StoreError, VersionConflict
from service.orr_import.events import Decided, Unrecordable, decide
from service.orr_import.identity import ImportRun, idempotency_key, row_digest
from service.orr_import.progress import Progress, Silent
from service.orr_import.reader import read_file
from service.orr_import.report import ImportReport, Outcome, RowOutcome
from service.orr_import.row import OrrRow, Rejected

BATCH_SIZE = 200  # streams per transaction: ~1,800 events, each transaction short
# Transactions in flight at once, each on its own connection: the server works on one
# while the next batch is decided and encoded here.
WRITERS = 4

T = TypeVar("T")


@dataclass(frozen=True)
class Pending:
    """A decided row not yet in the store: what to append, under which key."""

    decided: Decided
    key: str
    digest: bytes
    events: tuple[NewEvent, ...]


class OrrImporter:
    """Reads one ORR file and appends a family case per readable row."""

    def __init__(
        self,
        store: EventStore,
        *,
        actor: str | None = None,
        batch_size: int = BATCH_SIZE,
        writers: int = WRITERS,
        progress: Progress | None = None,
    ) -> None:
        self.store = store
        self.actor = actor or getpass.getuser()
        self.batch_size = batch_size
        self.writers = writers
        self.progress = progress or Silent()

    async def run(self, path: Path) -> ImportReport:
        """Import the file; every record ends imported, skipped, in conflict or rejected."""
        began = time.perf_counter()
        orr = read_file(path)
        run = ImportRun(orr.name, orr.sha256, self.actor, datetime.now(UTC), uuid4())
        self.progress.start(len(orr.results), f"importing {orr.name}")
        self.progress.advance(len(orr.rejected))
        try:
            outcomes, refused = await self._import_rows(run, orr.accepted)
        finally:
            self.progress.finish()
        return ImportReport(
            file_name=run.file_name,
            sha256=run.sha256,
            actor=run.actor,
            started_at=run.started_at,
            correlation_id=run.correlation_id,
            rows_read=orr.summary.rows_read,
            rejected=tuple(sorted((*orr.rejected, *refused), key=lambda r: r.row_number)),
            outcomes=tuple(sorted(outcomes, key=lambda o: o.row_number)),
            seconds=time.perf_counter() - began,
        )

    async def _import_rows(
        self, run: ImportRun, rows: Sequence[OrrRow]
    ) -> tuple[list[RowOutcome], list[Rejected]]:
        """Decide and append batch by batch, a few batches in flight at once."""
        outcomes: list[RowOutcome] = []
        refused: list[Rejected] = []
        writers = asyncio.Semaphore(self.writers)

        async def write(batch: Sequence[OrrRow]) -> None:
            async with writers:
                decided, rejected = decide_all(batch, run)
                refused.extend(rejected)
                outcomes.extend(await self._import_batch(run, decided))
            self.progress.advance(len(batch))

        # A group, not gather: should one batch fail, the others are cancelled, not left running.
        async with asyncio.TaskGroup() as group:
            for batch in chunks(rows, self.batch_size):
                group.create_task(write(batch))
        return outcomes, refused

    async def _import_batch(self, run: ImportRun, batch: Sequence[Decided]) -> list[RowOutcome]:
        """Skip what was imported before, report conflicts, append the rest together."""
        if not batch:
            return []
        keys = [idempotency_key(run.file_name, d.row.row_number) for d in batch]
        taken = await self.store.command_digests(keys)
        new = [e for d, key in zip(batch, keys, strict=True) if key not in taken for e in d.events]
        await self.store.ensure_keys(new)  # personal data is sealed under each person's key
        outcomes, pending = [], []
        for decided, key in zip(batch, keys, strict=True):
            digest = row_digest(decided.row.raw)
            if key not in taken:
                pending.append(Pending(decided, key, digest, self._encode(decided)))
            elif taken[key] == digest:
                outcomes.append(_outcome(decided, Outcome.ALREADY_IMPORTED))
            else:
                outcomes.append(_conflict(decided, IdempotencyKeyReused(_changed(key))))
        if pending:
            outcomes += await self._append(run, pending)
        return outcomes

    async def _append(self, run: ImportRun, pending: Sequence[Pending]) -> list[RowOutcome]:
        """All pending streams in one transaction; row by row if another writer interfered."""
        try:
            async with self.store.pool.acquire() as conn, conn.transaction():
                outcomes = [await self._append_one(conn, run, p) for p in pending]
        except StoreError:
            async with self.store.pool.acquire() as conn, conn.transaction():
                outcomes = [await self._append_alone(conn, run, p) for p in pending]
        await self.store.announcements.now()
        return outcomes

    async def _append_alone(self, conn: Connection, run: ImportRun, p: Pending) -> RowOutcome:
        """One stream in a savepoint of the caller's transaction: its failure undoes it only."""
        try:
            async with conn.transaction():
                return await self._append_one(conn, run, p)
        except (IdempotencyKeyReused, VersionConflict) as error:
            return await self._refused(p, error)

    async def _refused(self, p: Pending, error: StoreError) -> RowOutcome:
        """A row the store refused: imported by a concurrent import, or in conflict."""
        try:
            if await self.store.find_command(p.key, p.digest) is not None:
                return _outcome(p.decided, Outcome.ALREADY_IMPORTED)
        except IdempotencyKeyReused as reused:
            return _conflict(p.decided, reused)
        return _conflict(p.decided, error)

    async def _append_one(self, conn: Connection, run: ImportRun, p: Pending) -> RowOutcome:
        row = p.decided.row
        result = await self.store.append(
            p.decided.family_id,
            0,
            p.events,
            run.provenance(row.row_number),
            p.key,
            p.digest,
            conn=conn,
        )
        if result.duplicate:  # another import of the same row got there first
            return _outcome(p.decided, Outcome.ALREADY_IMPORTED)
        return _outcome(p.decided, Outcome.IMPORTED, len(p.events))

    def _encode(self, decided: Decided) -> tuple[NewEvent, ...]:
        return tuple(self.store.encode(e) for e in decided.events)


def decide_all(rows: Sequence[OrrRow], run: ImportRun) -> tuple[list[Decided], list[Rejected]]:
    """Each row's case, or the row rejected with the reason the importer cannot record it."""
    decided, rejected = [], []
    for row in rows:
        try:
            decided.append(decide(row, run))
        except (Unrecordable, DomainError) as error:
            reason = f"not recordable: {error}"
            rejected.append(Rejected(row.row_number, row.line_number, reason, row.raw))
    return decided, rejected


def chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """Consecutive slices of at most size items."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _outcome(decided: Decided, outcome: Outcome, events: int = 0) -> RowOutcome:
    return RowOutcome(decided.row.row_number, outcome, decided.rules, events)


def _conflict(decided: Decided, error: StoreError) -> RowOutcome:
    return RowOutcome(decided.row.row_number, Outcome.CONFLICT, detail=str(error))


def _changed(key: str) -> str:
    return f"{key} was imported from a row with other content; nothing was overwritten"
