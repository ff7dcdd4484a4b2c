"""A month of the access log archived out of the database, with proof (ADR 0015).

`reunite access-log archive` writes the month's reads, in id order, to a gzip-compressed JSON
file with the signed checkpoint that covers its last read and that read's inclusion proof:
the chain binds every read of the month to the last one (each hash covers the one before),
and the proof binds the last one to a root the key signed. The file is read back and
verified as `reunite verify-bundle` would, offline; only then is the archive recorded (its
SHA-256 digest, and the month's read ids and hashes, which keep the access log's Merkle tree
whole for checkpoints and proofs) in `access_log_archives`, a record naming the digest is
appended to the access log itself (so the next checkpoint signs it), and the month's
partition is detached and dropped, in one transaction. Months go oldest first.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import itertools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from uuid import UUID

import asyncpg

from service.ledger.bundle import (
    BundleRejected,
    _checkpoint_from_json,
    _Fields,
    checkpoint_to_json,
    read_record_from_json,
)
from service.ledger.checkpoints import BATCH_SIZE, Checkpoint, all_checkpoints
from service.ledger.merkle import MerkleTree, verify_inclusion
from service.ledger.reads import READ_COLUMNS, ReadRecord, leaf_batches, record_hash

FORMAT = "reunite-access-archive-v1"
MAX_INT8 = 2**63 - 1
HOW_TO_VERIFY = (
    "reads: one month of the access log in id order, each read's hash recomputed from its "
    "fields as in reunite-bundle-v2 (service/ledger/reads.py), each read's prev_hash the hash "
    "of the read before it; the last read's hash is leaf leaf_index of the RFC 6962 tree whose "
    "root is checkpoint.read_root, by proof; checkpoint is signed as in reunite-bundle-v2."
)
ARCHIVE_OPERATION = "archive:{month} sha256:{digest} reads:{reads}"


class ArchiveError(Exception):
    """The month cannot be archived now; nothing was changed."""


@dataclass(frozen=True)
class ArchivedMonth:
    """An archive file that verified: its month, reads, checkpoint and digest."""

    month: date
    reads: tuple[ReadRecord, ...]
    checkpoint: Checkpoint | None
    digest: bytes

    def __str__(self) -> str:
        label = self.month.strftime("%Y-%m")
        if not self.reads:
            return f"access-log month {label}: no reads"
        assert self.checkpoint is not None
        return (
            f"access-log month {label}: {len(self.reads)} reads (rows {self.reads[0].id}.."
            f"{self.reads[-1].id}), chained and included in {self.checkpoint} "
            f"(reads 1..{self.checkpoint.read_count}); sha256 {self.digest.hex()}"
        )


def month_bounds(month: date) -> tuple[datetime, datetime]:
    """The month's first instant and the next month's, in UTC (its partition's bounds)."""
    start = datetime(month.year, month.month, 1, tzinfo=UTC)
    following = datetime(month.year + month.month // 12, month.month % 12 + 1, 1, tzinfo=UTC)
    return start, following


def partition_name(month: date) -> str:
    """The partition migration 0011 names the month's (access_log_YYYY_MM)."""
    return f"access_log_{month.year:04d}_{month.month:02d}"


def parse_month(text: str) -> date:
    """'2026-11' as the month's first day."""
    try:
        moment = datetime.strptime(text, "%Y-%m")
    except ValueError:
        raise ValueError(f"{text!r} is not a month (YYYY-MM)") from None
    return moment.date()


# The file ------------------------------------------------------------------------------


def archive_to_bytes(
    month: date,
    reads: Sequence[ReadRecord],
    checkpoint: Checkpoint | None,
    leaf_index: int | None,
    proof: Sequence[bytes],
) -> bytes:
    """The month's archive file: gzip (no name, no time, so the bytes are the same each
    time) of its JSON."""
    data = {
        "format": FORMAT,
        "how_to_verify": HOW_TO_VERIFY,
        "month": month.strftime("%Y-%m"),
        "reads": [_read_to_json(r) for r in reads],
        "checkpoint": None if checkpoint is None else checkpoint_to_json(checkpoint),
        "leaf_index": leaf_index,
        "proof": [step.hex() for step in proof],
    }
    text = json.dumps(data, indent=1, ensure_ascii=False).encode("utf-8")
    return gzip.compress(text, mtime=0)


def is_archive(data: bytes) -> bool:
    """Whether the bytes look like an archive file (gzip) rather than a JSON bundle."""
    return data[:2] == b"\x1f\x8b"


def verify_archive(data: bytes, public_key: bytes | None) -> ArchivedMonth:
    """Check an archive file offline; BundleRejected naming what fails.

    public_key: the key its checkpoint must be signed with (None: the key it carries, which
    proves integrity, not signer)."""
    try:
        top = _Fields(json.loads(gzip.decompress(data)), "archive")
    except (OSError, EOFError, ValueError, RecursionError) as e:
        # ValueError: bad UTF-8 or JSON, or an integer too long to convert; RecursionError:
        # arrays nested too deep to decode.
        raise BundleRejected(f"not a readable archive: {e}") from None
    if top.value.get("format") != FORMAT:
        raise BundleRejected(f"not a {FORMAT} file")
    month = top.parse("month", parse_month)
    start, following = month_bounds(month)
    reads = tuple(
        read_record_from_json(_Fields(r, f"reads[{i}]"))
        for i, r in enumerate(top.get("reads", list))
    )
    previous: ReadRecord | None = None
    for read in reads:
        if record_hash(read) != read.hash:
            raise BundleRejected(f"{read}: its hash does not match its contents")
        if previous is not None and (read.id <= previous.id or read.prev_hash != previous.hash):
            raise BundleRejected(f"{read} does not chain from {previous} before it")
        if not start <= read.read_at < following:
            raise BundleRejected(f"{read} was not read in {month:%Y-%m}")
        previous = read
    digest = hashlib.sha256(data).digest()
    if not reads:
        return ArchivedMonth(month, reads, None, digest)
    if top.value.get("checkpoint") is None:
        raise BundleRejected("the archive holds reads but no checkpoint covering them")
    checkpoint = _checkpoint_from_json(_Fields(top.value["checkpoint"], "checkpoint"))
    if public_key is not None and checkpoint.public_key != public_key:
        raise BundleRejected(f"{checkpoint} is not signed by the given public key")
    fault = checkpoint.seal_fault(None if public_key is None else frozenset({public_key}))
    if fault is not None:
        raise BundleRejected(f"{checkpoint}: {fault}")
    last = reads[-1]
    if checkpoint.read_root is None or checkpoint.read_count is None:
        raise BundleRejected(f"{checkpoint} does not sign the access log")
    if not checkpoint.covers_read(last.id):
        raise BundleRejected(f"{last} is after the last read {checkpoint} covers")
    index = top.number("leaf_index", 0, MAX_INT8)
    proof = _Fields({"proof": top.value.get("proof")}, "archive").proof()
    if not verify_inclusion(last.hash, index, checkpoint.read_count, proof, checkpoint.read_root):
        raise BundleRejected(
            f"{last}: its inclusion proof does not lead to the access-log root of {checkpoint}"
        )
    return ArchivedMonth(month, reads, checkpoint, digest)


def _read_to_json(r: ReadRecord) -> dict[str, object]:
    return {
        "id": r.id,
        "read_at": r.read_at.isoformat(),
        "subject": r.subject,
        "role": r.role,
        "operation": r.operation,
        "family_ids": [str(family) for family in r.family_ids],
        "prev_hash": None if r.prev_hash is None else r.prev_hash.hex(),
        "hash": r.hash.hex(),
    }


def reads_of(archive: ArchivedMonth, family_id: UUID) -> list[ReadRecord]:
    """The archive's reads that name the family, in id order."""
    return [r for r in archive.reads if family_id in r.family_ids]


@dataclass(frozen=True)
class RecordedArchive:
    """What the database recorded of an archived month when its partition was dropped."""

    month: str
    reads: int
    digest: bytes
    first_prev_hash: bytes | None
    leaves: bytes  # the month's read hashes, in id order


async def recorded_archives(pool: asyncpg.Pool) -> dict[str, RecordedArchive]:
    """The archived months ('2026-01'), as access_log_archives records them."""
    rows = await pool.fetch(
        "SELECT month, reads, digest, first_prev_hash, leaves FROM access_log_archives"
    )
    return {
        r["month"].strftime("%Y-%m"): RecordedArchive(
            r["month"].strftime("%Y-%m"), r["reads"], r["digest"], r["first_prev_hash"], r["leaves"]
        )
        for r in rows
    }


def archive_fault(archived: ArchivedMonth, recorded: RecordedArchive | None) -> str | None:
    """Why a file that verified offline is not the month the database archived, or None."""
    month = archived.month.strftime("%Y-%m")
    if recorded is None:
        return f"no archive of {month} is recorded in the database"
    if archived.digest != recorded.digest:
        return f"it is not the file whose digest the log recorded for {month}"
    first = archived.reads[0].prev_hash if archived.reads else None
    hashes = b"".join(r.hash for r in archived.reads)
    if hashes != recorded.leaves or first != recorded.first_prev_hash:
        return f"its reads are not those the database recorded for {month}"
    return None


# Archiving -----------------------------------------------------------------------------


async def hot_months(pool: asyncpg.Pool) -> list[date]:
    """The months with a partition in the database, oldest first."""
    rows = await pool.fetch(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
        " WHERE i.inhparent = 'access_log'::regclass ORDER BY c.relname"
    )
    return [parse_month(r["relname"].removeprefix("access_log_").replace("_", "-")) for r in rows]


async def archive_month(
    pool: asyncpg.Pool, month: date, out: Path, trusted: frozenset[bytes] | None
) -> ArchivedMonth:
    """Archive one month to out, verify the file, then record it and drop the partition.

    pool: the owner's (the server's role may neither detach nor drop). ArchiveError when the
    month cannot go now; nothing was changed then."""
    following = month_bounds(month)[1]
    if following > datetime.now(UTC):
        raise ArchiveError(f"{month:%Y-%m} is not over yet")
    months = await hot_months(pool)
    if month not in months:
        raise ArchiveError(f"the access log holds no month {month:%Y-%m} in the database")
    if months[0] != month:
        raise ArchiveError(f"archive the older months first, from {months[0]:%Y-%m}")
    rows = await pool.fetch(f"SELECT {READ_COLUMNS} FROM {partition_name(month)} ORDER BY id")
    reads = [ReadRecord.from_row(row) for row in rows]
    checkpoint: Checkpoint | None = None
    index: int | None = None
    proof: list[bytes] = []
    if reads:
        checkpoint, index, proof = await _prove_last(pool, reads, trusted)
    data = archive_to_bytes(month, reads, checkpoint, index, proof)
    await asyncio.to_thread(out.write_bytes, data)
    # What was written is what is recorded: the file read back and verified, offline.
    written = await asyncio.to_thread(out.read_bytes)
    archived = verify_archive(written, None if checkpoint is None else checkpoint.public_key)
    if archived.digest != hashlib.sha256(data).digest():
        raise ArchiveError(f"{out} changed while it was being written")
    await _record_and_drop(pool, archived)
    return archived


async def _prove_last(
    pool: asyncpg.Pool, reads: list[ReadRecord], trusted: frozenset[bytes] | None
) -> tuple[Checkpoint, int, list[bytes]]:
    """The first checkpoint over the month's last read, and that read's inclusion proof;
    the month's chain checked against the read before it and the checkpoint's root."""
    first, last = reads[0], reads[-1]
    covering = sorted(
        (c for c in await all_checkpoints(pool) if c.covers_reads and c.covers_read(last.id)),
        key=lambda c: (c.read_count or 0, c.id),
    )
    checkpoint = next((c for c in covering if c.seal_fault(trusted) is None), None)
    if checkpoint is None:
        raise ArchiveError(
            f"no signed checkpoint covers {last}: take one (`reunite checkpoint`) first"
        )
    for previous, read in itertools.pairwise(reads):
        if read.prev_hash != previous.hash or record_hash(read) != read.hash:
            raise ArchiveError(f"{read} does not hold: run `reunite verify`")
    if record_hash(first) != first.hash:
        raise ArchiveError(f"{first} does not hold: run `reunite verify`")
    leaves: list[bytes] = []
    index_of: dict[int, int] = {}
    before: bytes | None = None
    assert checkpoint.read_head_id is not None
    async for batch in leaf_batches(pool, 0, checkpoint.read_head_id, BATCH_SIZE):
        for id, hash in batch:
            if id < first.id:
                before = hash
            index_of[id] = len(leaves)
            leaves.append(hash)
    if first.prev_hash != before:
        raise ArchiveError(f"{first} does not chain from the read before it: run `reunite verify`")
    if any(index_of.get(r.id) is None for r in reads) or (
        index_of[last.id] - index_of[first.id] != len(reads) - 1
    ):
        raise ArchiveError(f"reads of other months stand between {first} and {last}")
    tree = MerkleTree(leaves)
    if tree.size != checkpoint.read_count or tree.root() != checkpoint.read_root:
        raise ArchiveError(f"the access log no longer has the root of {checkpoint}: run verify")
    index = index_of[last.id]
    return checkpoint, index, tree.proof(index)


async def _record_and_drop(pool: asyncpg.Pool, archived: ArchivedMonth) -> None:
    reads = archived.reads
    label = archived.month.strftime("%Y-%m")
    name = partition_name(archived.month)
    async with pool.acquire() as conn, conn.transaction():
        # The table's lock first: a writer waiting for it holds no lock of the chain's, so
        # neither waits for the other (the detach would wait for a writer holding the chain).
        await conn.execute("LOCK TABLE access_log IN ACCESS EXCLUSIVE MODE")
        held = await conn.fetchrow(f"SELECT count(*) AS n, max(id) AS last FROM {name}")
        if held is None or (held["n"], held["last"]) != (
            len(reads),
            reads[-1].id if reads else None,
        ):
            raise ArchiveError(f"{name} changed while it was being archived")
        await conn.execute(
            "INSERT INTO access_log_archives (month, first_id, last_id, reads, first_prev_hash,"
            " last_hash, ids, leaves, digest) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            archived.month,
            reads[0].id if reads else None,
            reads[-1].id if reads else None,
            len(reads),
            reads[0].prev_hash if reads else None,
            reads[-1].hash if reads else None,
            [r.id for r in reads],
            b"".join(r.hash for r in reads),
            archived.digest,
        )
        # The digest in the chain itself: the next checkpoint signs that it was recorded.
        operation = ARCHIVE_OPERATION.format(
            month=label, digest=archived.digest.hex(), reads=len(reads)
        )
        await conn.execute("SELECT reunite_access_log_months(0)")
        await conn.execute(
            "INSERT INTO access_log (subject, role, operation, family_ids)"
            " VALUES (current_user, 'owner', $1, '{}')",
            operation,
        )
        await conn.execute(f"ALTER TABLE access_log DETACH PARTITION {name}")
        await conn.execute(f"DROP TABLE {name}")
