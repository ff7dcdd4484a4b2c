"""The event store's contract against a real PostgreSQL: versions, idempotency, guards."""

from __future__ import annotations

from uuid import uuid4

import asyncpg
import pytest

from service.chain import verify_stream
from service.container import Container
from service.store import IdempotencyKeyReused, NewEvent, VersionConflict
from tests.builders import CASEWORKER, T0, opened_family

pytestmark = pytest.mark.integration


def new_events(container: Container) -> tuple[list[NewEvent], object]:
    family, _, _ = opened_family()
    return [container.store.encode(e) for e in family.collect_events()], family.id


async def count(container: Container) -> int:
    return int(await container.database.pool.fetchval("SELECT count(*) FROM events"))


async def test_append_then_read_stream_in_version_order(container: Container) -> None:
    family, _, _ = opened_family()
    events = [container.store.encode(e) for e in family.collect_events()]
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
    events = [container.store.encode(e) for e in family.collect_events()]
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
    events = [container.store.encode(e) for e in family.collect_events()]
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
    events = [container.store.encode(e) for e in family.collect_events()]
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
    events = [container.store.encode(e) for e in family.collect_events()]
    await container.store.append(family.id, 0, events, CASEWORKER)
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
        await container.database.pool.execute(statement)
    assert await count(container) == 4


async def test_a_client_cannot_forge_the_hash_or_recorded_time(container: Container) -> None:
    pool = container.database.pool
    await pool.execute(
        "INSERT INTO events (stream_id, version, topic, payload, occurred_at, actor, role,"
        " source, hash, recorded_at) VALUES ($1, 1, 't', '\\x00', now(), 'a', 'r', 's',"
        " '\\xdeadbeef', '2000-01-01')",
        uuid4(),
    )
    row = await pool.fetchrow("SELECT hash, recorded_at FROM events")
    assert row is not None
    assert row["hash"] != b"\xde\xad\xbe\xef" and len(row["hash"]) == 32
    assert row["recorded_at"].year > 2000


async def test_an_unknown_moment_is_stored_as_null_and_still_chained(
    container: Container,
) -> None:
    family, _, _ = opened_family()
    events = [container.store.encode(e) for e in family.collect_events()]
    undated = NewEvent(events[-1].topic, events[-1].payload, None)
    await container.store.append(family.id, 0, [*events[:-1], undated], CASEWORKER)
    stored = await container.store.read_stream(family.id)
    assert stored[-1].occurred_at is None
    assert verify_stream(stored) is None
