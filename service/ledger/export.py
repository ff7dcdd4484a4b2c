"""A family's evidence bundle: its events and reads with their proofs against a signed
checkpoint (`reunite export`, and `familyBundle` for auditors over GraphQL)."""

from __future__ import annotations

from uuid import UUID

import asyncpg

from service.eventstore.chain import verify_stream
from service.eventstore.records import LogPosition
from service.ledger.bundle import Bundle
from service.ledger.checkpoints import (
    Checkpoint,
    CheckpointRefused,
    CheckpointTaker,
    latest_checkpoint,
)
from service.ledger.proofs import ProofError, prove_events, prove_reads
from service.ledger.reads import last_family_read
from service.ledger.verify import place, read_family


class ExportError(Exception):
    """The family cannot be exported: unknown, not final yet, or its record does not hold."""


class UnknownFamily(ExportError):
    """No event of the family is in the log."""


async def export_bundle(
    pool: asyncpg.Pool, family_id: UUID, taker: CheckpointTaker | None
) -> Bundle:
    """The family's bundle, proven against the latest checkpoint; when none covers it, the
    taker (if any) takes one."""
    events = await read_family(pool, family_id)
    if not events:
        raise UnknownFamily(f"no family {family_id} in the log")
    if (broken := verify_stream(events)) is not None:
        raise ExportError(
            f"version {broken.version} (position {broken.position}): {broken.what}; "
            "run `reunite verify`"
        )
    last_read = await last_family_read(pool, family_id)
    checkpoint = await _covering_checkpoint(pool, max(map(place, events)), last_read, taker)
    try:
        proven = await prove_events(pool, family_id, events, checkpoint)
        reads = await prove_reads(pool, family_id, checkpoint)
    except ProofError as e:
        raise ExportError(f"{checkpoint}: {e}; run `reunite verify`") from None
    return Bundle(family_id, tuple(proven), checkpoint, tuple(reads))


async def _covering_checkpoint(
    pool: asyncpg.Pool, last: LogPosition, last_read: int, taker: CheckpointTaker | None
) -> Checkpoint:
    checkpoint = await latest_checkpoint(pool)
    # Reads the latest one does not cover are left out unless a key can take one that does.
    reads_uncovered = checkpoint is not None and not checkpoint.covers_read(last_read)
    if checkpoint is None or not checkpoint.covers(last) or (reads_uncovered and taker is not None):
        if taker is None:
            raise ExportError(
                "no checkpoint covers the family's last event, and no key to take one: "
                "set REUNITE_SIGNING_KEY_FILE"
            )
        try:
            checkpoint = await taker.take()
        except CheckpointRefused as e:
            raise ExportError(str(e)) from None
    if checkpoint is None or not checkpoint.covers(last):
        raise ExportError(
            "the family's last event is not final yet (an older transaction is still "
            "running); retry shortly"
        )
    return checkpoint
