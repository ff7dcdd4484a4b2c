"""The hash chain in Python: format 1 byte-exact with the old trigger, format 2 with its
definition, and every field counts, in the hash or in the Merkle leaf."""

from __future__ import annotations

import hashlib
import struct
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, cast
from uuid import UUID

import pytest

from service.eventstore.chain import ChainBreak, event_hash, event_leaf, verify_stream
from service.eventstore.provenance import Provenance
from service.eventstore.records import COLUMNS, RecordedEvent, recorded_event

STREAM = UUID("6f1c2a34-5b6d-4e7f-8a9b-0c1d2e3f4a5b")
CORRELATION = UUID("11111111-2222-4333-8444-555555555555")
OCCURRED = datetime(2018, 5, 21, 9, 0, 0, 123456, tzinfo=UTC)

# Two rows with the hashes PostgreSQL 15 computed for them in format 1, with the functions
# the trigger of migration 0001 used: non-ASCII text, binary payload, NULLs and non-NULLs.
FIRST_V1 = RecordedEvent(
    position=1,
    transaction_id=817,
    stream_id=STREAM,
    version=1,
    topic="domain.family:Family.Separated",
    payload=b'{"a":1}\x00\xff',
    occurred_at=OCCURRED,
    recorded_at=datetime(2026, 11, 27, 19, 34, 24, 549054, tzinfo=UTC),
    actor="maría.lópez",
    role="caseworker",
    source="import:orr.csv row 58",
    reason="Niño separado en San Ysidro",
    correlation_id=CORRELATION,
    causation_id=None,
    idempotency_key="cmd-é",
    prev_hash=None,
    hash=bytes.fromhex("fc37e8387765b5ef9834da694a71c823c90ea388f715c0b1090129819845afe9"),
    hash_format=1,
)
SECOND_V1 = FIRST_V1._replace(
    position=2,
    transaction_id=818,
    version=2,
    recorded_at=datetime(2026, 11, 27, 19, 34, 24, 551141, tzinfo=UTC),
    **vars(Provenance(actor="maría.lópez", role="caseworker", source="import:orr.csv row 58")),
    idempotency_key=None,
    prev_hash=FIRST_V1.hash,
    hash=bytes.fromhex("8d4cfc082d6fdced6d2a6a5dad854d8a5570e50551c7ee006d454382d2258b5f"),
)
# The same two rows in format 2, as the store writes them since migration 0007.
FIRST = FIRST_V1._replace(
    hash_format=2,
    hash=bytes.fromhex("b6ac950be907840ae22a8327a20d8ebd14a9aea3ff2cb3aca2898f0e6f8ceb7b"),
)
SECOND = SECOND_V1._replace(
    hash_format=2,
    prev_hash=FIRST.hash,
    hash=bytes.fromhex("33354dd325feef5270f7ddaae716c6cd24c1be43294561597f57d70200aba042"),
)


def third(prev: RecordedEvent = SECOND) -> RecordedEvent:
    """A correctly chained next event, hashed by chain.py itself."""
    event = prev._replace(
        position=prev.position + 5,
        version=prev.version + 1,
        payload=b"placed",
        prev_hash=prev.hash,
    )
    return event._replace(hash=event_hash(event, prev.hash))


def with_provenance(event: RecordedEvent, **changes: Any) -> RecordedEvent:
    return event._replace(**changes)


def test_recomputes_the_hashes_the_database_wrote_in_format_1() -> None:
    assert event_hash(FIRST_V1, None) == FIRST_V1.hash
    assert event_hash(SECOND_V1, FIRST_V1.hash) == SECOND_V1.hash
    assert verify_stream([FIRST_V1, SECOND_V1, third(SECOND_V1)]) is None


def test_format_2_is_sha256_over_its_documented_bytes() -> None:
    def lp(value: bytes | None) -> bytes:
        return struct.pack(">i", -1) if value is None else struct.pack(">i", len(value)) + value

    def text(value: str | None) -> bytes:
        return lp(None if value is None else value.encode())

    p = FIRST.provenance
    micros = (OCCURRED - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
    message = (
        lp(None)
        + STREAM.bytes
        + struct.pack(">i", 1)
        + struct.pack(">q", micros)
        + text(FIRST.topic)
        + lp(FIRST.payload)
        + text(p.actor)
        + text(p.role)
        + text(p.source)
        + text(p.reason)
        + lp(CORRELATION.bytes)
        + lp(None)
        + text(FIRST.idempotency_key)
    )
    assert hashlib.sha256(message).digest() == FIRST.hash == event_hash(FIRST, None)
    assert event_hash(SECOND, FIRST.hash) == SECOND.hash
    assert verify_stream([FIRST, SECOND, third()]) is None


def test_a_stream_may_continue_in_format_2_after_format_1() -> None:
    assert verify_stream([FIRST_V1, SECOND_V1, third(SECOND_V1), third(third(SECOND_V1))]) is None
    upgraded = third(SECOND_V1)._replace(hash_format=2)
    upgraded = upgraded._replace(hash=event_hash(upgraded, SECOND_V1.hash))
    assert verify_stream([FIRST_V1, SECOND_V1, upgraded]) is None


def test_an_empty_stream_has_nothing_to_break() -> None:
    assert verify_stream([]) is None


EDITS: dict[str, RecordedEvent] = {
    "stream_id": FIRST._replace(stream_id=UUID(int=STREAM.int ^ 1)),
    "version": FIRST._replace(version=2),
    "topic": FIRST._replace(topic="domain.family:Family.Reunified"),
    "payload": FIRST._replace(payload=b'{"a":2}\x00\xff'),
    "payload emptied": FIRST._replace(payload=b""),
    "occurred_at by 1µs": FIRST._replace(occurred_at=OCCURRED + timedelta(microseconds=1)),
    "occurred_at unknown": FIRST._replace(occurred_at=None),
    "actor": with_provenance(FIRST, actor="maria.lopez"),
    "role": with_provenance(FIRST, role="supervisor"),
    "source": with_provenance(FIRST, source="import:orr.csv row 59"),
    "reason": with_provenance(FIRST, reason="Niño separado en Tornillo"),
    "reason removed": with_provenance(FIRST, reason=None),
    "reason emptied": with_provenance(FIRST, reason=""),
    "correlation_id": with_provenance(FIRST, correlation_id=UUID(int=CORRELATION.int + 1)),
    "correlation_id removed": with_provenance(FIRST, correlation_id=None),
    "causation_id added": with_provenance(FIRST, causation_id=CORRELATION),
    "idempotency_key": FIRST._replace(idempotency_key="cmd-e"),
    "idempotency_key removed": FIRST._replace(idempotency_key=None),
    "actor/role boundary moved": with_provenance(FIRST, actor="maría.lópezcase", role="worker"),
}


# What the database gives an event: in its format-1 hash, in the Merkle leaf of format 2.
PLACE_EDITS: dict[str, dict[str, Any]] = {
    "position": {"position": 2},
    "transaction_id": {"transaction_id": 1},
    "recorded_at by 1µs": {"recorded_at": FIRST.recorded_at - timedelta(microseconds=1)},
}


@pytest.mark.parametrize("edited", EDITS.values(), ids=EDITS.keys())
def test_editing_any_chained_field_changes_the_hash(edited: RecordedEvent) -> None:
    assert event_hash(edited, None) != FIRST.hash
    assert event_hash(edited._replace(hash_format=1), None) != FIRST_V1.hash


@pytest.mark.parametrize("changes", PLACE_EDITS.values(), ids=PLACE_EDITS.keys())
def test_where_and_when_the_log_put_an_event_counts_in_hash_or_leaf(
    changes: dict[str, Any],
) -> None:
    assert event_hash(FIRST_V1._replace(**changes), None) != FIRST_V1.hash
    moved = FIRST._replace(**changes)
    assert event_hash(moved, None) == FIRST.hash  # format 2 hashes what the service decides
    assert event_leaf(moved) != event_leaf(FIRST)  # and the checkpoint seals the rest


@pytest.mark.parametrize("edited", EDITS.values(), ids=EDITS.keys())
def test_verify_stream_names_the_edited_event(edited: RecordedEvent) -> None:
    broken = verify_stream([edited, SECOND, third()])
    assert broken is not None
    assert (broken.stream_id, broken.version, broken.position) == (
        edited.stream_id,
        edited.version,
        edited.position,
    )


def test_a_rewritten_payload_is_reported_as_a_hash_mismatch() -> None:
    tampered = SECOND._replace(payload=b"something else")
    assert verify_stream([FIRST, tampered, third()]) == ChainBreak(
        STREAM, 2, 2, "hash does not match the event's contents"
    )


def test_a_different_prev_hash_is_a_previous_link_break() -> None:
    # An attacker who rewrites an event and rehashes it still breaks the next link.
    forged = FIRST._replace(payload=b"forged")
    forged = forged._replace(hash=event_hash(forged, None))
    broken = verify_stream([forged, SECOND])
    assert broken == ChainBreak(STREAM, 2, 2, "prev_hash differs from the previous event's hash")


def test_the_prev_hash_is_part_of_the_hash() -> None:
    assert event_hash(SECOND, None) != SECOND.hash
    relinked = SECOND._replace(prev_hash=None)
    assert verify_stream([relinked]) is not None


def test_a_missing_event_is_reported_where_the_version_jumps() -> None:
    last = third()
    assert verify_stream([FIRST, last]) == ChainBreak(
        STREAM, 3, last.position, "version 3 where 2 was expected"
    )
    assert verify_stream([SECOND, last]) == ChainBreak(
        STREAM, 2, 2, "version 2 where 1 was expected"
    )


def test_swapped_events_are_reported() -> None:
    broken = verify_stream([SECOND, FIRST])
    assert broken is not None and broken.version == 2


def test_an_event_of_another_stream_is_reported() -> None:
    stray = third()._replace(stream_id=UUID(int=1))
    broken = verify_stream([FIRST, SECOND, stray])
    assert broken is not None and broken.stream_id == UUID(int=1)
    assert broken.what.startswith("belongs to stream")


def test_only_the_instant_of_a_timestamp_counts_not_its_offset() -> None:
    # timestamptz keeps an instant; asyncpg may hand it back in any zone.
    madrid = timezone(timedelta(hours=2))
    for event in (FIRST_V1, FIRST):
        shifted = event._replace(
            occurred_at=OCCURRED.astimezone(madrid),
            recorded_at=event.recorded_at.astimezone(madrid),
        )
        assert event_hash(shifted, None) == event.hash
        assert event_leaf(shifted) == event_leaf(event)


def test_a_naive_timestamp_is_refused_rather_than_guessed() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        event_hash(FIRST._replace(occurred_at=datetime(2018, 5, 21, 9, 0)), None)


def test_a_row_is_read_in_the_order_columns_selects_it() -> None:
    # from_row reads by position: each column, holding its own name, lands on its field.
    names = [column.split(" AS ")[-1].strip() for column in COLUMNS.split(",")]
    event = recorded_event(cast(Any, names))
    assert event._asdict() == {name: name for name in names}
