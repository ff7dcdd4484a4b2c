"""The chained access log: a read's hash recomputed, the chain walked, the rows read in pages.

The database chains each read as it is inserted (migration 0010): its hash is SHA-256 over
its canonical encoding, which begins with the previous read's hash. This module recomputes
the same bytes, so `reunite verify` and an offline bundle check need nothing of the
database's word. A read's Merkle leaf, under signed checkpoints, is its hash alone: the
hash already covers its id, time and predecessor.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import asyncpg

from service.eventstore.chain import EPOCH, ONE_MICROSECOND

READ_COLUMNS = "id, read_at, subject, role, operation, family_ids, prev_hash, hash"
READS = f"""
SELECT {READ_COLUMNS} FROM access_log WHERE id > $1 AND id <= $2 ORDER BY id LIMIT $3
"""
LEAVES = "SELECT id, hash FROM access_log WHERE id > $1 AND id <= $2 ORDER BY id LIMIT $3"
FAMILY_READS = f"""
SELECT {READ_COLUMNS} FROM access_log
 WHERE family_ids @> ARRAY[$1]::uuid[] AND id <= $2 ORDER BY id
"""
FAMILY_LAST_READ = (
    "SELECT coalesce(max(id), 0) FROM access_log WHERE family_ids @> ARRAY[$1]::uuid[]"
)
# Ids rise in commit order (the chain's lock), so the rows up to the last one are final.
LAST_READ = "SELECT coalesce(max(id), 0) FROM access_log"
# Both in one snapshot: the trigger moves the head in the transaction that inserts the row.
HEAD = """
SELECT coalesce((SELECT max(id) FROM access_log), 0) AS last_row,
       h.last_id, h.hash
  FROM (SELECT 1) AS one LEFT JOIN access_log_head h ON true
"""


@dataclass(frozen=True)
class ReadRecord:
    """One row of access_log: who read which families' personal data in one answer, when,
    and how (migration 0011; a row chained before it names one family)."""

    id: int
    read_at: datetime
    subject: str
    role: str
    operation: str
    family_ids: tuple[UUID, ...]  # in the order the encoding counts them
    prev_hash: bytes | None
    hash: bytes

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> ReadRecord:
        """Build from a row selected with READ_COLUMNS."""
        fields = dict(row.items())
        fields["family_ids"] = tuple(fields["family_ids"])
        return cls(**fields)

    def __str__(self) -> str:
        return f"access-log row {self.id}"


def _lp(value: bytes | None) -> bytes:
    # reunite_lp, as in service.eventstore.chain: length-prefixed, -1 for NULL.
    if value is None:
        return struct.pack(">i", -1)
    return struct.pack(">i", len(value)) + value


def read_hash(
    prev_hash: bytes | None,
    id: int,
    read_at: datetime,
    subject: str,
    role: str,
    operation: str,
    family_ids: Sequence[UUID],
) -> bytes:
    """SHA-256 over a read's canonical encoding, as migration 0010's trigger computes it."""
    if read_at.tzinfo is None:
        raise ValueError("read_at must be timezone-aware")
    message = b"".join(
        (
            _lp(prev_hash),
            struct.pack(">q", id),
            struct.pack(">q", (read_at - EPOCH) // ONE_MICROSECOND),
            _lp(subject.encode("utf-8")),
            _lp(role.encode("utf-8")),
            _lp(operation.encode("utf-8")),
            struct.pack(">i", len(family_ids)),
            *(family.bytes for family in family_ids),
        )
    )
    return hashlib.sha256(message).digest()


def record_hash(record: ReadRecord) -> bytes:
    """The hash the record's row should hold, chained from its own prev_hash."""
    return read_hash(
        record.prev_hash,
        record.id,
        record.read_at,
        record.subject,
        record.role,
        record.operation,
        record.family_ids,
    )


@dataclass(frozen=True)
class ReadBreak:
    """The first access-log row whose chain does not hold, and what is wrong with it."""

    id: int
    what: str


class ReadChain:
    """Checks each read, in id order, against its contents, the read before it and the head.

    head_id, head_hash: the last read as the database recorded it (access_log_head), or
    None when that record is missing.
    """

    def __init__(self, head_id: int | None, head_hash: bytes | None) -> None:
        self.head_id, self.head_hash = head_id, head_hash
        self.count = 0
        self.last: ReadRecord | None = None
        # The read before the last: a row inserted between two reads leaves the later one
        # chaining from it.
        self.before_last: ReadRecord | None = None
        self.broken: ReadBreak | None = None
        self.archived: list[tuple[str, int, str]] = []  # (month, reads, digest hex)

    def add(self, record: ReadRecord) -> None:
        """Check the next row of the log."""
        self.count += 1
        if self.head_id is not None and record.id > self.head_id:
            # The trigger moves the head past every read it chains: this one it never saw.
            self._found(
                record.id,
                f"it stands after the last read the database recorded (row {self.head_id}): "
                "it was inserted with the triggers off",
            )
            return
        # The link first: a row inserted with the later rows renumbered shows as inserted,
        # not as the next row's number edited.
        if record.prev_hash != (None if self.last is None else self.last.hash):
            self._found(*self._link_fault(record))
        elif record_hash(record) != record.hash:
            self._found(record.id, "its hash does not match its contents: the row was edited")
        # Go on from the stored hash, so one edited row is reported once, not at every later one.
        self.before_last, self.last = self.last, record

    def add_archived(
        self, month: str, first_prev_hash: bytes | None, last_id: int, last_hash: bytes, reads: int
    ) -> None:
        """Take a month archived out of the database (its file checks its own rows): it must
        chain from the read before it, and the next read from its last."""
        if reads == 0:
            return
        previous = None if self.last is None else self.last.hash
        if first_prev_hash != previous:
            after = "nothing" if self.last is None else f"row {self.last.id}"
            self._found(
                last_id,
                f"the archived month {month} does not chain from {after} before it: reads "
                "between them were deleted, or the archive's record was rewritten",
            )
        self.count += reads
        self.before_last = None
        self.last = ReadRecord(last_id, EPOCH, "", "", f"archived {month}", (), None, last_hash)

    def _link_fault(self, record: ReadRecord) -> tuple[int, str]:
        last, before = self.last, self.before_last
        if last is None:
            return record.id, (
                "it is the first row but chains from another: rows before it were deleted"
            )
        if before is not None and record.prev_hash == before.hash:
            return last.id, (
                f"the row was inserted: row {record.id} after it chains from row {before.id}"
            )
        if record.prev_hash is None:
            return record.id, f"it chains from nothing, but follows row {last.id}"
        return record.id, (
            f"it does not chain from row {last.id} before it: a row between them was deleted, "
            f"or row {last.id} was inserted or rewritten with a recomputed hash"
        )

    def finish(self) -> None:
        """Check the log ends at the last read the database recorded."""
        last_id, last_hash = (0, None) if self.last is None else (self.last.id, self.last.hash)
        if self.head_id is None:
            if self.last is not None:
                self._found(last_id, "the database's record of the log's last read is missing")
        elif last_id < self.head_id:
            self._found(
                self.head_id,
                f"the log ends at row {last_id}, but the database recorded reads up to row "
                f"{self.head_id}: reads were deleted from its end",
            )
        elif last_hash != self.head_hash:
            self._found(
                last_id,
                "its hash is not the one the database recorded for the last read: the row "
                "was rewritten",
            )

    def _found(self, id: int, what: str) -> None:
        if self.broken is None:
            self.broken = ReadBreak(id, what)


async def read_batches(
    pool: asyncpg.Pool, query: str, after: int, through: int, size: int
) -> AsyncIterator[list[asyncpg.Record]]:
    """Rows of READS or LEAVES with ids in (after, through], in pages keyed by id."""
    while True:
        rows = await pool.fetch(query, after, through, size)
        if rows:
            yield rows
        if len(rows) < size:
            return
        after = rows[-1]["id"]


async def last_read(pool: asyncpg.Pool) -> int:
    """The id of the last committed read; 0 for an empty log."""
    return int(await pool.fetchval(LAST_READ))


async def family_reads(pool: asyncpg.Pool, family_id: UUID, through: int) -> list[ReadRecord]:
    """The reads of one family up to id through, in id order."""
    return [ReadRecord.from_row(row) for row in await pool.fetch(FAMILY_READS, family_id, through)]


async def last_family_read(pool: asyncpg.Pool, family_id: UUID) -> int:
    """The id of the family's last committed read; 0 when it was never read."""
    return int(await pool.fetchval(FAMILY_LAST_READ, family_id))


# Months archived out of the hot database (migration 0011), oldest first: their reads' ids
# and hashes stay, so the access log's Merkle tree is whole without the archive files.
ARCHIVED = """
SELECT month, first_id, last_id, reads, first_prev_hash, last_hash, ids, leaves, digest
  FROM access_log_archives ORDER BY month
"""
# Only the months with ids in (after, through]: a checkpoint past them reads none of them.
ARCHIVED_LEAVES = """
SELECT ids, leaves FROM access_log_archives
 WHERE last_id > $1 AND first_id <= $2 ORDER BY month
"""


async def leaf_batches(
    pool: asyncpg.Pool, after: int, through: int, size: int
) -> AsyncIterator[list[tuple[int, bytes]]]:
    """(id, hash) of every read with id in (after, through], in id order: the archived
    months' first (archives are taken oldest month first), then the hot partitions'."""
    for archive in await pool.fetch(ARCHIVED_LEAVES, after, through):
        leaves = [
            (id, archive["leaves"][32 * n : 32 * n + 32])
            for n, id in enumerate(archive["ids"])
            if after < id <= through
        ]
        if leaves:
            yield leaves
            after = leaves[-1][0]
    async for rows in read_batches(pool, LEAVES, after, through, size):
        yield [(row["id"], row["hash"]) for row in rows]
