"""Read model: one human-readable row per event, with its full provenance."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any
from uuid import UUID

import asyncpg

from domain import events
from domain.corrections import PEOPLE
from projections.projection import Decode, Envelope, Prepare, decoded
from projections.summaries import label, summarize
from service.eventstore.records import COLUMNS, Connection, recorded_event

DDL = """
CREATE TABLE IF NOT EXISTS timeline (
    position        bigint PRIMARY KEY,
    family_id       uuid NOT NULL,
    version         integer NOT NULL,
    event_type      text NOT NULL,
    summary         text NOT NULL,
    occurred_at     timestamptz,
    recorded_at     timestamptz NOT NULL,
    actor           text NOT NULL,
    role            text NOT NULL,
    source          text NOT NULL,
    reason          text,
    correlation_id  uuid,
    causation_id    uuid,
    amends          integer,
    amended_by      integer[] NOT NULL DEFAULT '{}',
    people          uuid[] NOT NULL DEFAULT '{}',
    -- Part of a protection claim (an asylum record), or an amendment or flag of one: only
    -- who may read the asylum facts of every person it names sees it (schema/policy.py).
    asylum          boolean NOT NULL DEFAULT false,
    UNIQUE (family_id, version)
);
CREATE TABLE IF NOT EXISTS timeline_labels (
    person_id  uuid PRIMARY KEY,
    family_id  uuid NOT NULL,
    label      text NOT NULL
);
"""

LOAD_LABELS = "SELECT person_id, label FROM timeline_labels WHERE family_id = ANY($1::uuid[])"
LABEL_COLUMNS = ("person_id", "family_id", "label")
# The original row stays; it is marked with the versions that amend it, and the amendment
# names the people the original names, so filtering by a member finds its corrections too;
# an amendment of an asylum record is one too.
MARK_AMENDED = """
WITH original AS (
  UPDATE timeline SET amended_by = array_append(amended_by, $3)
   WHERE family_id = $1 AND version = $2
  RETURNING people, asylum
)
UPDATE timeline SET people = coalesce((SELECT people FROM original), '{}'),
                    asylum = coalesce((SELECT asylum FROM original), false)
 WHERE family_id = $1 AND version = $3
"""
# A data-quality flag is about an earlier entry, and so about the people it names (and an
# asylum record when that entry is one).
FLAGGED_ABOUT = """
WITH original AS (SELECT people, asylum FROM timeline WHERE family_id = $1 AND version = $2)
UPDATE timeline SET people = coalesce((SELECT people FROM original), '{}'),
                    asylum = coalesce((SELECT asylum FROM original), false)
 WHERE family_id = $1 AND version = $3
"""

# After an erasure: the family's earlier rows, summarised again without the person's data.
EARLIER = f"SELECT {COLUMNS} FROM events WHERE stream_id = $1 AND version < $2 ORDER BY version"
RESUMMARISE = "UPDATE timeline SET summary = $3 WHERE family_id = $1 AND version = $2"
RELABEL = "UPDATE timeline_labels SET label = $2 WHERE person_id = $1"

# The amendments by the name event_type holds (service.history.replay matches on names).
AMENDMENTS = tuple(cls.__name__ for cls in events.AMENDMENTS)


def people_named(event: Any) -> list[UUID]:
    """The members an event names, in the order its fields name them, each once."""
    named: list[UUID] = []
    for field in PEOPLE:
        value = getattr(event, field, None)
        for person in value if isinstance(value, list) else [value]:
            if person is not None and person not in named:
                named.append(person)
    return named


def timeline_row(envelope: Envelope, labels: dict[UUID, str]) -> dict[str, Any]:
    """One event as a timeline row, by column; the versions that amend it are not known
    yet (later amendments mark it)."""
    r, event, p = envelope.recorded, envelope.event, envelope.recorded.provenance
    return {
        "position": r.position,
        "family_id": r.stream_id,
        "version": r.version,
        "event_type": envelope.kind,
        "summary": summarize(event, labels),
        "occurred_at": r.occurred_at,
        "recorded_at": r.recorded_at,
        "actor": p.actor,
        "role": p.role,
        "source": p.source,
        "reason": p.reason,
        "correlation_id": p.correlation_id,
        "causation_id": p.causation_id,
        "amends": event.version if event.amends else None,
        "people": people_named(event),
        "asylum": event.asylum_record,
    }


class TimelineProjection:
    """Folds every event into one timeline row."""

    name = "timeline"
    tables: tuple[str, ...] = ("timeline", "timeline_labels")
    ddl = DDL
    version = 1

    def __init__(self, decode: Decode | None = None, prepare: Prepare | None = None) -> None:
        # To summarise a family's earlier rows again after an erasure.
        self.decode = decode
        self.prepare = prepare

    async def apply(self, conn: Connection, batch: Sequence[Envelope]) -> None:
        await self._apply(conn, batch)
        for envelope in batch:
            if envelope.event.erases:
                # The erasure's own row too: it was summarised with the label of before.
                family_id, version = envelope.recorded.stream_id, envelope.recorded.version
                await self._resummarise(conn, family_id, version + 1)

    async def _resummarise(self, conn: Connection, family_id: UUID, before: int) -> None:
        """Write a family's rows before a version again, its erased people's data erased."""
        if self.decode is None:
            raise RuntimeError("the timeline needs the store's decode to apply an erasure")
        rows = [recorded_event(r) for r in await conn.fetch(EARLIER, family_id, before)]
        if self.prepare is not None:
            await self.prepare(rows, conn)
        history = decoded(rows, self.decode)
        labels: dict[UUID, str] = {}
        for envelope in history:
            if isinstance(envelope.event, events.MemberAdded):
                labels[envelope.event.person_id] = label(envelope.event)
        await conn.executemany(RELABEL, list(labels.items()))
        summaries = [(family_id, h.recorded.version, summarize(h.event, labels)) for h in history]
        await conn.executemany(RESUMMARISE, summaries)

    async def _apply(self, conn: Connection, batch: Sequence[Envelope]) -> None:
        ids = list({e.recorded.stream_id for e in batch})
        labels: dict[UUID, str] = dict(await conn.fetch(LOAD_LABELS, ids))  # type: ignore[arg-type]
        new_labels, rows, marks, flags = [], [], [], []
        for envelope in batch:
            r, event = envelope.recorded, envelope.event
            if isinstance(event, events.MemberAdded):
                labels[event.person_id] = label(event)
                new_labels.append((event.person_id, r.stream_id, labels[event.person_id]))
            row = timeline_row(envelope, labels)
            if row["amends"] is not None:
                marks.append((r.stream_id, row["amends"], r.version))
            if isinstance(event, events.DataQualityFlagged):
                flags.append((r.stream_id, event.about_version, r.version))
            rows.append(tuple(row.values()))
        # COPY, not INSERTs, into the tables on search_path (shadow ones while rebuilding).
        if new_labels:
            await conn.copy_records_to_table(
                "timeline_labels", records=new_labels, columns=LABEL_COLUMNS
            )
        if rows:
            columns = tuple(row)  # every row has timeline_row's keys, in its order
            await conn.copy_records_to_table("timeline", records=rows, columns=columns)
        if marks:
            await conn.executemany(MARK_AMENDED, marks)
        if flags:
            await conn.executemany(FLAGGED_ABOUT, flags)


# A null filter argument matches every row; the family's (family_id, version) key serves all.
# $6, when not null, is whose asylum facts the caller may read: an asylum entry naming anyone
# else is left out, as if it were not there.
PAGE = """
SELECT * FROM timeline
 WHERE family_id = $1 AND version > $2
   AND ($4::uuid IS NULL OR $4 = ANY (people))
   AND ($5::text[] IS NULL OR event_type = ANY ($5))
   AND ($6::uuid[] IS NULL OR NOT asylum OR people <@ $6)
 ORDER BY version LIMIT $3
"""
# The page before version $2, nearest first.
PAGE_BEFORE = PAGE.replace("version > $2", "version < $2").replace(
    "ORDER BY version", "ORDER BY version DESC"
)


async def page(
    pool: asyncpg.Pool,
    family_id: UUID,
    after_version: int,
    limit: int,
    person_id: UUID | None = None,
    event_types: Sequence[str] | None = None,
    asylum_readable: Collection[UUID] | None = None,
    backward: bool = False,
) -> list[asyncpg.Record]:
    """A family's timeline rows in version order, after a keyset cursor, optionally filtered
    (backward: the rows before the version, nearest first).

    person_id keeps the entries naming that member (and corrections and flags of them);
    event_types keeps the entries of those types; asylum_readable, when given, keeps only
    the asylum entries naming no one but these people (None: every entry).
    """
    types = list(event_types) if event_types is not None else None
    readable = list(asylum_readable) if asylum_readable is not None else None
    sql = PAGE_BEFORE if backward else PAGE
    return await pool.fetch(sql, family_id, after_version, limit, person_id, types, readable)
