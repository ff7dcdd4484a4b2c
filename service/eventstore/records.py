"""The records of the log: what a reader gets back and what a writer hands in.

They sit below the store and the read side both, so projections, the ledger and the
hash chain name them without importing the store that reads and writes them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any, NamedTuple, TypeAlias
from uuid import UUID

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from service.eventstore.provenance import Provenance

# A connection taken directly or from the pool; both run the same statements.
Connection: TypeAlias = "asyncpg.Connection[asyncpg.Record] | PoolConnectionProxy[asyncpg.Record]"

COLUMNS = """
position, transaction_id::text::bigint AS transaction_id, stream_id, version, topic,
payload, occurred_at, recorded_at, actor, role, source, reason, correlation_id,
causation_id, idempotency_key, prev_hash, hash, hash_format
"""


@dataclass(frozen=True)
class AppendResult:
    """Where an accepted command's events landed.

    Concurrent appends draw from one sequence, so other commands' events may sit between
    first_position and last_position; the stream's versions are contiguous.
    """

    stream_id: UUID
    version: int
    first_position: int
    last_position: int
    duplicate: bool = False
    # The hash the stream now ends in (None for a duplicate, which appended nothing).
    head: bytes | None = None


class RecordedEvent(NamedTuple):
    """One row of the log: the mapper's stored event plus the store's own columns.

    A named tuple of COLUMNS in their order, not a dataclass: a replay builds one for every
    event it reads, straight from the row, in one step.
    """

    position: int
    transaction_id: int
    stream_id: UUID
    version: int
    topic: str
    payload: bytes
    occurred_at: datetime | None
    recorded_at: datetime
    actor: str
    role: str
    source: str
    reason: str | None
    correlation_id: UUID | None
    causation_id: UUID | None
    idempotency_key: str | None
    prev_hash: bytes | None
    hash: bytes
    hash_format: int = 2  # service.eventstore.chain: 1 for rows hashed by migration 0001's trigger

    @property
    def provenance(self) -> Provenance:
        """Who recorded the event, on what authority, and as part of what."""
        who = self[8:14]
        found = _PROVENANCES.get(who)
        if found is None:
            if len(_PROVENANCES) >= _PROVENANCES_KEPT:
                _PROVENANCES.clear()
            found = _PROVENANCES[who] = Provenance(*who)
        return found


# A row selected with COLUMNS as a RecordedEvent (the fields, in their order): tuple.__new__
# itself, so building one per row is a C call, not a Python one (a replay builds a thousand).
recorded_event: Callable[[Iterable[Any]], RecordedEvent] = partial(tuple.__new__, RecordedEvent)
# Most rows share their provenance (one caseworker, one import): reuse the frozen value.
_PROVENANCES: dict[tuple[Any, ...], Provenance] = {}
_PROVENANCES_KEPT = 4096


@dataclass(frozen=True, order=True)
class LogPosition:
    """A reader's place in the gap-safe global order."""

    transaction_id: int = 0
    position: int = 0


@dataclass(frozen=True)
class NewEvent:
    """An event ready to append: topic, mapped payload, when it happened."""

    topic: str
    payload: bytes
    occurred_at: datetime | None
