"""Time travel from the log, never from the read models: a family, a diff, the court report.

A family is replayed from its own stream (service.history.replay). The court report for date D as
known at time K is computed with the one definition the live report uses: inside one
transaction, the cases projection's own DDL creates temporary tables (search_path puts
pg_temp first), the same CasesProjection folds every family's events recorded by K into
them, projections.case_queries.COURT_REPORT runs over them, and the transaction rolls back.
Writing the scratch tables takes a transaction id, so while the report runs (about as long
as the cases projection takes over the same events: 2.6 s for 20,000 here) it holds back
the log's readers, as any writer does; none of their events is lost.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any, TypeVar
from uuid import UUID

import asyncpg

from projections.case_queries import COURT_REPORT
from projections.catalog import all_projections
from projections.projection import Decode, Envelope, Projection, decoded
from service.eventstore.records import COLUMNS, Connection, RecordedEvent, recorded_event
from service.eventstore.store import EventStore
from service.history.gc_pause import gc_paused
from service.history.replay import CaseDiff, CaseState, Point, diff, replay

# The stream up to the first event recorded after $2 (all of it when $2 is null), so an
# event recorded later can never count even if a clock stepped back.
READ_KNOWN = f"""
SELECT {COLUMNS} FROM events
 WHERE stream_id = $1
   AND version < coalesce(
     (SELECT min(version) FROM events WHERE stream_id = $1 AND recorded_at > $2), 2147483647)
 ORDER BY version
"""

# Each family's last event of the same prefix: a batch that makes the cases projection
# re-fold exactly the events recorded by $1.
KNOWN_HEADS = f"""
WITH cut AS (
  SELECT stream_id,
         coalesce(min(version) FILTER (WHERE recorded_at > $1) - 1, max(version)) AS upto
    FROM events GROUP BY stream_id
)
SELECT {COLUMNS} FROM events JOIN cut USING (stream_id)
 WHERE events.version = cut.upto
 ORDER BY stream_id
"""
SCRATCH = "SET LOCAL search_path TO pg_temp, public"
# Small batches: between them the event loop answers other requests (bench.cost).
FAMILIES_PER_BATCH = 20
MEMO_EVENTS = 10_000  # about 3 KB each: some 30 MB at most

T = TypeVar("T")


class DecodedRows:
    """A bounded memo of decoded rows by log position, each checked against every column.

    Decoding a row is a pure function of its columns (every store of a process shares the
    one mapper), and replays of one family come in runs (at several points, a diff, the
    CLI's steps): decoding dominates a replay, so the rows an earlier replay decoded are
    reused. A row that differs in any column from the one remembered is decoded afresh, so
    the answer is always exactly the log's.
    """

    def __init__(self, size: int = MEMO_EVENTS) -> None:
        self.size = size
        self.rows: OrderedDict[int, tuple[tuple[Any, ...], Envelope]] = OrderedDict()
        self.erased = 0  # erasures known when the rows were decoded

    def erasures(self, store: EventStore) -> None:
        """Forget every row decoded before an erasure: its personal fields now read erased."""
        known = len(store.keyring.erased) if store.keyring is not None else 0
        if known != self.erased:
            self.rows.clear()
            self.erased = known

    def envelope(self, row: asyncpg.Record, decode: Decode) -> Envelope:
        """The row as a decoded envelope, from the memo when the row is unchanged."""
        columns = tuple(row)
        remembered = self.rows.get(row["position"])
        if remembered is not None and remembered[0] == columns:
            self.rows.move_to_end(row["position"])
            return remembered[1]
        recorded = recorded_event(row)
        envelope = Envelope(recorded, decode(recorded))
        self.rows[recorded.position] = (columns, envelope)
        if len(self.rows) > self.size:
            self.rows.popitem(last=False)
        return envelope


# One memo per process, shared by every request's replays.
DECODED = DecodedRows()


class TimeTravel:
    """Replays the log to any point; the cases projection is the one the runner feeds."""

    def __init__(
        self, store: EventStore, cases: Projection, memo: DecodedRows | None = DECODED
    ) -> None:
        self.store = store
        self.cases = cases
        self.memo = memo

    @classmethod
    def from_store(cls, store: EventStore, memo: DecodedRows | None = DECODED) -> TimeTravel:
        """Wired as the container wires the runner, for tools that have no container."""
        cases = next(p for p in all_projections(store) if p.name == "cases")
        return cls(store, cases, memo)

    async def history(self, family_id: UUID, known_at: datetime | None = None) -> list[Envelope]:
        """The family's events recorded by known_at (all when None), decoded, in order."""
        return await self._replayed(family_id, known_at, list)

    async def case_at(self, family_id: UUID, point: Point) -> CaseState | None:
        """The case at a point, or None when no event of it had been recorded by then."""
        return await self._replayed(family_id, point.known_at, lambda h: replay(h, point))

    async def diff(self, family_id: UUID, before: Point, after: Point) -> CaseDiff | None:
        """What changed between two points, or None when the family is unknown at both."""
        known_at = _later(before.known_at, after.known_at)
        found = await self._replayed(family_id, known_at, lambda h: diff(h, before, after))
        return None if found.before is None and found.after is None else found

    async def _replayed(
        self, family_id: UUID, known_at: datetime | None, fold: Callable[[list[Envelope]], T]
    ) -> T:
        """The fold of the family's events recorded by known_at, decoded, in order."""
        rows = await self.store.pool.fetch(READ_KNOWN, family_id, known_at)
        await self.store.prepare(rows)
        decode = self.store.decode
        with gc_paused():
            if self.memo is not None:
                self.memo.erasures(self.store)
                return fold([self.memo.envelope(row, decode) for row in rows])
            return fold(decoded(map(recorded_event, rows), decode))

    async def court_report(self, as_of: date, known_at: datetime) -> list[asyncpg.Record]:
        """COURT_REPORT's rows for as_of, over the log as it had been recorded by known_at."""
        async with self.store.pool.acquire() as conn:
            heads = await conn.fetch(KNOWN_HEADS, known_at)
            transaction = conn.transaction()
            await transaction.start()
            try:
                await conn.execute(SCRATCH)
                await conn.execute(self.cases.ddl)
                await self._fold(conn, [recorded_event(r) for r in heads])
                return await conn.fetch(COURT_REPORT, as_of)
            finally:
                # Nothing of the scratch tables outlives the answer.
                await transaction.rollback()

    async def _fold(self, conn: Connection, heads: Sequence[RecordedEvent]) -> None:
        for start in range(0, len(heads), FAMILIES_PER_BATCH):
            chunk = heads[start : start + FAMILIES_PER_BATCH]
            await self.store.prepare(chunk, conn)
            await self.cases.apply(conn, decoded(chunk, self.store.decode))


def _later(a: datetime | None, b: datetime | None) -> datetime | None:
    """The later of two moments, where None (no limit) is later than any."""
    return None if a is None or b is None else max(a, b)
