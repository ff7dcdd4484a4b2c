"""Signed checkpoints cover the final prefix of the log, are append-only, and prove families."""

from __future__ import annotations

import asyncio
from uuid import uuid4

import asyncpg
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from service.access.auth import Identity, Role
from service.application.container import Container
from service.eventstore.chain import event_leaf
from service.eventstore.records import LogPosition, RecordedEvent
from service.ledger.checkpoints import (
    ALGORITHM,
    RESERVE,
    CheckpointTaker,
    all_checkpoints,
    checkpoint_message,
    checkpoint_periodically,
    latest_checkpoint,
    legacy_message,
)
from service.ledger.keys import Signer
from service.ledger.merkle import merkle_root
from service.ledger.proofs import verify_family
from service.ledger.verify import verify_log
from tests.scenarios.family import open_separated_family
from tests.scenarios.ledger import WRITER, settled, tick

pytestmark = pytest.mark.integration

SIGNER = Signer.from_private_key(Ed25519PrivateKey.generate())
TRUSTED = frozenset({SIGNER.public_key})


async def whole_log(container: Container) -> list[RecordedEvent]:
    return await container.store.read_log(LogPosition(), limit=100_000)


async def test_a_checkpoint_signs_the_root_of_the_whole_final_log(container: Container) -> None:
    for _ in range(3):
        await open_separated_family(container.commands)
    await settled(container.database.pool)
    log = await whole_log(container)

    checkpoint = await CheckpointTaker(container.database.pool, SIGNER).take()

    assert checkpoint is not None
    assert checkpoint.event_count == len(log) == 18
    assert checkpoint.head == LogPosition(log[-1].transaction_id, log[-1].position)
    assert checkpoint.root == merkle_root(event_leaf(e) for e in log)
    assert checkpoint.key_id == SIGNER.key_id
    assert checkpoint.seal_fault(TRUSTED) is None
    assert await all_checkpoints(container.database.pool) == [checkpoint]


async def test_nothing_is_signed_while_the_log_is_empty(container: Container) -> None:
    assert await CheckpointTaker(container.database.pool, SIGNER).take() is None
    assert await latest_checkpoint(container.database.pool) is None


async def test_an_unchanged_log_is_not_signed_twice_and_a_taker_reads_only_new_events(
    container: Container,
) -> None:
    pool = container.database.pool
    await open_separated_family(container.commands)
    await settled(pool)
    taker = CheckpointTaker(pool, SIGNER)
    first = await taker.take()
    assert await CheckpointTaker(pool, SIGNER).take() == first
    assert await taker.take() == first

    await open_separated_family(container.commands)
    await settled(pool)
    second = await taker.take()

    assert first is not None and second is not None
    assert (second.id, second.event_count) == (first.id + 1, 12)
    # Carried forward or computed afresh, the root over the same prefix is the same.
    assert second.root == merkle_root(event_leaf(e) for e in await whole_log(container))
    assert [c.id for c in await all_checkpoints(pool)] == [first.id, second.id]


async def test_a_checkpoint_never_covers_events_an_open_transaction_could_still_precede(
    container: Container,
) -> None:
    pool, store = container.database.pool, container.store
    await store.append(uuid4(), 0, tick("before"), WRITER)
    await settled(pool)
    async with pool.acquire() as slow, slow.transaction():
        # The slow writer takes the lower transaction id but commits last.
        await store.append(uuid4(), 0, tick("slow"), WRITER, conn=slow)
        await store.append(uuid4(), 0, tick("fast"), WRITER)
        during = await CheckpointTaker(pool, SIGNER).take()
    await settled(pool)
    after = await CheckpointTaker(pool, SIGNER).take()

    assert during is not None and after is not None
    assert during.event_count == 1
    log = await whole_log(container)
    assert [e.payload for e in log] == [b"before", b"slow", b"fast"]
    assert (after.event_count, after.head_position) == (3, log[-1].position)
    assert after.root == merkle_root(event_leaf(e) for e in log)


async def test_checkpoints_refuse_update_and_delete(container: Container) -> None:
    await open_separated_family(container.commands)
    await settled(container.database.pool)
    checkpoint = await CheckpointTaker(container.database.pool, SIGNER).take()
    assert checkpoint is not None
    for statement in (
        "UPDATE checkpoints SET root = '\\x00'::bytea WHERE id = $1",
        "DELETE FROM checkpoints WHERE id = $1",
    ):
        with pytest.raises(asyncpg.PostgresError, match="append-only") as refused:
            await container.database.pool.execute(statement, checkpoint.id)
        assert refused.value.sqlstate == "42501"
    assert await latest_checkpoint(container.database.pool) == checkpoint


async def test_checkpoints_are_taken_periodically_until_stopped(container: Container) -> None:
    # Recorded and final first: a tick between two of the family's commands, or while another
    # session on the server holds the horizon back, would sign a shorter prefix.
    await open_separated_family(container.commands)
    await settled(container.database.pool)
    stop = asyncio.Event()
    task = asyncio.create_task(checkpoint_periodically(container.database.pool, 0.05, stop, SIGNER))
    for _ in range(500):
        latest = await latest_checkpoint(container.database.pool)
        if latest is not None and latest.event_count == 6:
            break
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.2)
    stop.set()
    await asyncio.wait_for(task, 5)
    assert latest is not None and latest.event_count == 6
    # An unchanged log is not signed again at every tick.
    assert len(await all_checkpoints(container.database.pool)) == 1


async def test_without_a_usable_signing_key_periodic_checkpoints_stay_off(
    container: Container, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("REUNITE_SIGNING_KEY_FILE", raising=False)
    await asyncio.wait_for(
        checkpoint_periodically(container.database.pool, 0.01, asyncio.Event()), 1
    )
    assert "REUNITE_SIGNING_KEY_FILE is not set" in caplog.text
    monkeypatch.setenv("REUNITE_SIGNING_KEY_FILE", "/nonexistent/signing-key.pem")
    await asyncio.wait_for(
        checkpoint_periodically(container.database.pool, 0.01, asyncio.Event()), 1
    )
    assert "cannot read signing key /nonexistent/signing-key.pem" in caplog.text
    assert await latest_checkpoint(container.database.pool) is None


async def test_a_family_verifies_against_the_latest_checkpoint(container: Container) -> None:
    pool = container.database.pool
    family, *_ = await open_separated_family(container.commands)
    await open_separated_family(container.commands)
    unchecked = await verify_family(pool, family, TRUSTED)
    assert unchecked.ok and (unchecked.events, unchecked.checkpoints, unchecked.unproven) == (
        6,
        0,
        6,
    )

    await settled(pool)
    await CheckpointTaker(pool, SIGNER).take()
    report = await verify_family(pool, family, TRUSTED)
    assert report.ok, report.lines()
    assert (report.events, report.streams, report.checkpoints, report.unproven) == (6, 1, 1, 0)

    stranger = Signer.from_private_key(Ed25519PrivateKey.generate())
    untrusted = await verify_family(pool, family, frozenset({stranger.public_key}))
    assert untrusted.failed is not None and "not a trusted key" in untrusted.failed.what


async def test_a_checkpoint_signed_before_format_2_still_verifies(container: Container) -> None:
    pool = container.database.pool
    family, *_ = await open_separated_family(container.commands)
    await settled(pool)
    log = await whole_log(container)
    head, root = log[-1], merkle_root(event_leaf(e) for e in log)
    signature = SIGNER.sign(legacy_message(len(log), head.position, head.transaction_id, root))
    # As a server before migration 0005 inserted it: the id, date and format are defaults.
    await pool.execute(
        "INSERT INTO checkpoints (event_count, head_position, head_transaction_id, root,"
        " algorithm, signature, public_key, key_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        *(len(log), head.position, head.transaction_id, root, ALGORITHM, signature),
        *(SIGNER.public_key, SIGNER.key_id),
    )

    [old] = await all_checkpoints(pool)
    assert old.message_format == 1 and old.seal_fault(TRUSTED) is None
    assert (await verify_log(pool, TRUSTED)).ok
    assert (await verify_family(pool, family, TRUSTED)).ok

    await open_separated_family(container.commands)
    await settled(pool)
    new = await CheckpointTaker(pool, SIGNER).take()
    assert new is not None and new.message_format == 3 and new.seal_fault(TRUSTED) is None
    assert (await verify_log(pool, TRUSTED)).checkpoints == 2


async def test_a_fresh_taker_checks_an_untouched_log_against_the_latest_checkpoint_and_signs(
    container: Container,
) -> None:
    pool = container.database.pool
    await open_separated_family(container.commands)
    await settled(pool)
    first = await CheckpointTaker(pool, SIGNER).take()
    await open_separated_family(container.commands)
    await settled(pool)

    second = await CheckpointTaker(pool, SIGNER, batch_size=4).take()

    assert first is not None and second is not None
    assert (second.id, second.event_count) == (first.id + 1, 12)


async def test_a_checkpoint_signed_before_reads_were_signed_still_verifies_and_is_built_on(
    container: Container,
) -> None:
    pool = container.database.pool
    family, *_ = await open_separated_family(container.commands)
    await container.access_log.record(Identity("ana", Role.AUDITOR), "query:family", [family])
    await settled(pool)
    log = await whole_log(container)
    head, root = log[-1], merkle_root(event_leaf(e) for e in log)
    reserved = await pool.fetchrow(RESERVE)
    assert reserved is not None
    cid, created_at = reserved["id"], reserved["created_at"]
    message = checkpoint_message(
        cid, len(log), head.position, head.transaction_id, created_at, root
    )
    # As a server before migration 0010 inserted it: format 2, no access-log head.
    await pool.execute(
        "INSERT INTO checkpoints (id, event_count, head_position, head_transaction_id, root,"
        " algorithm, signature, public_key, key_id, created_at, message_format)"
        " OVERRIDING SYSTEM VALUE VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 2)",
        *(cid, len(log), head.position, head.transaction_id, root, ALGORITHM),
        *(SIGNER.sign(message), SIGNER.public_key, SIGNER.key_id, created_at),
    )
    [old] = await all_checkpoints(pool)
    assert (old.message_format, old.read_count, old.seal_fault(TRUSTED)) == (2, None, None)
    report = await verify_log(pool, TRUSTED)
    assert report.ok and report.lines()[1] == "1 reads are not yet covered by a signed checkpoint"

    # Nothing new in the log, but the access log is not signed yet: a format-3 one is.
    new = await CheckpointTaker(pool, SIGNER).take()
    assert new is not None and (new.message_format, new.read_count) == (3, 1)
    assert (await verify_log(pool, TRUSTED)).lines()[0] == (
        "OK: 6 events, 1 streams, 1 reads, 2 checkpoints verified"
    )
