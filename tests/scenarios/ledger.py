"""The hash-chained log: events chained by hand, the log read once settled, tampering as a
superuser could do it, and the auditor's command line."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg
import pytest

from service.application.container import Container
from service.entrypoints import audit_cli
from service.eventstore.chain import event_hash
from service.eventstore.provenance import Provenance
from service.eventstore.records import Connection, LogPosition, NewEvent, RecordedEvent
from service.ledger.reads import READ_COLUMNS, read_hash
from tests.scenarios.family import T0

NEIGHBOURS = (UUID("11111111-2222-4333-8444-555555555555"), UUID(int=7))


def recorded(stream: UUID, version: int, position: int, prev: bytes | None) -> RecordedEvent:
    """An event chained as the database chains it; some fields unknown, some not ASCII."""
    event = RecordedEvent(
        position=position,
        transaction_id=900 + position,
        stream_id=stream,
        version=version,
        topic="domain.family:Family.Separated",
        payload=f'{{"step": {version}}}'.encode() + b"\x00\xff",
        occurred_at=None if version == 2 else T0 + timedelta(days=version),
        recorded_at=T0 + timedelta(days=400, microseconds=position),
        actor="maría.lópez",
        role="caseworker",
        source="import:orr.csv row 58",
        reason="Niño",
        correlation_id=None,
        causation_id=None,
        idempotency_key=f"cmd-{position}" if version % 2 else None,
        prev_hash=prev,
        hash=b"",
    )
    return event._replace(hash=event_hash(event, prev))


WRITER = Provenance(actor="importer", role="importer", source="test")
EVERY_EVENT_FINAL = """
SELECT NOT EXISTS (
    SELECT FROM events WHERE transaction_id >= pg_snapshot_xmin(pg_current_snapshot())
)
"""


async def settled(pool: asyncpg.Pool) -> None:
    """Wait until every event is final: other sessions on a shared server hold the horizon too."""
    for _ in range(1000):
        if await pool.fetchval(EVERY_EVENT_FINAL):
            return
        await asyncio.sleep(0.01)
    raise AssertionError("a transaction elsewhere on the server held the log back for 10 s")


def tick(label: str) -> list[NewEvent]:
    return [NewEvent("tests:Tick", label.encode(), None)]


async def read_log(container: Container) -> list[RecordedEvent]:
    """The whole log, once every event committed so far is past the readers' watermark."""
    head = await container.store.committed_head()
    for _ in range(600):  # another session's open transaction only delays the watermark
        log = await container.store.read_log(LogPosition(), limit=10_000)
        if log and LogPosition(log[-1].transaction_id, log[-1].position) >= head:
            return log
        await asyncio.sleep(0.05)
    raise TimeoutError("the log did not settle")


GUARD = "events_recorded_by_inserting_transaction"


@contextlib.asynccontextmanager
async def unguarded(pool: asyncpg.Pool) -> AsyncIterator[Connection]:
    """A transaction in which the log's guards are off, as a superuser could arrange."""
    async with pool.acquire() as conn, conn.transaction():
        # Replica mode skips ordinary triggers; SET LOCAL ends with the transaction, so the
        # pooled connection goes back guarded. The constraint on who inserted a row is
        # dropped and put back, as it was, in the same transaction.
        await conn.execute("SET LOCAL session_replication_role = replica")
        definition = await conn.fetchval(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = $1", GUARD
        )
        await conn.execute(f"ALTER TABLE events DROP CONSTRAINT {GUARD}")
        yield conn
        await conn.execute(f"ALTER TABLE events ADD CONSTRAINT {GUARD} {definition}")


async def bypassing_the_guard(pool: asyncpg.Pool, sql: str, *args: Any) -> None:
    """Run a statement the append-only guards would refuse, as a superuser could."""
    async with unguarded(pool) as conn:
        await conn.execute(sql, *args)


async def rewrite_with_recomputed_hashes(container: Container, family: UUID) -> None:
    """Move the family's child to another care provider from version 3 on, as a forger who
    re-chains the stream (a clear value: names are sealed, and a forger cannot reseal)."""
    stream = await container.store.read_stream(family)
    # The forger recomputes every later hash, so the stream's own chain holds again.
    previous = stream[1].hash
    for old in stream[2:]:
        forged = old._replace(
            payload=old.payload.replace(b"Casa Padre", b"Casa Madre"), prev_hash=previous
        )
        forged = forged._replace(hash=event_hash(forged, previous))
        await bypassing_the_guard(
            container.database.pool,
            "UPDATE events SET payload = $1, prev_hash = $2, hash = $3 WHERE position = $4",
            forged.payload,
            forged.prev_hash,
            forged.hash,
            forged.position,
        )
        previous = forged.hash


class Cli:
    """Runs `reunite` audit commands in-process, on their own event loop as from a shell."""

    def __init__(self, capsys: pytest.CaptureFixture[str], pool: asyncpg.Pool) -> None:
        self.capsys = capsys
        self.pool = pool

    async def __call__(self, *args: str) -> tuple[int, str, str]:
        """The exit status, standard output and standard error of one command."""
        await settled(self.pool)
        loop = asyncio.get_running_loop()
        code = await loop.run_in_executor(None, audit_cli.main, list(args))
        out, err = self.capsys.readouterr()
        return code, out, err


def months_ago(n: int) -> date:
    """The first day of the month n months before this one (UTC)."""
    today = datetime.now(UTC)
    index = today.year * 12 + today.month - 1 - n
    return date(index // 12, index % 12 + 1, 1)


async def reads_in_past_months(
    pool: asyncpg.Pool, reads: list[tuple[date, str, list[UUID]]]
) -> None:
    """Reads in past months, ids from 1, chained as the database would have chained them
    then (the stamp gives every read the time it is inserted at, so the past is written by
    hand, the guards off), and the chain's head after them."""
    previous: bytes | None = None
    async with unguarded(pool) as conn:
        for n, (month, subject, families) in enumerate(reads, start=1):
            await conn.execute("SELECT reunite_access_log_month($1)", month)
            at = datetime(month.year, month.month, 2, tzinfo=UTC) + timedelta(seconds=n)
            digest = read_hash(previous, n, at, subject, "auditor", "query:family", families)
            await conn.execute(
                f"INSERT INTO access_log ({READ_COLUMNS}) VALUES ($1, $2, $3, 'auditor',"
                " 'query:family', $4, $5, $6)",
                n,
                at,
                subject,
                families,
                previous,
                digest,
            )
            previous = digest
        await conn.execute(
            "INSERT INTO access_log_head (last_id, hash) VALUES ($1, $2) ON CONFLICT (only_row)"
            " DO UPDATE SET last_id = excluded.last_id, hash = excluded.hash",
            len(reads),
            previous,
        )
