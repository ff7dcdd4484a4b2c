"""Read models child_case, parent_case, care_stays, parent_situations, data_quality_flags,
counsel_clients."""

from __future__ import annotations

import asyncio
import operator
from collections.abc import Callable, Iterator, Sequence
from dataclasses import fields
from typing import Any
from uuid import UUID

from projections.case_fold import Effective, case_rows
from projections.case_rows import (
    CaseRows,
    ChildRow,
    Flag,
    MemberRow,
    ParentRow,
    RepresentationRow,
    Situation,
    StatusChange,
    Stay,
    SummaryRow,
)
from projections.folded import FoldedFamilies
from projections.parent_fold import child_situation
from projections.projection import Decode, Envelope, Prepare, decoded
from projections.row_changes import Changes, Fingerprints, changes, fingerprint
from service.eventstore.records import COLUMNS, Connection, recorded_event

DDL = """
CREATE TABLE IF NOT EXISTS family_summary (
    family_id uuid PRIMARY KEY, case_number text NOT NULL, status text NOT NULL,
    opened_at timestamptz, members integer NOT NULL, children integer NOT NULL,
    separated integer NOT NULL, version integer NOT NULL, last_position bigint NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS family_summary_opened_idx ON family_summary (opened_at, family_id);
CREATE TABLE IF NOT EXISTS family_members (
    family_id uuid NOT NULL, person_id uuid PRIMARY KEY, role text NOT NULL, name text,
    sex text NOT NULL, birth_date date, age integer, country text, a_number text,
    status text, facility_id text, facility_name text, separated_at date,
    reunified_at date, reunified_with uuid, ordinal integer NOT NULL,
    personal_data_erased boolean NOT NULL DEFAULT false
);
CREATE INDEX IF NOT EXISTS family_members_family_idx ON family_members (family_id, ordinal);
CREATE TABLE IF NOT EXISTS child_case (
    child_id uuid PRIMARY KEY, family_id uuid NOT NULL, name text, age integer,
    birth_date date, sex text NOT NULL, country text, status text NOT NULL,
    separated_at date, separated_from uuid, separation_reason text,
    separation_reason_text text, referred_at date, referring_office text, placed_at date,
    facility_id text, facility_name text, program_type text, discharged_at date,
    discharge_kind text, reunified_with uuid, last_version integer NOT NULL,
    parent_ids uuid[] NOT NULL DEFAULT '{}',
    personal_data_erased boolean NOT NULL DEFAULT false,
    age_band text, parent_situation text, removal_country text
);
CREATE INDEX IF NOT EXISTS child_case_family_idx ON child_case (family_id);
CREATE INDEX IF NOT EXISTS child_case_facility_idx ON child_case (facility_id);
CREATE INDEX IF NOT EXISTS child_case_separated_idx
    ON child_case ((coalesce(separated_at, DATE '0001-01-01')), child_id);
CREATE TABLE IF NOT EXISTS care_stays (
    family_id uuid NOT NULL, child_id uuid NOT NULL, facility_id text NOT NULL,
    facility_name text NOT NULL, program_type text NOT NULL, start_date date, end_date date
);
CREATE INDEX IF NOT EXISTS care_stays_child_idx ON care_stays (child_id);
CREATE INDEX IF NOT EXISTS care_stays_facility_idx ON care_stays (facility_id, start_date);
CREATE TABLE IF NOT EXISTS parent_case (
    parent_id uuid PRIMARY KEY, family_id uuid NOT NULL, name text, sex text NOT NULL,
    country text, a_number text, role text NOT NULL, custody text, facility_id text,
    facility_name text,
    released_at date, released_to text, credible_fear text,
    credible_fear_while_separated boolean, removal_order text, removal_election text,
    removed_at date, removed_to text, times_removed integer NOT NULL,
    children_removed_with uuid[] NOT NULL, returned_at date, return_route text,
    location_attempts integer NOT NULL, located boolean NOT NULL, preference text,
    eligibility text, red_flag text, settlement_election text, reinterview_outcome text,
    asylum_reopened boolean NOT NULL, reinterview_stance text, situation text NOT NULL,
    personal_data_erased boolean NOT NULL DEFAULT false
);
CREATE INDEX IF NOT EXISTS parent_case_family_idx ON parent_case (family_id);
-- One separated parent's category as it bears on one child: eligibility is per child.
CREATE TABLE IF NOT EXISTS parent_situations (
    family_id uuid NOT NULL, parent_id uuid NOT NULL, child_id uuid NOT NULL,
    situation text NOT NULL, country text, start_date date NOT NULL, end_date date
);
CREATE INDEX IF NOT EXISTS parent_situations_parent_idx ON parent_situations (parent_id);
CREATE INDEX IF NOT EXISTS parent_situations_child_idx ON parent_situations (child_id);
CREATE TABLE IF NOT EXISTS data_quality_flags (
    family_id uuid NOT NULL, version integer NOT NULL, rule text NOT NULL,
    detail text NOT NULL, asylum_person uuid
);
CREATE INDEX IF NOT EXISTS data_quality_flags_family_idx ON data_quality_flags (family_id);
CREATE INDEX IF NOT EXISTS data_quality_flags_rule_idx ON data_quality_flags (rule);
-- Keyed by the log order of the event that caused each change, so a subscriber can follow
-- them with the same cursor the runner uses.
CREATE TABLE IF NOT EXISTS status_changes (
    transaction_id bigint NOT NULL, position bigint NOT NULL, family_id uuid NOT NULL,
    child_id uuid NOT NULL, version integer NOT NULL, from_status text,
    to_status text NOT NULL, occurred_at timestamptz,
    PRIMARY KEY (transaction_id, position, child_id)
);
CREATE INDEX IF NOT EXISTS status_changes_family_idx ON status_changes (family_id);
-- Counsel of record: what a counsel token may read follows from its active rows.
CREATE TABLE IF NOT EXISTS counsel_clients (
    family_id uuid NOT NULL, counsel text NOT NULL, person_id uuid NOT NULL,
    basis text NOT NULL, reference text, consent_to_disclosure boolean NOT NULL,
    since date, ended_at date, active boolean NOT NULL
);
CREATE INDEX IF NOT EXISTS counsel_clients_counsel_idx ON counsel_clients (counsel)
    WHERE active;
CREATE INDEX IF NOT EXISTS counsel_clients_family_idx ON counsel_clients (family_id);
"""

TABLES = (
    "family_summary",
    "family_members",
    "child_case",
    "care_stays",
    "parent_case",
    "parent_situations",
    "data_quality_flags",
    "status_changes",
    "counsel_clients",
)
DELETE = {t: f"DELETE FROM {t} WHERE family_id = ANY($1::uuid[])" for t in TABLES}
# The tables whose rows have a key of their own: only the rows that changed are rewritten.
KEY_COLUMN = {
    "family_summary": "family_id",
    "family_members": "person_id",
    "child_case": "child_id",
    "parent_case": "parent_id",
}
DELETE_KEYS = {t: f"DELETE FROM {t} WHERE {c} = ANY($1::uuid[])" for t, c in KEY_COLUMN.items()}

# Each family's stream before the first version this batch holds (the batch brings the
# rest, already decoded), so a replay folds the same prefix whatever is written since.
STREAMS = f"""
SELECT {COLUMNS}
  FROM events e JOIN unnest($1::uuid[], $2::int[]) AS t(stream_id, upto) USING (stream_id)
 WHERE e.version < t.upto
 ORDER BY e.stream_id, e.version
"""

# Stored events a batch reads at once to refold families it cannot resume (about 3 KB each
# while folded): bench.sustained's server grew with its families while this was unbounded.
REFOLD_EVENTS = 5_000

CHILD_EXTRA = ("age_band", "parent_situation", "removal_country")


def _columns(cls: type[Any], extra: tuple[str, ...] = ()) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls)) + extra


# Each table's columns, in the order its rows are built.
TABLE_COLUMNS = {
    "family_summary": _columns(SummaryRow),
    "family_members": _columns(MemberRow),
    "child_case": _columns(ChildRow, CHILD_EXTRA),
    "care_stays": _columns(Stay),
    "parent_case": _columns(ParentRow),
    "parent_situations": _columns(Situation),
    "data_quality_flags": _columns(Flag),
    "status_changes": _columns(StatusChange),
    "counsel_clients": _columns(RepresentationRow),
}


def _shallow(cls: type[Any]) -> Callable[[Any], tuple[Any, ...]]:
    """A row's values, its list columns (arrays) as tuples: hashable (projections.row_changes
    compares rows by hash), and COPY takes either. No deep copy (astuple): the tuple is taken
    before the fold goes on."""
    getter = operator.attrgetter(*_columns(cls))
    arrays = frozenset(i for i, f in enumerate(fields(cls)) if str(f.type).startswith("list"))
    if not arrays:
        return lambda row: tuple(getter(row))
    return lambda row: tuple(tuple(v) if i in arrays else v for i, v in enumerate(getter(row)))


KEY = {table: TABLE_COLUMNS[table].index(column) for table, column in KEY_COLUMN.items()}

ROW = {
    "family_summary": _shallow(SummaryRow),
    "family_members": _shallow(MemberRow),
    "child_case": _shallow(ChildRow),
    "care_stays": _shallow(Stay),
    "parent_case": _shallow(ParentRow),
    "parent_situations": _shallow(Situation),
    "data_quality_flags": _shallow(Flag),
    "status_changes": _shallow(StatusChange),
    "counsel_clients": _shallow(RepresentationRow),
}


def child_record(rows: CaseRows, child: ChildRow) -> tuple[Any, ...]:
    """A child row with what it borrows from the parent it was separated from (nothing when
    never separated: the parent categories are about separated parents)."""
    situation, country = child_situation(rows, child) or (None, None)
    band = child.age_band(rows.recorded_on.get(child.child_id.int))
    return (*ROW["child_case"](child), band, situation, country)


class CasesProjection:
    """Re-folds each touched family from its stream, so corrections apply everywhere."""

    name = "cases"
    tables: tuple[str, ...] = TABLES
    ddl = DDL
    version = 3  # 3: personal_data_erased in family_members, child_case, parent_case

    def __init__(
        self,
        decode: Decode,
        effective: Effective,
        folded: FoldedFamilies | None = None,
        prepare: Prepare | None = None,
    ) -> None:
        self.decode = decode
        self.effective = effective
        self.folded = folded if folded is not None else FoldedFamilies()
        self.prepare = prepare  # loads the data keys rows need before they are decoded
        self.refold_events = REFOLD_EVENTS

    async def _refold(
        self, conn: Connection, ids: list[UUID], own: dict[UUID, list[Envelope]]
    ) -> dict[UUID, CaseRows]:
        """Each family folded whole: its stored events before the batch, then the batch's."""
        if not ids:
            return {}
        before = [own[i][0].recorded.version for i in ids]
        streams: dict[UUID, list[Envelope]] = {i: [] for i in ids}
        stored = [recorded_event(r) for r in await conn.fetch(STREAMS, ids, before)]
        if self.prepare is not None:
            await self.prepare(stored, conn)
        for envelope in decoded(stored, self.decode):
            streams[envelope.recorded.stream_id].append(envelope)
        folded = {}
        for i, history in streams.items():
            folded[i] = case_rows(history + own[i], self.effective)
            await asyncio.sleep(0)  # a long family folds for a while: let requests run
        return folded

    async def apply(self, conn: Connection, batch: Sequence[Envelope]) -> None:
        own: dict[UUID, list[Envelope]] = {}
        for envelope in batch:
            own.setdefault(envelope.recorded.stream_id, []).append(envelope)
        kept = {i: go_on for i in own if (go_on := self.folded.resume(i, own[i])) is not None}
        await self._write_families(conn, {i: rows for i, (rows, _) in kept.items()}, kept, own)
        # Refolds are read, folded and written a run at a time: what a batch holds at once
        # is bounded by the run, not by how long its families have grown.
        for run in runs([i for i in own if i not in kept], own, self.refold_events):
            await self._write_families(conn, await self._refold(conn, run, own), kept, own)

    async def _write_families(
        self,
        conn: Connection,
        folded: dict[UUID, CaseRows],
        kept: dict[UUID, tuple[CaseRows, Fingerprints]],
        own: dict[UUID, list[Envelope]],
    ) -> None:
        """Write what changed of each folded family, and keep its fold for the next batch."""
        todo: dict[str, list[tuple[UUID, Changes]]] = {t: [] for t in TABLES}
        for family_id, rows in folded.items():
            before = kept[family_id][1] if family_id in kept else {}
            written: Fingerprints = {}
            for table, found in family_rows(rows).items():
                key = KEY.get(table)
                todo[table].append((family_id, changes(before.get(table), found, key)))
                written[table] = fingerprint(found, key)
            self.folded.keep(family_id, own[family_id][-1].recorded.version, rows, written)
            await asyncio.sleep(0)
        for table in TABLES:
            await _write(conn, table, todo[table])


def runs(ids: list[UUID], own: dict[UUID, list[Envelope]], events: int) -> Iterator[list[UUID]]:
    """The families in runs whose stored events (before the batch's) add up to at most
    `events`; a longer family runs alone."""
    run: list[UUID] = []
    held = 0
    for family_id in ids:
        stored = own[family_id][0].recorded.version - 1
        if run and held + stored > events:
            yield run
            run, held = [], 0
        run.append(family_id)
        held += stored
    if run:
        yield run


def family_rows(rows: CaseRows) -> dict[str, list[tuple[Any, ...]]]:
    """Each table's rows for one family, as its columns order them."""
    out = {
        table: list(map(ROW[table], found))
        for table, found in (
            ("family_members", rows.members),
            ("care_stays", rows.stays),
            ("parent_case", rows.parents.values()),
            ("parent_situations", rows.situations),
            ("data_quality_flags", rows.flags),
            ("status_changes", rows.status_changes),
            ("counsel_clients", rows.representations),
        )
    }
    out["family_summary"] = [] if rows.summary is None else [ROW["family_summary"](rows.summary)]
    out["child_case"] = [child_record(rows, c) for c in rows.children.values()]
    return out


async def _write(conn: Connection, table: str, todo: list[tuple[UUID, Changes]]) -> None:
    """One table's changes for every family in the batch: two deletes and a COPY at most."""
    whole = [family_id for family_id, change in todo if change.whole]
    gone = [k for _, change in todo for k in change.gone]
    rows = [row for _, change in todo for row in change.rows]
    if whole:
        await conn.execute(DELETE[table], whole)
    if gone:
        await conn.execute(DELETE_KEYS[table], gone)
    if rows:
        # COPY, not INSERTs: the table on search_path (a shadow one while rebuilding).
        await conn.copy_records_to_table(table, records=rows, columns=TABLE_COLUMNS[table])
