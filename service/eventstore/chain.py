"""The per-stream hash chain: computed for new events, recomputed to verify, leaf data.

Format 1 (rows written before migration 0007) was computed by a trigger and also hashed
position, transaction id and recorded_at. Format 2 is computed here before the insert, over
what the service decides; the three columns the database assigns are sealed in the Merkle
leaves of signed checkpoints instead (leaf_data).
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

import asyncpg

from service.eventstore.provenance import Provenance
from service.eventstore.records import NewEvent, RecordedEvent

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ONE_MICROSECOND = timedelta(microseconds=1)
UNKNOWN_MOMENT = -(2**63)


@dataclass(frozen=True)
class ChainBreak:
    """The first event of a stream whose chain does not hold, and what is wrong with it."""

    stream_id: UUID
    version: int
    position: int
    what: str


def _int4(value: int) -> bytes:
    # int4send: a signed 32-bit integer in network (big-endian) byte order.
    return struct.pack(">i", value)


def _int8(value: int) -> bytes:
    # int8send: a signed 64-bit integer in network (big-endian) byte order.
    return struct.pack(">q", value)


def _lp(value: bytes | None) -> bytes:
    # reunite_lp: a length prefix keeps field boundaries unambiguous, and -1 tells NULL from
    # an empty value, so ("ab", "c") and ("a", "bc") or None and "" never hash alike.
    if value is None:
        return _int4(-1)
    return _int4(len(value)) + value


def _text(value: str | None) -> bytes:
    # convert_to(value, 'UTF8') then reunite_lp; NULL text stays NULL.
    return _lp(None if value is None else value.encode("utf-8"))


def _uuid(value: UUID | None) -> bytes:
    # reunite_lp(uuid_send(...)): the 16 raw bytes, length-prefixed; NULL stays NULL.
    return _lp(None if value is None else value.bytes)


def _micros(moment: datetime | None) -> bytes:
    # reunite_micros: whole microseconds since the Unix epoch, so the offset a client
    # chose to display does not matter, only the instant does; unknown is the minimum.
    if moment is None:
        return _int8(UNKNOWN_MOMENT)
    if moment.tzinfo is None:
        raise ValueError("timestamptz values must be timezone-aware")
    return _int8((moment - EPOCH) // ONE_MICROSECOND)


def event_hash(event: RecordedEvent, prev_hash: bytes | None) -> bytes:
    """The hash the event's row should hold, in its own format, chained from prev_hash."""
    if event.hash_format == 1:
        return _format_1(event, prev_hash)
    return content_hash(
        prev_hash,
        event.stream_id,
        event.version,
        event.occurred_at,
        event.topic,
        event.payload,
        event.provenance,
        event.idempotency_key,
    )


def content_hash(
    prev_hash: bytes | None,
    stream_id: UUID,
    version: int,
    occurred_at: datetime | None,
    topic: str,
    payload: bytes,
    provenance: Provenance,
    idempotency_key: str | None,
) -> bytes:
    """Format 2: SHA-256 over prev_hash and every field the service gives an event."""
    message = b"".join(
        (
            _lp(prev_hash),
            stream_id.bytes,  # always 16 bytes, never NULL
            _int4(version),
            _micros(occurred_at),
            _text(topic),
            _lp(payload),
            _given_by(provenance, idempotency_key),
        )
    )
    return hashlib.sha256(message).digest()


def command_hashes(
    stream_id: UUID,
    expected_version: int,
    events: Sequence[NewEvent],
    provenance: Provenance,
    idempotency_key: str | None,
    head: bytes | None,
) -> list[bytes]:
    """The format-2 hashes of a command's new events, chained from the stream's head."""
    hashes: list[bytes] = []
    previous = head
    for version, event in enumerate(events, start=expected_version + 1):
        previous = content_hash(
            previous,
            stream_id,
            version,
            event.occurred_at,
            event.topic,
            event.payload,
            provenance,
            idempotency_key,
        )
        hashes.append(previous)
    return hashes


def leaf_data(
    hash_format: int, hash: bytes, position: int, transaction_id: int, recorded_at: datetime
) -> bytes:
    """What one event contributes to the log's Merkle tree: its hash, and for format 2 the
    place and time the database gave it, which its hash does not cover."""
    if hash_format == 1:
        return hash
    return hash + _int8(position) + _int8(transaction_id) + _micros(recorded_at)


def event_leaf(event: RecordedEvent) -> bytes:
    """leaf_data of one recorded event."""
    return leaf_data(
        event.hash_format, event.hash, event.position, event.transaction_id, event.recorded_at
    )


def row_leaf(row: asyncpg.Record) -> bytes:
    """leaf_data of a row selected with LEAF_COLUMNS."""
    return leaf_data(
        row["hash_format"], row["hash"], row["position"], row["transaction_id"], row["recorded_at"]
    )


# What a query must select for row_leaf.
LEAF_COLUMNS = (
    "transaction_id::text::bigint AS transaction_id, position, hash, hash_format, recorded_at"
)


def _format_1(event: RecordedEvent, prev_hash: bytes | None) -> bytes:
    """SHA-256 over the same bytes, in the same order, as migration 0001's trigger."""
    message = b"".join(
        (
            _lp(prev_hash),
            event.stream_id.bytes,  # uuid_send without a prefix: always 16 bytes, never NULL
            _int4(event.version),
            _int8(event.position),
            _int8(event.transaction_id),
            _text(event.topic),
            _lp(event.payload),
            _micros(event.occurred_at),
            _micros(event.recorded_at),
            _given_by(event.provenance, event.idempotency_key),
        )
    )
    return hashlib.sha256(message).digest()


def _given_by(p: Provenance, idempotency_key: str | None) -> bytes:
    """Who recorded an event, how and why, and its command's key: the last fields of both
    formats, in this order."""
    return b"".join(
        (
            _text(p.actor),
            _text(p.role),
            _text(p.source),
            _text(p.reason),
            _uuid(p.correlation_id),
            _uuid(p.causation_id),
            _text(idempotency_key),
        )
    )


def link_fault(
    event: RecordedEvent, stream_id: UUID, expected_version: int, previous: bytes | None
) -> str | None:
    """What is wrong with one link of a stream's chain, or None when it holds."""
    # The checks run cheapest first; each names the first thing that does not hold.
    if event.stream_id != stream_id:
        return f"belongs to stream {event.stream_id}, not {stream_id}"
    # A missing, repeated or reordered version means an event was removed or moved.
    if event.version != expected_version:
        return f"version {event.version} where {expected_version} was expected"
    if event.prev_hash != previous:
        return "prev_hash differs from the previous event's hash"
    # Recompute from the previous event's hash (equal to prev_hash here) so a rewritten
    # column is reported at the event that holds it, not at its successor.
    if event_hash(event, previous) != event.hash:
        return "hash does not match the event's contents"
    return None


def verify_stream(events: Sequence[RecordedEvent]) -> ChainBreak | None:
    """The first break in one stream's events given in version order, or None if all hold."""
    previous: bytes | None = None
    for expected_version, event in enumerate(events, start=1):
        fault = link_fault(event, events[0].stream_id, expected_version, previous)
        if fault is not None:
            return ChainBreak(event.stream_id, event.version, event.position, fault)
        previous = event.hash
    return None
