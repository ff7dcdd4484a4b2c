"""Tamper evidence: chain.py recomputes the database's hash chain, and tampering is located."""

from __future__ import annotations

from collections import defaultdict
from uuid import UUID, uuid4

import pytest

from service.application.container import Container
from service.eventstore.chain import event_hash, verify_stream
from service.eventstore.provenance import Provenance
from service.eventstore.records import RecordedEvent
from tests.scenarios.family import CASEWORKER, open_separated_family, opened_family
from tests.scenarios.ledger import bypassing_the_guard, read_log

pytestmark = pytest.mark.integration

IMPORTER = Provenance(
    actor="josé.núñez",
    role="importer",
    source="import:orr-separated-children-2018.csv row 58",
    reason="Reconciliación con la lista de la ORR",
    correlation_id=uuid4(),
    causation_id=uuid4(),
)


async def record_families(container: Container) -> list[UUID]:
    """Three families written three ways: two appends, a keyed import, the command path."""
    store = container.store
    first, _, _ = opened_family()
    events = await store.encode_all(first.collect_events())
    await store.append(first.id, 0, events[:2], CASEWORKER)
    await store.append(first.id, 2, events[2:], CASEWORKER)

    second, _, _ = opened_family()
    events = await store.encode_all(second.collect_events())
    await store.append(second.id, 0, events, IMPORTER, idempotency_key="import-58", digest=b"d")

    third, _, _, _ = await open_separated_family(container.commands)
    return [first.id, second.id, third]


async def test_python_recomputes_every_hash_the_database_chained(container: Container) -> None:
    families = await record_families(container)
    log = await read_log(container)
    assert len(log) == 4 + 4 + 6
    for event in log:
        assert event_hash(event, event.prev_hash) == event.hash
    by_stream: dict[UUID, list[RecordedEvent]] = defaultdict(list)
    for event in log:
        by_stream[event.stream_id].append(event)
    assert set(by_stream) == set(families)
    for family_id in families:
        stream = await container.store.read_stream(family_id)
        assert stream == by_stream[family_id]
        assert stream[0].prev_hash is None
        assert verify_stream(stream) is None


async def test_one_flipped_payload_byte_is_located(container: Container) -> None:
    families = await record_families(container)
    target = (await container.store.read_stream(families[1]))[2]
    flipped = bytearray(target.payload)
    flipped[len(flipped) // 2] ^= 0x01
    await bypassing_the_guard(
        container.database.pool,
        "UPDATE events SET payload = $1 WHERE position = $2",
        bytes(flipped),
        target.position,
    )

    broken = verify_stream(await container.store.read_stream(families[1]))
    assert broken is not None
    assert (broken.stream_id, broken.version, broken.position) == (
        families[1],
        target.version,
        target.position,
    )
    assert "hash" in broken.what
    for untouched in (families[0], families[2]):
        assert verify_stream(await container.store.read_stream(untouched)) is None


async def test_a_deleted_event_is_detected(container: Container) -> None:
    families = await record_families(container)
    await bypassing_the_guard(
        container.database.pool,
        "DELETE FROM events WHERE stream_id = $1 AND version = 3",
        families[2],
    )

    stream = await container.store.read_stream(families[2])
    assert [e.version for e in stream] == [1, 2, 4, 5, 6]
    broken = verify_stream(stream)
    assert broken is not None
    assert (broken.stream_id, broken.version, broken.position) == (
        families[2],
        4,
        stream[2].position,
    )
    assert broken.what == "version 4 where 3 was expected"


async def test_swapped_payloads_are_detected(container: Container) -> None:
    families = await record_families(container)
    before = await container.store.read_stream(families[0])
    second, third = before[1], before[2]
    assert second.payload != third.payload
    await bypassing_the_guard(
        container.database.pool,
        "UPDATE events SET payload = CASE position WHEN $1 THEN $4::bytea ELSE $3::bytea END"
        " WHERE position IN ($1, $2)",
        second.position,
        third.position,
        second.payload,
        third.payload,
    )

    after = await container.store.read_stream(families[0])
    assert (after[1].payload, after[2].payload) == (third.payload, second.payload)
    broken = verify_stream(after)
    assert broken is not None
    assert (broken.version, broken.position) == (2, second.position)


@pytest.mark.parametrize(
    "assignment",
    [
        "actor = 'someone.else'",
        "reason = NULL",
        "occurred_at = occurred_at + interval '1 microsecond'",
        "topic = 'domain.family:Family.Reunified'",
    ],
)
async def test_any_rewritten_column_is_located(container: Container, assignment: str) -> None:
    families = await record_families(container)
    target = (await container.store.read_stream(families[1]))[1]
    await bypassing_the_guard(
        container.database.pool,
        f"UPDATE events SET {assignment} WHERE position = $1",
        target.position,
    )

    broken = verify_stream(await container.store.read_stream(families[1]))
    assert broken is not None
    assert (broken.version, broken.position) == (target.version, target.position)
