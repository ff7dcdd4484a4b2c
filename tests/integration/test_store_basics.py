"""The event store's contract against a real PostgreSQL: versions, idempotency, guards."""

from __future__ import annotations

import asyncio
from uuid import UUID, uuid4

import asyncpg
import pytest

from service.application.container import Container
from service.eventstore.announcements import ANNOUNCE_INTERVAL
from service.eventstore.chain import verify_stream
from service.eventstore.codec import create_mapper
from service.eventstore.records import NewEvent
from service.eventstore.store import (
    ChainMismatch,
    EventStore,
    IdempotencyKeyReused,
    VersionConflict,
)
from tests.scenarios.family import CASEWORKER, T0, opened_family

pytestmark = pytest.mark.integration


async def new_events(container: Container) -> tuple[list[NewEvent], UUID]:
    family, _, _ = opened_family()
    return await container.store.encode_all(family.collect_events()), family.id


async def count(container: Container) -> int:
    return int(await container.database.pool.fetchval("SELECT count(*) FROM events"))


async def test_append_then_read_stream_in_version_order(container: Container) -> None:
    family, _, _ = opened_family()
    events = await container.store.encode_all(family.collect_events())
    result = await container.store.append(family.id, 0, events, CASEWORKER)
    assert result.version == 4
    stored = await container.store.read_stream(family.id)
    assert [e.version for e in stored] == [1, 2, 3, 4]
    assert [e.position for e in stored] == list(
        range(result.first_position, result.last_position + 1)
    )
    assert stored[0].occurred_at == T0
    assert stored[0].provenance == CASEWORKER
    assert [e.version for e in await container.store.read_stream(family.id, 2)] == [1, 2]


async def test_stale_expected_version_conflicts_and_writes_nothing(container: Container) -> None:
    family, _, _ = opened_family()
    events = await container.store.encode_all(family.collect_events())
    await container.store.append(family.id, 0, events[:2], CASEWORKER)
    with pytest.raises(VersionConflict):
        await container.store.append(family.id, 0, events, CASEWORKER)
    with pytest.raises(VersionConflict):
        await container.store.append(family.id, 1, events[1:], CASEWORKER)
    with pytest.raises(VersionConflict):  # ahead of the stream: a gap is refused too
        await container.store.append(family.id, 5, events[2:], CASEWORKER)
    assert await count(container) == 2


async def test_same_idempotency_key_appends_once_and_answers_the_first_result(
    container: Container,
) -> None:
    family, _, _ = opened_family()
    events = await container.store.encode_all(family.collect_events())
    first = await container.store.append(family.id, 0, events, CASEWORKER, "cmd-1", b"d")
    again = await container.store.append(family.id, 0, events, CASEWORKER, "cmd-1", b"d")
    assert (again.version, again.first_position, again.last_position) == (
        first.version,
        first.first_position,
        first.last_position,
    )
    assert again.duplicate and not first.duplicate
    assert await count(container) == 4


async def test_idempotency_key_reused_for_another_command_is_refused(container: Container) -> None:
    family, _, _ = opened_family()
    events = await container.store.encode_all(family.collect_events())
    await container.store.append(family.id, 0, events[:1], CASEWORKER, "cmd-1", b"a")
    with pytest.raises(IdempotencyKeyReused):
        await container.store.append(family.id, 1, events[1:], CASEWORKER, "cmd-1", b"b")
    assert await count(container) == 1


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE events SET actor = 'someone else'",
        "DELETE FROM events",
        "TRUNCATE events",
    ],
)
async def test_the_database_refuses_to_change_or_remove_events(
    container: Container,
    statement: str,
) -> None:
    family, _, _ = opened_family()
    events = await container.store.encode_all(family.collect_events())
    await container.store.append(family.id, 0, events, CASEWORKER)
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
        await container.database.pool.execute(statement)
    assert await count(container) == 4


FORGED = {
    "recorded_at": "recorded_at = '2000-01-01'",
    "transaction_id": "transaction_id = '3'::xid8",
}


@pytest.mark.parametrize("column", FORGED, ids=FORGED)
async def test_only_the_inserting_transaction_sets_its_id_and_recorded_time(
    container: Container, column: str
) -> None:
    value = FORGED[column].split(" = ", 1)[1]
    with pytest.raises(asyncpg.CheckViolationError):
        await container.database.pool.execute(
            f"INSERT INTO events (stream_id, version, topic, payload, actor, role, source,"
            f" hash, {column}) VALUES ($1, 1, 't', '\\x00', 'a', 'r', 's', '\\x00', {value})",
            uuid4(),
        )
    assert await count(container) == 0


UNCHAINED = {
    # What an append by a process older than migration 0007 would leave: its trigger gone.
    "an empty hash": (1, None, b""),
    "a later event without prev_hash": (2, None, b"\x01" * 32),
    "a first event with a prev_hash": (1, b"\x01" * 32, b"\x01" * 32),
}


@pytest.mark.parametrize("row", UNCHAINED.values(), ids=UNCHAINED)
async def test_a_row_that_is_not_chained_is_refused(
    container: Container, row: tuple[int, bytes | None, bytes]
) -> None:
    with pytest.raises(asyncpg.CheckViolationError, match="events_chained_check"):
        await container.database.pool.execute(
            "INSERT INTO events (stream_id, version, topic, payload, actor, role, source,"
            " prev_hash, hash) VALUES ($1, $2, 't', '\\x00', 'a', 'r', 's', $3, $4)",
            uuid4(),
            *row,
        )
    assert await count(container) == 0


async def test_a_hash_written_around_the_store_is_located_by_verification(
    container: Container,
) -> None:
    family, _, _ = opened_family()
    events = await container.store.encode_all(family.collect_events())
    await container.store.append(family.id, 0, events[:2], CASEWORKER)
    stored = await container.store.read_stream(family.id)
    await container.database.pool.execute(
        "INSERT INTO events (stream_id, version, topic, payload, actor, role, source,"
        " prev_hash, hash) VALUES ($1, 3, $2, $3, 'a', 'r', 's', $4, $5)",
        family.id,
        events[2].topic,
        events[2].payload,
        stored[-1].hash,
        b"\xde\xad" * 16,
    )
    broken = verify_stream(await container.store.read_stream(family.id))
    assert broken is not None and broken.version == 3
    assert broken.what == "hash does not match the event's contents"


async def test_new_events_must_chain_from_the_stream_head_as_stored(container: Container) -> None:
    family, _, _ = opened_family()
    events = await container.store.encode_all(family.collect_events())
    first = await container.store.append(family.id, 0, events[:2], CASEWORKER)
    stored = await container.store.read_stream(family.id)
    assert first.head == stored[-1].hash
    with pytest.raises(ChainMismatch, match="reunite verify"):
        await container.store.append(family.id, 2, events[2:], CASEWORKER, head=b"\x00" * 32)
    with pytest.raises(ChainMismatch):  # a new stream chains from nothing
        await container.store.append(uuid4(), 0, events, CASEWORKER, head=stored[-1].hash)
    assert await count(container) == 2
    await container.store.append(family.id, 2, events[2:], CASEWORKER, head=first.head)
    assert verify_stream(await container.store.read_stream(family.id)) is None


async def test_a_key_used_on_another_stream_is_refused(container: Container) -> None:
    events, family_id = await new_events(container)
    other, other_id = await new_events(container)
    await container.store.append(family_id, 0, events, CASEWORKER, "cmd-1", b"a")
    with pytest.raises(IdempotencyKeyReused):
        await container.store.append(other_id, 0, other, CASEWORKER, "cmd-1", b"a")
    assert await count(container) == 4


async def test_a_command_recorded_before_hash_format_2_still_answers_its_retry(
    container: Container,
) -> None:
    family, _, _ = opened_family()
    events = await container.store.encode_all(family.collect_events())
    first = await container.store.append(family.id, 0, events, CASEWORKER)
    # Migration 0007 keeps the commands table that earlier versions wrote each command to.
    await container.database.pool.execute(
        "INSERT INTO commands (idempotency_key, request_digest, stream_id, version,"
        " first_position, last_position) VALUES ('old-1', 'd', $1, 4, $2, $3)",
        family.id,
        first.first_position,
        first.last_position,
    )
    store = EventStore(container.database.pool, create_mapper())  # a process started since
    again = await store.append(family.id, 0, events, CASEWORKER, "old-1", b"d")
    assert again.duplicate and again.version == 4
    assert (again.first_position, again.last_position) == (
        first.first_position,
        first.last_position,
    )
    with pytest.raises(IdempotencyKeyReused):
        await store.append(family.id, 4, events, CASEWORKER, "old-1", b"other")
    assert await count(container) == 4


async def test_an_unknown_moment_is_stored_as_null_and_still_chained(
    container: Container,
) -> None:
    family, _, _ = opened_family()
    events = await container.store.encode_all(family.collect_events())
    undated = NewEvent(events[-1].topic, events[-1].payload, None)
    await container.store.append(family.id, 0, [*events[:-1], undated], CASEWORKER)
    stored = await container.store.read_stream(family.id)
    assert stored[-1].occurred_at is None
    assert verify_stream(stored) is None


async def test_appends_are_announced_at_once_then_at_most_once_per_interval(
    container: Container,
) -> None:
    heard: list[float] = []
    listener = await container.database.pool.acquire()
    loop = asyncio.get_running_loop()

    def hear(*_: object) -> None:
        heard.append(loop.time())

    await listener.add_listener("reunite_events", hear)
    try:
        families = [await new_events(container) for _ in range(5)]
        started = loop.time()
        appends = 0
        for version in range(4):  # 20 appends of one event, interleaved over 5 families
            for events, family_id in families:
                await container.store.append(
                    family_id, version, events[version : version + 1], CASEWORKER
                )
                appends += 1
        burst = loop.time() - started
        await container.store.announcements.drain()
        await asyncio.sleep(ANNOUNCE_INTERVAL * 3)
    finally:
        await listener.remove_listener("reunite_events", hear)
        await container.database.pool.release(listener)
    assert heard and heard[0] - started < 1.0  # the first after a quiet spell goes at once
    assert len(heard) <= burst / ANNOUNCE_INTERVAL + 2 < appends
