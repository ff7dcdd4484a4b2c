"""Parked events: what a read model could not apply, and what of that family waits behind it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID

import asyncpg

from service.eventstore.records import COLUMNS, Connection, RecordedEvent, recorded_event

PARKED_FAMILIES = """
SELECT DISTINCT stream_id FROM parked_events
 WHERE projection = $1 AND stream_id = ANY($2::uuid[])
"""
PARK = """
INSERT INTO parked_events (projection, stream_id, version, transaction_id, position, topic, error)
VALUES ($1, $2, $3, $4::text::xid8, $5, $6, $7)
"""
FORGET = "DELETE FROM parked_events WHERE projection = $1"
# Every parked family of each projection, or of one family.
PARKED_STREAMS = """
SELECT projection, stream_id FROM parked_events
 WHERE $1::uuid IS NULL OR stream_id = $1
 GROUP BY projection, stream_id ORDER BY min(parked_at), projection, stream_id
"""
PARKED_EVENTS = f"""
SELECT {COLUMNS} FROM events
 WHERE position IN (SELECT position FROM parked_events WHERE projection = $1 AND stream_id = $2)
 ORDER BY events.transaction_id, events.position
"""
UNPARK = """
DELETE FROM parked_events WHERE projection = $1 AND stream_id = $2 AND version = ANY($3::int[])
"""
REASON = """
UPDATE parked_events SET error = $4 WHERE projection = $1 AND stream_id = $2 AND version = $3
"""
# One line per parked family and projection: the event that failed first and why.
LISTING = """
SELECT projection, stream_id, count(*) AS events, min(parked_at) AS since,
       (array_agg(version ORDER BY transaction_id, position))[1] AS version,
       (array_agg(position ORDER BY transaction_id, position))[1] AS position,
       (array_agg(topic ORDER BY transaction_id, position))[1] AS topic,
       (array_agg(error ORDER BY transaction_id, position))[1] AS error
  FROM parked_events
 GROUP BY projection, stream_id
 ORDER BY since, projection, stream_id
"""
# Per projection: how much is parked, and the latest failure's reason.
SUMMARY = """
SELECT projection, count(*) AS events, count(DISTINCT stream_id) AS streams,
       (array_agg(error ORDER BY parked_at DESC, position DESC)
          FILTER (WHERE error IS NOT NULL))[1] AS last_error,
       max(parked_at) FILTER (WHERE error IS NOT NULL) AS last_error_at
  FROM parked_events GROUP BY projection
"""
STALE_FAMILIES = """
SELECT stream_id AS family_id, min(parked_at) AS since, array_agg(DISTINCT projection) AS models
  FROM parked_events WHERE stream_id = ANY($1::uuid[]) GROUP BY stream_id
"""
ERROR_LENGTH = 2000


def reason(error: BaseException) -> str:
    """An error as stored text: bounded, and free of what a text column refuses."""
    text = f"{type(error).__name__}: {error}"[:ERROR_LENGTH]
    return text.replace("\0", "\\x00").encode("utf-8", "backslashreplace").decode()


@dataclass(frozen=True)
class Parked:
    """One event a read model set aside: the one that failed (with its error), or one of
    its family waiting behind it (error None)."""

    projection: str
    stream_id: UUID
    version: int
    transaction_id: int
    position: int
    topic: str
    error: str | None

    @classmethod
    def of(cls, projection: str, r: RecordedEvent, error: str | None) -> Parked:
        return cls(projection, r.stream_id, r.version, r.transaction_id, r.position, r.topic, error)

    def row(self) -> tuple[object, ...]:
        return (
            self.projection,
            self.stream_id,
            self.version,
            str(self.transaction_id),
            self.position,
            self.topic,
            self.error,
        )


@dataclass(frozen=True)
class ParkedStream:
    """A family one read model stopped at: since when, at which event, why, how much waits."""

    projection: str
    family_id: UUID
    events: int
    since: datetime
    version: int
    position: int
    topic: str
    error: str | None


@dataclass(frozen=True)
class ParkedSummary:
    """How much one read model holds parked, and the latest failure's reason."""

    events: int = 0
    streams: int = 0
    last_error: str | None = None
    last_error_at: datetime | None = None


class Parking(Protocol):
    """Where a batch's parked events go: the live table, or a rebuild's memory."""

    async def families(self, conn: Connection, projection: str, ids: list[UUID]) -> set[UUID]:
        """Which of these families the projection has parked."""

    async def park(self, conn: Connection, parked: Sequence[Parked]) -> None:
        """Set these events aside, in the caller's transaction."""


class ParkingTable:
    """The live read models' parked events, in parked_events."""

    async def families(self, conn: Connection, projection: str, ids: list[UUID]) -> set[UUID]:
        return {r["stream_id"] for r in await conn.fetch(PARKED_FAMILIES, projection, ids)}

    async def park(self, conn: Connection, parked: Sequence[Parked]) -> None:
        await conn.executemany(PARK, [p.row() for p in parked])


class ParkingInMemory:
    """A rebuild's parked events, kept until its tables are swapped in."""

    def __init__(self) -> None:
        self.parked: list[Parked] = []

    async def families(self, conn: Connection, projection: str, ids: list[UUID]) -> set[UUID]:
        return {p.stream_id for p in self.parked} & set(ids)

    async def park(self, conn: Connection, parked: Sequence[Parked]) -> None:
        self.parked += parked

    async def replace(self, conn: Connection, projection: str) -> None:
        """Make these the projection's parked events, as its rebuilt tables are swapped in."""
        await conn.execute(FORGET, projection)
        await ParkingTable().park(conn, self.parked)


async def parked_streams(pool: asyncpg.Pool) -> list[ParkedStream]:
    """Every family a read model stopped at, oldest first."""
    return [
        ParkedStream(
            r["projection"],
            r["stream_id"],
            r["events"],
            r["since"],
            r["version"],
            r["position"],
            r["topic"],
            r["error"],
        )
        for r in await pool.fetch(LISTING)
    ]


async def summaries(pool: asyncpg.Pool) -> dict[str, ParkedSummary]:
    """Each projection's parked counts and latest failure (absent: nothing parked)."""
    return {
        r["projection"]: ParkedSummary(
            r["events"], r["streams"], r["last_error"], r["last_error_at"]
        )
        for r in await pool.fetch(SUMMARY)
    }


async def streams_to_retry(conn: Connection, family: UUID | None) -> list[tuple[str, UUID]]:
    """(projection, family) of every parked family, or of one family, oldest first."""
    return [(r["projection"], r["stream_id"]) for r in await conn.fetch(PARKED_STREAMS, family)]


async def parked_events(conn: Connection, projection: str, family: UUID) -> list[RecordedEvent]:
    """A family's parked events for one projection, in log order."""
    return list(map(recorded_event, await conn.fetch(PARKED_EVENTS, projection, family)))


async def unpark(
    conn: Connection, projection: str, family: UUID, applied: list[int], held: Sequence[Parked]
) -> None:
    """Forget the family's applied parked events; the rest stay, each with its new reason."""
    await conn.execute(UNPARK, projection, family, applied)
    await conn.executemany(REASON, [(projection, family, p.version, p.error) for p in held])
