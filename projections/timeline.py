"""Read model: one human-readable row per event, with its full provenance."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

import asyncpg

from projections.projection import Envelope
from projections.summaries import label, summarize
from service.store import Connection

DDL = """
CREATE TABLE IF NOT EXISTS timeline (
    position        bigint PRIMARY KEY,
    family_id       uuid NOT NULL,
    version         integer NOT NULL,
    event_type      text NOT NULL,
    summary         text NOT NULL,
    occurred_at     timestamptz NOT NULL,
    recorded_at     timestamptz NOT NULL,
    actor           text NOT NULL,
    role            text NOT NULL,
    source          text NOT NULL,
    reason          text,
    correlation_id  uuid,
    causation_id    uuid,
    amends          integer,
    amended_by      integer[] NOT NULL DEFAULT '{}',
    UNIQUE (family_id, version)
);
CREATE TABLE IF NOT EXISTS timeline_labels (
    person_id  uuid PRIMARY KEY,
    family_id  uuid NOT NULL,
    label      text NOT NULL
);
"""

LOAD_LABELS = "SELECT person_id, label FROM timeline_labels WHERE family_id = ANY($1::uuid[])"
INSERT_LABEL = "INSERT INTO timeline_labels (person_id, family_id, label) VALUES ($1, $2, $3)"
INSERT_ROW = """
INSERT INTO timeline (position, family_id, version, event_type, summary, occurred_at,
                      recorded_at, actor, role, source, reason, correlation_id, causation_id,
                      amends)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
"""
# The original row stays; it is marked with the versions that amend it.
MARK_AMENDED = """
UPDATE timeline SET amended_by = array_append(amended_by, $3)
 WHERE family_id = $1 AND version = $2
"""
AMENDMENTS = ("EntryCorrected", "EntryRetracted")


class TimelineProjection:
    """Folds every event into one timeline row."""

    name = "timeline"
    tables: tuple[str, ...] = ("timeline", "timeline_labels")
    ddl = DDL

    async def apply(self, conn: Connection, batch: Sequence[Envelope]) -> None:
        ids = list({e.recorded.stream_id for e in batch})
        labels: dict[UUID, str] = dict(await conn.fetch(LOAD_LABELS, ids))  # type: ignore[arg-type]
        new_labels, rows, marks = [], [], []
        for envelope in batch:
            r, event = envelope.recorded, envelope.event
            if envelope.kind == "MemberAdded":
                labels[event.person_id] = label(event)
                new_labels.append((event.person_id, r.stream_id, labels[event.person_id]))
            p = r.provenance
            amends = event.version if envelope.kind in AMENDMENTS else None
            if amends is not None:
                marks.append((r.stream_id, amends, r.version))
            rows.append(
                (
                    r.position,
                    r.stream_id,
                    r.version,
                    envelope.kind,
                    summarize(envelope.kind, event, labels),
                    r.occurred_at,
                    r.recorded_at,
                    p.actor,
                    p.role,
                    p.source,
                    p.reason,
                    p.correlation_id,
                    p.causation_id,
                    amends,
                )
            )
        if new_labels:
            await conn.executemany(INSERT_LABEL, new_labels)
        await conn.executemany(INSERT_ROW, rows)
        if marks:
            await conn.executemany(MARK_AMENDED, marks)


PAGE = """
SELECT * FROM timeline WHERE family_id = $1 AND version > $2 ORDER BY version LIMIT $3
"""


async def page(
    pool: asyncpg.Pool, family_id: UUID, after_version: int, limit: int
) -> list[asyncpg.Record]:
    """A family's timeline rows in version order, after a keyset cursor."""
    return await pool.fetch(PAGE, family_id, after_version, limit)
