"""Proofs for one family: inclusion of its events in the latest signed checkpoint's tree,
and the check that the checkpoint signed exactly the family's events, no more, no fewer;
inclusion of its reads in the access log's tree the checkpoint signs."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

import asyncpg

from service.eventstore.chain import LEAF_COLUMNS, event_leaf, row_leaf, verify_stream
from service.eventstore.records import LogPosition, RecordedEvent
from service.ledger.bundle import ProvenEvent, ProvenRead
from service.ledger.checkpoints import (
    BATCH_SIZE,
    Checkpoint,
    batches,
    latest_checkpoint,
    range_query,
)
from service.ledger.merkle import MerkleTree, verify_inclusion
from service.ledger.reads import family_reads, leaf_batches, record_hash
from service.ledger.verify import CheckpointFailure, VerifyReport, place, read_family


class ProofError(Exception):
    """The log no longer matches a checkpoint, so no proof drawn from it would hold."""


# The leaves with the stream each belongs to, so a family's signed events can be counted.
STREAM_LEAVES = range_query(f"{LEAF_COLUMNS}, stream_id")


@dataclass(frozen=True)
class SignedTree:
    """The Merkle tree of the log up to a checkpoint's head, checked against its root."""

    tree: MerkleTree
    leaf_of: dict[int, int]  # log position -> leaf index
    signed_of: dict[UUID, list[int]]  # stream -> the positions of its signed events


async def signed_tree(pool: asyncpg.Pool, checkpoint: Checkpoint) -> SignedTree:
    """Read the log up to the checkpoint's head; ProofError when it no longer has its root."""
    leaves: list[bytes] = []
    leaf_of: dict[int, int] = {}
    signed_of: dict[UUID, list[int]] = {}
    through_head = LogPosition(checkpoint.head_transaction_id, checkpoint.head_position + 1)
    async for rows in batches(pool, STREAM_LEAVES, LogPosition(), through_head, BATCH_SIZE):
        for row in rows:
            leaf_of[row["position"]] = len(leaves)
            signed_of.setdefault(row["stream_id"], []).append(row["position"])
            leaves.append(row_leaf(row))
    tree = MerkleTree(leaves)
    if tree.size != checkpoint.event_count or tree.root() != checkpoint.root:
        raise ProofError(
            f"the {tree.size} events up to its head no longer have its root: "
            "an event it covered was altered, deleted or moved"
        )
    return SignedTree(tree, leaf_of, signed_of)


class SignedTrees:
    """The latest checkpoint's tree, kept between calls: proving one family then costs a
    read of its own events, not of the whole log, until the next checkpoint.

    Sound for one family: each proof is checked against the signed root with the family's
    hashes as stored now, and every event the checkpoint signed for the family must still
    be there. A change to another family is `reunite verify`'s to find.
    """

    def __init__(self) -> None:
        self._key: tuple[int, bytes] | None = None
        self._latest: SignedTree | ProofError | None = None
        self._lock = asyncio.Lock()

    async def of(self, pool: asyncpg.Pool, checkpoint: Checkpoint) -> SignedTree:
        """The checkpoint's tree, read from the log only when it is not the one kept; a log
        that no longer has the checkpoint's root is remembered too (ProofError), so callers
        are not each made to read the whole log again."""
        async with self._lock:
            key = (checkpoint.id, checkpoint.root)
            if self._key != key:
                try:
                    self._latest = await signed_tree(pool, checkpoint)
                except ProofError as e:
                    self._latest = e
                self._key = key
            if isinstance(self._latest, ProofError):
                raise ProofError(str(self._latest))
            assert self._latest is not None
            return self._latest


async def prove_events(
    pool: asyncpg.Pool,
    family_id: UUID,
    events: Sequence[RecordedEvent],
    checkpoint: Checkpoint,
    trees: SignedTrees | None = None,
) -> list[ProvenEvent]:
    """Inclusion proofs of the family's events the checkpoint signed; ProofError unless the
    family still holds exactly the events it signed, each at its signed place."""
    signed = await (trees.of(pool, checkpoint) if trees else signed_tree(pool, checkpoint))
    expected = signed.signed_of.get(family_id, [])
    covered = [e for e in events if e.position in signed.leaf_of]
    if len(covered) != len(expected) or {e.position for e in covered} != set(expected):
        missing = sorted(set(expected) - {e.position for e in covered})
        raise ProofError(
            f"it signed {len(expected)} events of the family at positions the log no longer "
            f"holds for it: {missing[:10]}"
            if missing
            else "the family has events at places it signed for other events"
        )
    if late := [
        e for e in events if e.position not in signed.leaf_of and checkpoint.covers(place(e))
    ]:
        raise ProofError(
            f"version {late[0].version} stands inside its signed range but was not signed"
        )
    return [
        ProvenEvent(
            e, signed.leaf_of[e.position], tuple(signed.tree.proof(signed.leaf_of[e.position]))
        )
        for e in covered
    ]


async def prove_reads(
    pool: asyncpg.Pool, family_id: UUID, checkpoint: Checkpoint
) -> list[ProvenRead]:
    """Proofs of the family's reads the checkpoint signed; ProofError if its root is lost."""
    if checkpoint.read_head_id is None:
        return []
    records = await family_reads(pool, family_id, checkpoint.read_head_id)
    leaves: list[bytes] = []
    leaf_of: dict[int, int] = {}
    through = checkpoint.read_head_id
    async for rows in leaf_batches(pool, 0, through, BATCH_SIZE):
        for id, hash in rows:
            leaf_of[id] = len(leaves)
            leaves.append(hash)
    tree = MerkleTree(leaves)
    if tree.size != checkpoint.read_count or tree.root() != checkpoint.read_root:
        raise ProofError(
            f"the {tree.size} reads up to its access-log head no longer have its root: "
            "a read it covered was altered, deleted or inserted"
        )
    proven = []
    for record in records:
        # Both must hold for the bundle to verify: said now, not by the auditor later.
        index = leaf_of.get(record.id)
        if index is None or leaves[index] != record.hash:
            raise ProofError(f"{record} changed while it was being read; run `reunite verify`")
        if record_hash(record) != record.hash:
            raise ProofError(f"{record}: its hash does not match its contents")
        proven.append(ProvenRead(record, index, tuple(tree.proof(index))))
    return proven


async def verify_family(
    pool: asyncpg.Pool,
    family_id: UUID,
    trusted: frozenset[bytes] | None = None,
    trees: SignedTrees | None = None,
) -> VerifyReport:
    """Check one family: its chain, and that the latest checkpoint signed exactly its events.

    An unknown family (no events, none signed) reports no events; the caller decides
    whether that is an error.
    """
    started = time.perf_counter()
    events = await read_family(pool, family_id)
    broken = verify_stream(events) if events else None
    checkpoint = await latest_checkpoint(pool)
    failed, proven = None, 0
    if checkpoint is not None:
        failed, proven = await _prove_family(pool, family_id, events, checkpoint, trusted, trees)
    verified = int(checkpoint is not None and failed is None and bool(events))
    elapsed = time.perf_counter() - started
    unproven = 0 if failed else len(events) - proven
    return VerifyReport(
        len(events), int(bool(events)), verified, elapsed, broken, failed, unproven, checkpoint
    )


async def _prove_family(
    pool: asyncpg.Pool,
    family_id: UUID,
    events: list[RecordedEvent],
    checkpoint: Checkpoint,
    trusted: frozenset[bytes] | None,
    trees: SignedTrees | None,
) -> tuple[CheckpointFailure | None, int]:
    if (fault := checkpoint.seal_fault(trusted)) is not None:
        return CheckpointFailure(checkpoint, fault), 0
    try:
        proven = await prove_events(pool, family_id, events, checkpoint, trees)
    except ProofError as e:
        return CheckpointFailure(checkpoint, str(e)), 0
    for p in proven:
        # The same check an offline auditor runs on an exported bundle.
        size, root = checkpoint.event_count, checkpoint.root
        if not verify_inclusion(event_leaf(p.event), p.leaf_index, size, p.proof, root):
            what = f"event version {p.event.version} is not included in its root"
            return CheckpointFailure(checkpoint, what), 0
    return None, len(proven)
