"""Signed checkpoints over the global log: what is signed, taking them, reading them back.

A checkpoint covers the log's first event_count events in its gap-safe order
(transaction_id, position), ending at (head_transaction_id, head_position). Only events of
transactions older than pg_snapshot_xmin are taken, so the covered prefix is final: no event
can later commit inside it. Its root is the RFC 6962 Merkle root (service.ledger.merkle) of one
leaf per event in that order (service.eventstore.chain.leaf_data): the stored ``hash``, which
chains the event's stream, followed for hash format 2 by its position, transaction_id and
recorded_at, which the database assigns and that hash does not cover (a format 1 hash covers
them itself, so its leaf is the hash alone).

The checkpoint also covers the access log (service.ledger.reads): its first read_count reads
in id order, ending at read read_head_id, under the Merkle root read_root of their hashes.
Reads are numbered under a lock held until commit, so the log up to its last id is final.

The signed message (message_format 3) is exactly, with integers unsigned 64-bit big-endian
and created_at signed 64-bit microseconds since the Unix epoch::

    b"reunite-checkpoint-v3" || id || event_count || head_position || head_transaction_id
                             || created_at || root || read_count || read_head_id || read_root

(21 + 5 * 8 + 32 + 2 * 8 + 32 = 141 bytes; every field has a fixed width, so it reads only
one way.) The id is drawn from the table's sequence and created_at read from the server
before signing, so neither can be edited afterwards. Checkpoints signed before cover less,
and are still checked against exactly what they signed: message_format 2 the same without
the access log (``b"reunite-checkpoint-v2" || id || ... || root``, 93 bytes), and
message_format 1 only ``b"reunite-checkpoint-v1" || event_count || head_position ||
head_transaction_id || root`` (77 bytes).

A taker never signs a forgery over a signed one: before it vouches for a prefix the latest
checkpoint covers, that checkpoint's seal must hold and the root there must be its root.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import datetime

import asyncpg

from service.eventstore.chain import EPOCH, LEAF_COLUMNS, ONE_MICROSECOND, row_leaf
from service.eventstore.records import LogPosition
from service.ledger.keys import KeyFileError, KeySettings, Signer, key_id, signature_holds
from service.ledger.merkle import HASH_SIZE, MerkleFrontier
from service.ledger.reads import last_read, leaf_batches

log = logging.getLogger(__name__)

ALGORITHM = "rfc6962-sha256/ed25519"
# The format new checkpoints are signed in; each format's signature covers these fields.
MESSAGE_FORMAT = 3
SIGNED_FIELDS = {
    1: "event count, head and root",
    2: "id, date, event count, head and root",
    3: "id, date, event count, head and root, and access-log count, head and root",
}
# The first format that signs the access log too.
READS_FORMAT = 3
U64 = 2**64
BATCH_SIZE = 10_000

# The oldest transaction still running: every transaction below it has committed or rolled
# back, so the events below it are final.
HORIZON = "SELECT pg_snapshot_xmin(pg_current_snapshot())"


def range_query(columns: str) -> str:
    """Select columns of the events strictly between two places in the log, in log order."""
    # ORDER BY names the table's columns: a bare name would sort by the bigint output alias
    # of the same name, which no index serves, turning each page into a scan and a sort.
    return f"""
SELECT {columns} FROM events
 WHERE (transaction_id, position) > ($1::xid8, $2::bigint)
   AND (transaction_id, position) < ($3::xid8, $4::bigint)
 ORDER BY events.transaction_id, events.position
 LIMIT $5
"""


LEAVES = range_query(LEAF_COLUMNS)

CHECKPOINT_COLUMNS = """
id, event_count, head_position, head_transaction_id, root, algorithm, signature, public_key,
key_id, created_at, message_format, read_count, read_head_id, read_root
"""
# The id and the time a checkpoint will bear, fixed before it is signed.
RESERVE = """
SELECT nextval(pg_get_serial_sequence('checkpoints', 'id')) AS id,
       clock_timestamp() AS created_at
"""
INSERT = f"""
INSERT INTO checkpoints ({CHECKPOINT_COLUMNS}) OVERRIDING SYSTEM VALUE
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
RETURNING {CHECKPOINT_COLUMNS}
"""
LATEST = f"SELECT {CHECKPOINT_COLUMNS} FROM checkpoints ORDER BY id DESC LIMIT 1"
ALL = f"SELECT {CHECKPOINT_COLUMNS} FROM checkpoints ORDER BY event_count, id"


def reads_message(
    id: int,
    event_count: int,
    head_position: int,
    head_transaction_id: int,
    created_at: datetime,
    root: bytes,
    read_count: int,
    read_head_id: int,
    read_root: bytes,
) -> bytes:
    """The exact bytes a message_format 3 signature covers (see the module docstring)."""
    fields = struct.pack(">QQQQ", id, event_count, head_position, head_transaction_id)
    micros = struct.pack(">q", (created_at - EPOCH) // ONE_MICROSECOND)
    reads = struct.pack(">QQ", read_count, read_head_id)
    return b"reunite-checkpoint-v3" + fields + micros + root + reads + read_root


def checkpoint_message(
    id: int,
    event_count: int,
    head_position: int,
    head_transaction_id: int,
    created_at: datetime,
    root: bytes,
) -> bytes:
    """The exact bytes a message_format 2 signature covers (see the module docstring)."""
    fields = struct.pack(">QQQQ", id, event_count, head_position, head_transaction_id)
    micros = struct.pack(">q", (created_at - EPOCH) // ONE_MICROSECOND)
    return b"reunite-checkpoint-v2" + fields + micros + root


def legacy_message(
    event_count: int, head_position: int, head_transaction_id: int, root: bytes
) -> bytes:
    """The exact bytes a message_format 1 signature covers: neither the id nor the date."""
    fields = struct.pack(">QQQ", event_count, head_position, head_transaction_id)
    return b"reunite-checkpoint-v1" + fields + root


@dataclass(frozen=True)
class Checkpoint:
    """A signed Merkle root over the log's first event_count events."""

    id: int
    event_count: int
    head_position: int
    head_transaction_id: int
    root: bytes
    algorithm: str
    signature: bytes
    public_key: bytes
    key_id: str
    created_at: datetime
    message_format: int
    # Format 3 on: the reads covered, the last one's id, and the root of their hashes.
    read_count: int | None = None
    read_head_id: int | None = None
    read_root: bytes | None = None

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> Checkpoint:
        """Build from a row selected with CHECKPOINT_COLUMNS."""
        return cls(**dict(row.items()))

    @property
    def head(self) -> LogPosition:
        """The last event covered, as a place in the log."""
        return LogPosition(self.head_transaction_id, self.head_position)

    def covers(self, at: LogPosition) -> bool:
        """Whether the event at this place in the log is among those covered."""
        return at <= self.head

    @property
    def covers_reads(self) -> bool:
        """Whether it signs the access log too (message format 3 on)."""
        return self.message_format >= READS_FORMAT

    def covers_read(self, read_id: int) -> bool:
        """Whether the read with this id is among those covered."""
        return self.read_head_id is not None and read_id <= self.read_head_id

    def message(self) -> bytes:
        """The bytes its signature must cover, in its message format."""
        if self.message_format >= READS_FORMAT:
            # seal_fault checks the three are there before anything is signed or checked.
            assert self.read_count is not None and self.read_head_id is not None
            assert self.read_root is not None
            return reads_message(
                self.id,
                self.event_count,
                self.head_position,
                self.head_transaction_id,
                self.created_at,
                self.root,
                self.read_count,
                self.read_head_id,
                self.read_root,
            )
        if self.message_format == 1:
            return legacy_message(
                self.event_count, self.head_position, self.head_transaction_id, self.root
            )
        return checkpoint_message(
            self.id,
            self.event_count,
            self.head_position,
            self.head_transaction_id,
            self.created_at,
            self.root,
        )

    def seal_fault(self, trusted: frozenset[bytes] | None) -> str | None:
        """What is wrong with its algorithm, key or signature, or None when all hold."""
        if self.algorithm != ALGORITHM:
            return f"unknown algorithm {self.algorithm!r}"
        if self.message_format not in SIGNED_FIELDS:
            return f"unknown message format {self.message_format}"
        numbers = (self.id, self.event_count, self.head_position, self.head_transaction_id)
        if not all(0 <= n < U64 for n in numbers):
            # No signature covers such a number: the message has no way to write it.
            return f"its id, event count or head is out of range: {numbers}"
        if (fault := self._reads_fault()) is not None:
            return fault
        if key_id(self.public_key) != self.key_id:
            return f"key id {self.key_id} does not name its public key"
        if trusted is not None and self.public_key not in trusted:
            return f"signed by key {self.key_id}, which is not a trusted key"
        if not signature_holds(self.public_key, self.signature, self.message()):
            return f"the signature does not match its {SIGNED_FIELDS[self.message_format]}"
        return None

    def _reads_fault(self) -> str | None:
        reads = (self.read_count, self.read_head_id, self.read_root)
        if not self.covers_reads:
            if reads != (None, None, None):
                # Nothing signed them: they must not be taken for signed.
                return (
                    f"it names an access-log head that message format {self.message_format} "
                    "does not sign"
                )
            return None
        if self.read_count is None or self.read_head_id is None or self.read_root is None:
            return "its access-log count, head or root is missing"
        if not (0 <= self.read_count < U64 and 0 <= self.read_head_id < U64):
            return f"its access-log count or head is out of range: {reads[:2]}"
        # Fixed widths keep the message readable one way only.
        if len(self.root) != HASH_SIZE or len(self.read_root) != HASH_SIZE:
            return f"its roots are not {HASH_SIZE} bytes each"
        return None

    def __str__(self) -> str:
        return (
            f"checkpoint {self.id} (events 1..{self.event_count}, "
            f"head position {self.head_position})"
        )


async def batches(
    pool: asyncpg.Pool, query: str, after: LogPosition, before: LogPosition, size: int
) -> AsyncIterator[list[asyncpg.Record]]:
    """Rows of a range_query in pages, keyset by (transaction_id, position)."""
    while True:
        rows = await pool.fetch(
            query,
            after.transaction_id,
            after.position,
            before.transaction_id,
            before.position,
            size,
        )
        if rows:
            yield rows
        if len(rows) < size:
            return
        after = LogPosition(rows[-1]["transaction_id"], rows[-1]["position"])


async def horizon(pool: asyncpg.Pool) -> LogPosition:
    """The place before which the log is final: every event below it is committed for good."""
    return LogPosition(int(await pool.fetchval(HORIZON)), 0)


async def latest_checkpoint(pool: asyncpg.Pool) -> Checkpoint | None:
    """The most recently taken checkpoint, if any."""
    row = await pool.fetchrow(LATEST)
    return None if row is None else Checkpoint.from_row(row)


async def all_checkpoints(pool: asyncpg.Pool) -> list[Checkpoint]:
    """Every checkpoint, shortest prefix first."""
    return [Checkpoint.from_row(row) for row in await pool.fetch(ALL)]


class CheckpointRefused(Exception):
    """The log no longer matches the latest checkpoint: signing it would vouch for a forgery."""


class CheckpointTaker:
    """Signs checkpoints, carrying its Merkle frontiers forward so each reads only what is new.

    trusted: the keys the latest checkpoint must be signed with before this builds on it;
    None trusts only the signer's own key.
    """

    def __init__(
        self,
        pool: asyncpg.Pool,
        signer: Signer,
        batch_size: int = BATCH_SIZE,
        trusted: frozenset[bytes] | None = None,
    ) -> None:
        self.pool = pool
        self.signer = signer
        self.batch_size = batch_size
        self.trusted = frozenset({signer.public_key}) if trusted is None else trusted
        self.frontier = MerkleFrontier()
        self.head = LogPosition()
        self.read_frontier = MerkleFrontier()
        self.read_head = 0  # the id of the last read taken as a leaf

    async def take(self) -> Checkpoint | None:
        """Sign the log's final prefix and the access log; None while the log's prefix is empty.

        CheckpointRefused when either no longer matches the latest checkpoint.
        """
        # The latest checkpoint first: the horizon and the last read only move forward, so
        # what is read below then reaches everything it covers, unless some was deleted.
        previous = await latest_checkpoint(self.pool)
        try:
            self._check_seal(previous)
            await self._read(await horizon(self.pool), previous)
            await self._read_reads(await last_read(self.pool), previous)
        except CheckpointRefused:
            # Start afresh next time: leaves read from a forged log are never carried forward.
            self.frontier, self.head = MerkleFrontier(), LogPosition()
            self.read_frontier, self.read_head = MerkleFrontier(), 0
            raise
        if self.frontier.size == 0:
            return None
        root, read_root = self.frontier.root(), self.read_frontier.root()
        # Nothing new since the last one: answer it rather than sign the same prefixes twice.
        if (
            previous is not None
            and previous.covers_reads
            and _covered(previous)
            == (
                self.frontier.size,
                self.head,
                root,
                self.read_frontier.size,
                self.read_head,
                read_root,
            )
        ):
            return previous
        return await self._store(root, read_root)

    def _check_seal(self, previous: Checkpoint | None) -> None:
        # What this taker has read before it vouched for already; anything longer is checked
        # against the previous checkpoint, which must hold first.
        if previous is None or not self._unread(previous):
            return
        if (fault := previous.seal_fault(self.trusted)) is not None:
            raise CheckpointRefused(
                f"refusing to sign: the previous {previous} does not hold: {fault}; "
                "run `reunite verify`"
            )

    def _unread(self, previous: Checkpoint) -> bool:
        reads = previous.read_count or 0  # None before format 3: no reads signed
        return previous.event_count > self.frontier.size or reads > self.read_frontier.size

    async def _read(self, before: LogPosition, previous: Checkpoint | None) -> None:
        unchecked = None
        if previous is not None and previous.event_count > self.frontier.size:
            unchecked = previous
        async for rows in batches(self.pool, LEAVES, self.head, before, self.batch_size):
            for row in rows:
                self.frontier.append(row_leaf(row))
                self.head = LogPosition(row["transaction_id"], row["position"])
                if unchecked is not None and self.frontier.size == unchecked.event_count:
                    self._compare(unchecked)
        if unchecked is not None and self.frontier.size < unchecked.event_count:
            raise CheckpointRefused(
                f"refusing to sign: the previous {unchecked} covers {unchecked.event_count} "
                f"events, the log holds only {self.frontier.size}: events it covered were "
                "deleted; run `reunite verify`"
            )

    def _compare(self, previous: Checkpoint) -> None:
        if (self.head, self.frontier.root()) != (previous.head, previous.root):
            raise CheckpointRefused(
                f"refusing to sign: the log's first {previous.event_count} events no longer "
                f"match the previous {previous}: an event it covered was altered, deleted or "
                "moved; run `reunite verify`"
            )

    async def _read_reads(self, through: int, previous: Checkpoint | None) -> None:
        signed = 0 if previous is None else previous.read_count or 0
        unchecked = previous if signed > self.read_frontier.size else None
        size = self.batch_size
        async for rows in leaf_batches(self.pool, self.read_head, through, size):
            for id, hash in rows:
                self.read_frontier.append(hash)
                self.read_head = id
                if unchecked is not None and self.read_frontier.size == signed:
                    self._compare_reads(unchecked)
        if unchecked is not None and self.read_frontier.size < signed:
            raise CheckpointRefused(
                f"refusing to sign: the previous {unchecked} covers {signed} reads, the access "
                f"log holds only {self.read_frontier.size}: reads it covered were deleted; "
                "run `reunite verify`"
            )

    def _compare_reads(self, previous: Checkpoint) -> None:
        if (self.read_head, self.read_frontier.root()) != (
            previous.read_head_id,
            previous.read_root,
        ):
            raise CheckpointRefused(
                f"refusing to sign: the access log's first {previous.read_count} reads no "
                f"longer match the previous {previous}: a read it covered was altered, deleted "
                "or inserted; run `reunite verify`"
            )

    async def _store(self, root: bytes, read_root: bytes) -> Checkpoint:
        # The id and date are fixed first, so the signature covers them too.
        reserved = await self.pool.fetchrow(RESERVE)
        assert reserved is not None
        unsigned = Checkpoint(
            id=reserved["id"],
            event_count=self.frontier.size,
            head_position=self.head.position,
            head_transaction_id=self.head.transaction_id,
            root=root,
            algorithm=ALGORITHM,
            signature=b"",
            public_key=self.signer.public_key,
            key_id=self.signer.key_id,
            created_at=reserved["created_at"],
            message_format=MESSAGE_FORMAT,
            read_count=self.read_frontier.size,
            read_head_id=self.read_head,
            read_root=read_root,
        )
        checkpoint = replace(unsigned, signature=self.signer.sign(unsigned.message()))
        # The dataclass's fields are in CHECKPOINT_COLUMNS's order.
        row = await self.pool.fetchrow(INSERT, *vars(checkpoint).values())
        assert row is not None
        return Checkpoint.from_row(row)


def _covered(c: Checkpoint) -> tuple[object, ...]:
    return (c.event_count, c.head, c.root, c.read_count, c.read_head_id, c.read_root)


async def checkpoint_periodically(
    pool: asyncpg.Pool,
    interval: float,
    stop_event: asyncio.Event,
    signer: Signer | None = None,
) -> None:
    """Take a checkpoint every interval seconds until stop_event is set.

    Without a signer, REUNITE_SIGNING_KEY_FILE is read; when it is unset or unreadable this
    logs why and returns, so a server without a key still starts.
    """
    trusted = None
    if signer is None:
        keys = KeySettings.from_env()
        if keys.signing_key_file is None:
            log.warning("periodic checkpoints are off: REUNITE_SIGNING_KEY_FILE is not set")
            return
        try:
            signer, trusted = keys.signer(), keys.trusted_keys()
        except KeyFileError as e:
            # Said at start-up, where the operator looks, rather than when the task is reaped.
            log.error("periodic checkpoints are off: %s", e)
            return
    taker = CheckpointTaker(pool, signer, trusted=trusted)
    while not stop_event.is_set():
        try:
            checkpoint = await taker.take()
            if checkpoint is not None:
                log.info("%s signed by key %s", checkpoint, checkpoint.key_id)
        except CheckpointRefused as e:
            # Not transient: said at every tick, without a traceback, until the log is mended.
            log.error("%s", e)
        except Exception:
            # A background task must outlive a transient database failure; the next tick
            # retries, and the frontier only ever holds whole batches.
            log.exception("checkpoint failed; retrying in %s s", interval)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop_event.wait(), interval)
