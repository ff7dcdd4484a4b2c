"""Verify the log: every stream's hash chain, the access log's chain and every signed
checkpoint, in one pass over each.

The walk reads the final prefix of the log in pages and keeps, per stream, only the last
verified (version, hash), and one Merkle frontier for the whole log; memory grows with the
number of streams, not events. A chain finds an event altered, swapped or deleted inside a
stream; a checkpoint root finds what a chain cannot: the last events of a stream, or a whole
stream, deleted, or a stream rewritten with recomputed hashes. The access log is one chain
in id order, walked the same way with a frontier of its own, and must end where the
database's record of its head says.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from uuid import UUID

import asyncpg

from service.eventstore.chain import (
    ChainBreak,
    event_leaf,
    link_fault,
)
from service.eventstore.records import COLUMNS, LogPosition, RecordedEvent, recorded_event
from service.eventstore.store import READ_STREAM
from service.ledger.checkpoints import (
    BATCH_SIZE,
    Checkpoint,
    all_checkpoints,
    batches,
    horizon,
    range_query,
)
from service.ledger.merkle import MerkleFrontier
from service.ledger.reads import (
    ARCHIVED,
    HEAD,
    READS,
    ReadBreak,
    ReadChain,
    ReadRecord,
    read_batches,
)

EVENTS = range_query(COLUMNS)
WHOLE_STREAM = 2**31 - 1


@dataclass(frozen=True)
class CheckpointFailure:
    """A checkpoint that does not hold, and why."""

    checkpoint: Checkpoint
    what: str

    def __str__(self) -> str:
        return f"{self.checkpoint}: {self.what}"


@dataclass(frozen=True)
class VerifyReport:
    """What a verification covered and the first thing that did not hold, if any."""

    events: int
    streams: int
    checkpoints: int
    seconds: float
    broken: ChainBreak | None = None
    failed: CheckpointFailure | None = None
    # Events after the newest checkpoint, or before any: their chain is checked, their
    # inclusion cannot be. Zero when the checkpoint failed: nothing is proven then.
    unproven: int = 0
    against: Checkpoint | None = None  # the checkpoint a family was proven against
    reads: int | None = None  # access-log rows checked; None when the access log was not
    read_broken: ReadBreak | None = None
    unproven_reads: int = 0  # reads after the newest checkpoint that signs the access log
    # Months of the access log archived out of the database: (month, reads, digest hex).
    archived: tuple[tuple[str, int, str], ...] = ()

    @property
    def proven(self) -> int:
        """Events whose inclusion in a signed checkpoint was proven."""
        return 0 if self.failed else self.events - self.unproven

    @property
    def ok(self) -> bool:
        """Whether every chain and checkpoint held."""
        return self.broken is None and self.failed is None and self.read_broken is None

    @property
    def rate(self) -> float:
        """Events verified per second."""
        return self.events / self.seconds if self.seconds > 0 else 0.0

    def lines(self) -> list[str]:
        """The report as printed by `reunite verify`."""
        reads = "" if self.reads is None else f"{self.reads} reads, "
        counts = (
            f"{self.events} events, {self.streams} streams, {reads}{self.checkpoints} checkpoints"
        )
        lines = [f"OK: {counts} verified"] if self.ok else []
        if self.broken is not None:
            b = self.broken
            lines.append(
                f"BROKEN: stream {b.stream_id} version {b.version} position {b.position}: {b.what}"
            )
        if self.read_broken is not None:
            lines.append(f"BROKEN: access-log row {self.read_broken.id}: {self.read_broken.what}")
        if self.failed is not None:
            lines.append(f"BROKEN: {self.failed}")
        if self.unproven:
            lines.append(f"{self.unproven} events are not yet covered by a signed checkpoint")
        for month, archived_reads, digest in self.archived:
            lines.append(
                f"access-log month {month}: archived, digest recorded ({archived_reads} reads, "
                f"sha256 {digest}); check its file with `reunite verify --archive FILE`"
            )
        if self.unproven_reads and self.failed is None:
            lines.append(f"{self.unproven_reads} reads are not yet covered by a signed checkpoint")
        lines.append(f"{self.seconds:.2f} s, {self.rate:,.0f} events/s")
        return lines


@dataclass
class StreamChains:
    """Each stream's last verified (version, hash); an event ahead of its predecessor waits."""

    heads: dict[UUID, tuple[int, bytes]] = field(default_factory=dict)
    waiting: dict[UUID, dict[int, RecordedEvent]] = field(default_factory=dict)
    # The break lowest in log order so far, with its place: a waiting event is checked, and
    # a missing version found, only after breaks that stand later in the log.
    first: tuple[LogPosition, ChainBreak] | None = None

    @property
    def broken(self) -> ChainBreak | None:
        """The break that stands first in the log, if any."""
        return None if self.first is None else self.first[1]

    def add(self, event: RecordedEvent) -> None:
        """Check the next event of the log against its stream's chain."""
        version = self.heads.get(event.stream_id, (0, b""))[0]
        if event.version > version + 1:
            # A transaction can take its id before another commits the version it extends,
            # and the log orders by transaction id: hold the event until its predecessor.
            self.waiting.setdefault(event.stream_id, {})[event.version] = event
            return
        self._check(event)
        waiting = self.waiting.get(event.stream_id, {})
        while (later := waiting.pop(self.heads[event.stream_id][0] + 1, None)) is not None:
            self._check(later)
        if not waiting:
            self.waiting.pop(event.stream_id, None)

    def _check(self, event: RecordedEvent) -> None:
        version, previous = self.heads.get(event.stream_id, (0, None))
        fault = link_fault(event, event.stream_id, version + 1, previous)
        if fault is not None:
            self._found(event, fault)
        # Go on from the stored hash, so one altered event is reported once, not again at
        # every successor.
        self.heads[event.stream_id] = (max(version, event.version), event.hash)

    def _found(self, event: RecordedEvent, what: str) -> None:
        at = place(event)
        if self.first is None or at < self.first[0]:
            self.first = (at, ChainBreak(event.stream_id, event.version, event.position, what))

    def finish(self) -> None:
        """An event still waiting at the end of the log follows a version that is missing."""
        for stream_id, waiting in self.waiting.items():
            first = waiting[min(waiting)]
            expected = self.heads.get(stream_id, (0, b""))[0] + 1
            self._found(first, f"version {first.version} where {expected} was expected")

    @property
    def streams(self) -> int:
        """How many streams the walk met."""
        return len(self.heads.keys() | self.waiting.keys())


class CheckpointWalk:
    """Grows the log's Merkle root leaf by leaf and compares it at each checkpoint's size."""

    def __init__(self, checkpoints: list[Checkpoint], trusted: frozenset[bytes] | None) -> None:
        self.pending = sorted(checkpoints, key=lambda c: (c.event_count, c.id), reverse=True)
        self.trusted = trusted
        self.frontier = MerkleFrontier()
        self.held: set[Checkpoint] = set()
        self.failed: CheckpointFailure | None = None

    @property
    def verified(self) -> int:
        """How many checkpoints held, so far."""
        return len(self.held)

    def add(self, event: RecordedEvent) -> None:
        """Take the next event of the log as the next leaf."""
        self.frontier.append(event_leaf(event))
        while self.pending and self.pending[-1].event_count == self.frontier.size:
            self._compare(self.pending.pop(), event)

    def _compare(self, checkpoint: Checkpoint, last: RecordedEvent) -> None:
        fault = checkpoint.seal_fault(self.trusted)
        if fault is None and checkpoint.head != LogPosition(last.transaction_id, last.position):
            fault = (
                f"its last event is at position {checkpoint.head_position}, but event "
                f"{checkpoint.event_count} of the log is at position {last.position}: events "
                "it covered were deleted or moved"
            )
        if fault is None and checkpoint.root != self.frontier.root():
            fault = "the root of its events differs: an event it covered was altered or replaced"
        self._fail(checkpoint, fault)

    def _fail(self, checkpoint: Checkpoint, fault: str | None) -> None:
        if fault is None:
            self.held.add(checkpoint)
        elif self.failed is None:
            self.failed = CheckpointFailure(checkpoint, fault)

    def refute(self, checkpoint: Checkpoint, fault: str) -> None:
        """A checkpoint whose events held does not hold for the access log."""
        self.held.discard(checkpoint)
        if self.failed is None:
            self.failed = CheckpointFailure(checkpoint, fault)

    def finish(self) -> None:
        """A checkpoint not reached covers more events than the log now holds."""
        for checkpoint in reversed(self.pending):
            fault = checkpoint.seal_fault(self.trusted) or (
                f"it covers {checkpoint.event_count} events, the log holds only "
                f"{self.frontier.size}: events it covered were deleted"
            )
            self._fail(checkpoint, fault)


class ReadCheckpointWalk:
    """Grows the access log's Merkle root read by read, compared at each checkpoint's count."""

    def __init__(
        self, checkpoints: Sequence[Checkpoint], refute: Callable[[Checkpoint, str], None]
    ) -> None:
        signing = [c for c in checkpoints if c.covers_reads and c.read_count is not None]
        self.pending = sorted(signing, key=lambda c: (c.read_count or 0, c.id), reverse=True)
        self.refute = refute
        self.frontier = MerkleFrontier()
        self.last_id = 0
        self._reach()  # those signed over an empty access log

    def add(self, record: ReadRecord) -> None:
        """Take the next read of the access log as the next leaf."""
        self.add_leaf(record.id, record.hash)

    def add_leaf(self, id: int, hash: bytes) -> None:
        """Take the next read, known by its id and hash (an archived one), as the next leaf."""
        self.frontier.append(hash)
        self.last_id = id
        self._reach()

    def _reach(self) -> None:
        while self.pending and self.pending[-1].read_count == self.frontier.size:
            checkpoint = self.pending.pop()
            if checkpoint.read_head_id != self.last_id:
                self.refute(
                    checkpoint,
                    f"its last read is row {checkpoint.read_head_id}, but read "
                    f"{self.frontier.size} of the access log is row {self.last_id}: reads it "
                    "covered were deleted or inserted",
                )
            elif checkpoint.read_root != self.frontier.root():
                self.refute(
                    checkpoint,
                    "the root of its reads differs: a read it covered was altered or replaced",
                )

    def finish(self) -> None:
        """A checkpoint not reached covers more reads than the access log now holds."""
        for checkpoint in reversed(self.pending):
            self.refute(
                checkpoint,
                f"it covers {checkpoint.read_count} reads, the access log holds only "
                f"{self.frontier.size}: reads it covered were deleted",
            )


async def verify_reads(
    pool: asyncpg.Pool,
    checkpoints: Sequence[Checkpoint],
    refute: Callable[[Checkpoint, str], None],
    batch_size: int = BATCH_SIZE,
) -> ReadChain:
    """Walk the access log's chain and each checkpoint's reads, refuting those that fail."""
    head = await pool.fetchrow(HEAD)
    assert head is not None
    chain = ReadChain(head["last_id"], head["hash"])
    walk = ReadCheckpointWalk(checkpoints, refute)
    after = 0
    for archive in await pool.fetch(ARCHIVED):
        month = archive["month"].strftime("%Y-%m")
        chain.add_archived(
            month,
            archive["first_prev_hash"],
            archive["last_id"],
            archive["last_hash"],
            archive["reads"],
        )
        leaves = archive["leaves"]
        for n, id in enumerate(archive["ids"]):
            walk.add_leaf(id, leaves[32 * n : 32 * n + 32])
        after = max(after, archive["last_id"] or 0)
        chain.archived.append((month, archive["reads"], archive["digest"].hex()))
    async for rows in read_batches(pool, READS, after, head["last_row"], batch_size):
        for row in rows:
            record = ReadRecord.from_row(row)
            chain.add(record)
            walk.add(record)
    chain.finish()
    walk.finish()
    return chain


async def verify_log(
    pool: asyncpg.Pool,
    trusted: frozenset[bytes] | None = None,
    batch_size: int = BATCH_SIZE,
    kept: Sequence[Checkpoint] = (),
) -> VerifyReport:
    """Check every chain and every checkpoint over the final prefix of the log.

    trusted: the public keys checkpoints must be signed with; None accepts each row's own.
    kept: checkpoints kept outside the database; each must still be there, unchanged, and
    the log is checked against it either way.
    """
    started = time.perf_counter()
    # Checkpoints first: each covers only events below its own horizon, which is below ours.
    stored = await all_checkpoints(pool)
    by_id = {c.id: c for c in stored}
    gone = [c for c in kept if by_id.get(c.id) != c]
    walk = CheckpointWalk([*stored, *gone], trusted)
    chains, count = StreamChains(), 0
    async for rows in batches(pool, EVENTS, LogPosition(), await horizon(pool), batch_size):
        for row in rows:
            event = recorded_event(row)
            chains.add(event)
            walk.add(event)
        count += len(rows)
    chains.finish()
    walk.finish()
    checkpoints = [*stored, *gone]
    reads = await verify_reads(pool, checkpoints, walk.refute, batch_size)
    if gone and walk.failed is None:
        walk.failed = CheckpointFailure(
            gone[0],
            "it was kept outside the database but is missing from it or differs there: "
            "checkpoints were deleted or edited",
        )
    elapsed = time.perf_counter() - started
    signed_reads = max((c.read_count or 0 for c in checkpoints if c.covers_reads), default=0)
    return VerifyReport(
        count,
        chains.streams,
        walk.verified,
        elapsed,
        chains.broken,
        walk.failed,
        reads=reads.count,
        read_broken=reads.broken,
        unproven_reads=max(0, reads.count - signed_reads),
        archived=tuple(reads.archived),
    )


async def read_family(pool: asyncpg.Pool, family_id: UUID) -> list[RecordedEvent]:
    """Every event of one family's stream, in version order."""
    rows = await pool.fetch(READ_STREAM, family_id, WHOLE_STREAM)
    return [recorded_event(row) for row in rows]


def place(event: RecordedEvent) -> LogPosition:
    """Where an event stands in the log's order."""
    return LogPosition(event.transaction_id, event.position)
