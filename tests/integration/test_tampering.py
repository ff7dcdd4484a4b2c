"""A superuser who bypasses the append-only guard is caught by `verify_log`, and located."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from service.application.container import Container
from service.eventstore.chain import event_leaf
from service.eventstore.records import LogPosition, RecordedEvent
from service.ledger import proofs as proofs_module
from service.ledger.checkpoints import (
    Checkpoint,
    CheckpointRefused,
    CheckpointTaker,
    all_checkpoints,
    checkpoint_periodically,
    latest_checkpoint,
)
from service.ledger.keys import Signer
from service.ledger.merkle import merkle_root
from service.ledger.proofs import SignedTrees, verify_family
from service.ledger.verify import VerifyReport, verify_log
from tests.scenarios.family import open_separated_family
from tests.scenarios.ledger import (
    WRITER,
    bypassing_the_guard,
    rewrite_with_recomputed_hashes,
    settled,
    tick,
    unguarded,
)

pytestmark = pytest.mark.integration

SIGNER = Signer.from_private_key(Ed25519PrivateKey.generate())
TRUSTED = frozenset({SIGNER.public_key})


async def three_families_and_a_checkpoint(container: Container) -> list[UUID]:
    families = [(await open_separated_family(container.commands))[0] for _ in range(3)]
    await settled(container.database.pool)
    await CheckpointTaker(container.database.pool, SIGNER).take()
    return families


async def verify(container: Container, batch_size: int = 5000) -> VerifyReport:
    await settled(container.database.pool)
    return await verify_log(container.database.pool, TRUSTED, batch_size)


async def event(container: Container, family: UUID, version: int) -> RecordedEvent:
    return (await container.store.read_stream(family))[version - 1]


async def swap_places(pool: asyncpg.Pool, a: RecordedEvent, b: RecordedEvent) -> None:
    """Exchange two events' places in the log, each keeping its contents and stored hash."""
    async with unguarded(pool) as conn:
        rows = await conn.fetch(
            "DELETE FROM events WHERE position = ANY($1) RETURNING *", [a.position, b.position]
        )
        columns = list(rows[0].keys())
        insert = (
            f"INSERT INTO events ({', '.join(columns)}) OVERRIDING SYSTEM VALUE"
            f" VALUES ({', '.join(f'${i + 1}' for i in range(len(columns)))})"
        )
        first, second = rows
        for row, other in ((first, second), (second, first)):
            values: dict[str, Any] = dict(row.items())
            values.update(position=other["position"], transaction_id=other["transaction_id"])
            await conn.execute(insert, *values.values())


async def test_an_untouched_log_verifies(container: Container) -> None:
    await three_families_and_a_checkpoint(container)
    report = await verify(container)
    assert report.ok
    assert report.lines()[0] == "OK: 18 events, 3 streams, 0 reads, 1 checkpoints verified"
    assert report.lines()[-1].endswith("events/s")


async def test_one_changed_payload_byte_is_located(container: Container) -> None:
    families = await three_families_and_a_checkpoint(container)
    target = await event(container, families[1], 4)
    payload = bytearray(target.payload)
    payload[len(payload) // 2] ^= 0x01
    await bypassing_the_guard(
        container.database.pool,
        "UPDATE events SET payload = $1 WHERE position = $2",
        bytes(payload),
        target.position,
    )

    report = await verify(container)

    assert report.broken is not None
    assert (report.broken.stream_id, report.broken.version, report.broken.position) == (
        families[1],
        4,
        target.position,
    )
    assert report.broken.what == "hash does not match the event's contents"
    assert report.lines()[0] == (
        f"BROKEN: stream {families[1]} version 4 position {target.position}: "
        "hash does not match the event's contents"
    )


async def test_an_event_deleted_inside_a_stream_is_located(container: Container) -> None:
    families = await three_families_and_a_checkpoint(container)
    successor = await event(container, families[0], 4)
    await bypassing_the_guard(
        container.database.pool,
        "DELETE FROM events WHERE stream_id = $1 AND version = 3",
        families[0],
    )

    report = await verify(container)

    assert report.broken is not None
    assert (report.broken.stream_id, report.broken.version, report.broken.position) == (
        families[0],
        4,
        successor.position,
    )
    assert report.broken.what == "version 4 where 3 was expected"
    assert report.failed is not None and report.failed.checkpoint.event_count == 18


async def test_the_last_event_of_a_stream_deleted_fails_the_checkpoint_that_covered_it(
    container: Container,
) -> None:
    families = await three_families_and_a_checkpoint(container)
    await open_separated_family(container.commands)
    await settled(container.database.pool)
    later = await CheckpointTaker(container.database.pool, SIGNER).take()
    await bypassing_the_guard(
        container.database.pool,
        "DELETE FROM events WHERE stream_id = $1 AND version = 6",
        families[0],
    )

    report = await verify(container)

    # Every chain still holds: only the signed roots know the stream was longer.
    assert report.broken is None
    assert report.failed is not None
    first = report.failed.checkpoint
    assert later is not None and first.id == later.id - 1
    assert "events it covered were deleted or moved" in report.failed.what
    assert report.lines()[0].startswith(f"BROKEN: checkpoint {first.id} (events 1..18, ")


async def test_a_whole_stream_deleted_fails_the_checkpoint(container: Container) -> None:
    families = await three_families_and_a_checkpoint(container)
    await bypassing_the_guard(
        container.database.pool, "DELETE FROM events WHERE stream_id = $1", families[2]
    )

    report = await verify(container)

    assert report.broken is None and report.failed is not None
    assert report.failed.what == (
        "it covers 18 events, the log holds only 12: events it covered were deleted"
    )
    assert report.lines()[0].startswith(
        f"BROKEN: checkpoint {report.failed.checkpoint.id} (events 1..18"
    )


@pytest.mark.parametrize("same_stream", [True, False], ids=["same stream", "two streams"])
async def test_two_events_swapped_in_the_log_are_detected(
    container: Container, same_stream: bool
) -> None:
    families = await three_families_and_a_checkpoint(container)
    a = await event(container, families[0], 2)
    b = await event(container, families[0] if same_stream else families[2], 3)
    await swap_places(container.database.pool, a, b)

    report = await verify(container)

    # Each stream still reads in version order, so its chain holds; the log's order is
    # sealed in the checkpoint's leaves.
    assert report.broken is None and report.failed is not None
    assert report.failed.what.startswith("the root of its events differs")


@pytest.mark.parametrize(
    "assignment",
    ["recorded_at = recorded_at - interval '1 day'", "transaction_id = '1'::xid8"],
)
async def test_a_rewritten_place_or_time_in_the_log_fails_the_checkpoint(
    container: Container, assignment: str
) -> None:
    families = await three_families_and_a_checkpoint(container)
    target = await event(container, families[1], 2)
    await bypassing_the_guard(
        container.database.pool,
        f"UPDATE events SET {assignment} WHERE position = $1",
        target.position,
    )

    report = await verify(container)

    assert report.broken is None and report.failed is not None
    assert report.failed.what.startswith("the root of its events differs")


async def test_a_stream_rewritten_with_recomputed_hashes_fails_the_checkpoint(
    container: Container,
) -> None:
    families = await three_families_and_a_checkpoint(container)
    await rewrite_with_recomputed_hashes(container, families[1])

    report = await verify(container)

    assert report.broken is None
    assert report.failed is not None
    assert report.failed.what.startswith("the root of its events differs")


@pytest.mark.parametrize(
    "assignment",
    [
        "root = overlay(root placing '\\xff'::bytea from 1 for 1)",
        "event_count = event_count - 1",
        "head_position = head_position + 1",
        "signature = overlay(signature placing '\\x00'::bytea from 5 for 1)",
        "created_at = created_at - interval '1 day'",
    ],
)
async def test_an_edited_checkpoint_row_is_detected(container: Container, assignment: str) -> None:
    await three_families_and_a_checkpoint(container)
    await bypassing_the_guard(container.database.pool, f"UPDATE checkpoints SET {assignment}")

    report = await verify(container)

    assert report.broken is None and report.failed is not None
    assert report.failed.what == (
        "the signature does not match its id, date, event count, head and root, "
        "and access-log count, head and root"
    )


async def test_a_checkpoint_moved_to_another_id_is_detected(container: Container) -> None:
    await three_families_and_a_checkpoint(container)
    pool = container.database.pool
    signed = await latest_checkpoint(pool)
    assert signed is not None
    # An identity column cannot be updated: a forger deletes the row and inserts it anew.
    await bypassing_the_guard(pool, "DELETE FROM checkpoints")
    await insert_checkpoint(pool, replace(signed, id=signed.id + 4))

    report = await verify(container)

    assert report.failed is not None and report.failed.checkpoint.id == signed.id + 4
    assert report.failed.what == (
        "the signature does not match its id, date, event count, head and root, "
        "and access-log count, head and root"
    )


async def test_a_checkpoint_row_with_a_number_no_signature_can_hold_is_reported(
    container: Container,
) -> None:
    await three_families_and_a_checkpoint(container)
    await bypassing_the_guard(container.database.pool, "UPDATE checkpoints SET head_position = -1")

    report = await verify(container)

    assert report.failed is not None
    assert report.failed.what.startswith("its id, event count or head is out of range")


async def test_a_checkpoint_signed_by_an_unknown_key_is_caught_when_the_key_is_pinned(
    container: Container,
) -> None:
    await three_families_and_a_checkpoint(container)
    mallory = Signer.from_private_key(Ed25519PrivateKey.generate())
    honest = await CheckpointTaker(container.database.pool, SIGNER).take()
    assert honest is not None
    unsigned = replace(
        honest, id=honest.id + 1, public_key=mallory.public_key, key_id=mallory.key_id
    )
    forged = replace(unsigned, signature=mallory.sign(unsigned.message()))
    await insert_checkpoint(container.database.pool, forged)

    pinned = await verify(container)
    unpinned = await verify_log(container.database.pool, trusted=None)

    assert pinned.failed is not None
    assert pinned.failed.what == f"signed by key {mallory.key_id}, which is not a trusted key"
    # Without a pinned key a consistent forgery passes: it proves integrity, not authorship.
    assert unpinned.ok and unpinned.checkpoints == 2


async def insert_checkpoint(pool: asyncpg.Pool, c: Checkpoint) -> None:
    """Add a row as a forger with database access would, bypassing CheckpointTaker."""
    columns = list(vars(c))
    placeholders = ", ".join(f"${n}" for n in range(1, len(columns) + 1))
    sql = (
        f"INSERT INTO checkpoints ({', '.join(columns)}) OVERRIDING SYSTEM VALUE"
        f" VALUES ({placeholders})"
    )
    await pool.execute(sql, *vars(c).values())


async def test_reading_in_small_pages_finds_the_same(container: Container) -> None:
    families = await three_families_and_a_checkpoint(container)
    assert (await verify(container, batch_size=4)).lines()[0] == (
        "OK: 18 events, 3 streams, 0 reads, 1 checkpoints verified"
    )
    await bypassing_the_guard(
        container.database.pool,
        "DELETE FROM events WHERE stream_id = $1 AND version = 2",
        families[2],
    )
    small, large = await verify(container, batch_size=4), await verify(container)
    assert small.broken == large.broken and small.broken is not None
    assert small.failed == large.failed


async def test_a_version_that_precedes_its_predecessor_in_log_order_is_not_a_break(
    container: Container,
) -> None:
    pool, store = container.database.pool, container.store
    family = uuid4()
    await store.append(family, 0, tick("v1"), WRITER)
    async with pool.acquire() as slow, slow.transaction():
        # The slow transaction takes its id first, then extends a version committed after it.
        await store.append(uuid4(), 0, tick("other"), WRITER, conn=slow)
        await store.append(family, 1, tick("v2"), WRITER)
        await store.append(family, 2, tick("v3"), WRITER, conn=slow)
    await settled(pool)
    await CheckpointTaker(pool, SIGNER).take()
    log = await store.read_log(LogPosition())
    assert [e.payload for e in log] == [b"v1", b"other", b"v3", b"v2"]

    report = await verify(container)

    assert report.ok, report.lines()
    assert (report.events, report.streams, report.checkpoints) == (4, 2, 1)


async def test_a_kept_tree_proves_families_without_reading_the_log_and_still_finds_tampering(
    container: Container,
) -> None:
    pool, trees = container.database.pool, SignedTrees()
    families = await three_families_and_a_checkpoint(container)
    assert (await verify_family(pool, families[0], TRUSTED, trees)).ok
    checkpoint = await latest_checkpoint(pool)
    assert checkpoint is not None
    kept = await trees.of(pool, checkpoint)

    target = await event(container, families[1], 4)
    await bypassing_the_guard(
        pool, "UPDATE events SET hash = $1 WHERE position = $2", bytes(32), target.position
    )
    # Another family's change is not re-read: the kept tree answers, as signed.
    assert (await verify_family(pool, families[0], TRUSTED, trees)).ok
    assert await trees.of(pool, checkpoint) is kept
    # The changed family's own stored hash no longer has its proof (nor its chain).
    report = await verify_family(pool, families[1], TRUSTED, trees)
    assert not report.ok
    assert report.broken is not None and report.broken.version == 4
    assert report.failed is not None and "not included in its root" in report.failed.what
    # Without the kept tree, the whole prefix is read and no longer has the signed root.
    fresh = await verify_family(pool, families[0], TRUSTED)
    assert fresh.failed is not None and "no longer have its root" in fresh.failed.what


async def test_a_kept_tree_still_finds_a_familys_deleted_events(container: Container) -> None:
    pool, trees = container.database.pool, SignedTrees()
    families = await three_families_and_a_checkpoint(container)
    assert (await verify_family(pool, families[0], TRUSTED, trees)).ok

    # The last event: what is left still chains, only the checkpoint knows it was there.
    await bypassing_the_guard(
        pool, "DELETE FROM events WHERE stream_id = $1 AND version = 6", families[0]
    )
    report = await verify_family(pool, families[0], TRUSTED, trees)
    assert report.broken is None and not report.ok
    assert report.failed is not None and "signed 6 events of the family" in report.failed.what

    # The whole stream: not an unknown family, a family whose signed events are gone.
    await bypassing_the_guard(pool, "DELETE FROM events WHERE stream_id = $1", families[1])
    gone = await verify_family(pool, families[1], TRUSTED, trees)
    assert (gone.events, gone.ok) == (0, False)
    assert gone.failed is not None and "signed 6 events of the family" in gone.failed.what
    unknown = await verify_family(pool, uuid4(), TRUSTED, trees)
    assert (unknown.events, unknown.failed) == (0, None)


async def test_the_break_lowest_in_the_log_is_reported_not_the_first_found(
    container: Container,
) -> None:
    families = await three_families_and_a_checkpoint(container)
    successor = await event(container, families[0], 4)
    target = await event(container, families[1], 4)
    assert successor.position < target.position
    pool = container.database.pool
    # A's missing version is only known at the end of the walk; B's edit is met on the way.
    await bypassing_the_guard(
        pool, "DELETE FROM events WHERE stream_id = $1 AND version = 3", families[0]
    )
    await bypassing_the_guard(
        pool,
        "UPDATE events SET payload = payload || '\\x00'::bytea WHERE position = $1",
        target.position,
    )

    report = await verify(container)

    assert report.broken is not None
    assert (report.broken.stream_id, report.broken.version, report.broken.position) == (
        families[0],
        4,
        successor.position,
    )
    assert report.broken.what == "version 4 where 3 was expected"


async def test_a_log_rewritten_under_a_checkpoint_is_never_signed_again(
    container: Container,
) -> None:
    pool = container.database.pool
    families = await three_families_and_a_checkpoint(container)
    signed = await latest_checkpoint(pool)
    await rewrite_with_recomputed_hashes(container, families[1])
    await open_separated_family(container.commands)
    await settled(pool)
    taker = CheckpointTaker(pool, SIGNER)

    for _ in range(2):  # a taker that refused once does not carry the forged leaves forward
        with pytest.raises(CheckpointRefused) as refused:
            await taker.take()
        assert str(refused.value) == (
            f"refusing to sign: the log's first 18 events no longer match the previous {signed}: "
            "an event it covered was altered, deleted or moved; run `reunite verify`"
        )
    assert await all_checkpoints(pool) == [signed]


async def test_a_log_cut_short_under_a_checkpoint_is_never_signed_again(
    container: Container,
) -> None:
    pool = container.database.pool
    families = await three_families_and_a_checkpoint(container)
    signed = await latest_checkpoint(pool)
    await bypassing_the_guard(pool, "DELETE FROM events WHERE stream_id = $1", families[2])

    with pytest.raises(CheckpointRefused) as refused:
        await CheckpointTaker(pool, SIGNER).take()

    assert str(refused.value) == (
        f"refusing to sign: the previous {signed} covers 18 events, the log holds only 12: "
        "events it covered were deleted; run `reunite verify`"
    )


async def test_a_checkpoint_edited_to_match_a_rewritten_log_is_not_built_on(
    container: Container,
) -> None:
    pool = container.database.pool
    families = await three_families_and_a_checkpoint(container)
    await rewrite_with_recomputed_hashes(container, families[1])
    forged_root = merkle_root(event_leaf(e) for e in await container.store.read_log(LogPosition()))
    await bypassing_the_guard(pool, "UPDATE checkpoints SET root = $1", forged_root)
    mallory = Signer.from_private_key(Ed25519PrivateKey.generate())

    with pytest.raises(CheckpointRefused, match="does not hold: the signature does not match"):
        await CheckpointTaker(pool, SIGNER).take()

    # Re-signed with a key of the forger's own: only a trusted key's checkpoint is built on.
    [edited] = await all_checkpoints(pool)
    unsigned = replace(edited, public_key=mallory.public_key, key_id=mallory.key_id)
    await bypassing_the_guard(pool, "DELETE FROM checkpoints")
    await insert_checkpoint(pool, replace(unsigned, signature=mallory.sign(unsigned.message())))
    with pytest.raises(CheckpointRefused, match=f"signed by key {mallory.key_id}, which is not"):
        await CheckpointTaker(pool, SIGNER).take()
    trusting_both = frozenset({SIGNER.public_key, mallory.public_key})
    assert await CheckpointTaker(pool, SIGNER, trusted=trusting_both).take() is not None


async def test_periodic_checkpoints_log_a_refusal_and_sign_nothing(
    container: Container, caplog: pytest.LogCaptureFixture
) -> None:
    pool = container.database.pool
    families = await three_families_and_a_checkpoint(container)
    signed = await latest_checkpoint(pool)
    await rewrite_with_recomputed_hashes(container, families[0])
    await open_separated_family(container.commands)
    await settled(pool)

    stop = asyncio.Event()
    task = asyncio.create_task(checkpoint_periodically(container.database.pool, 0.02, stop, SIGNER))
    for _ in range(500):
        if caplog.text.count("refusing to sign") >= 2:
            break
        await asyncio.sleep(0.02)
    stop.set()
    await asyncio.wait_for(task, 5)

    [refusal, *_] = [r for r in caplog.records if "refusing to sign" in r.getMessage()]
    assert refusal.levelno == logging.ERROR and refusal.exc_info is None
    assert f"no longer match the previous {signed}" in refusal.getMessage()
    assert await all_checkpoints(pool) == [signed]


async def test_a_family_whose_proof_fails_reads_as_broken_and_nothing_as_merely_unproven(
    container: Container,
) -> None:
    pool = container.database.pool
    families = await three_families_and_a_checkpoint(container)
    signed = await latest_checkpoint(pool)
    await container.store.append(families[0], 6, tick("newer than the checkpoint"), WRITER)
    target = await event(container, families[0], 4)
    await bypassing_the_guard(
        pool, "UPDATE events SET hash = $1 WHERE position = $2", bytes(32), target.position
    )

    report = await verify_family(pool, families[0], TRUSTED)

    # Version 7 is newer than the checkpoint, but nothing of a failed family counts as proven.
    assert (report.events, report.unproven, report.checkpoints) == (7, 0, 0)
    assert report.lines()[:-1] == [
        f"BROKEN: stream {families[0]} version 4 position {target.position}: "
        "hash does not match the event's contents",
        f"BROKEN: {signed}: the 18 events up to its head no longer have its root: "
        "an event it covered was altered, deleted or moved",
    ]


async def test_a_family_before_any_checkpoint_is_unproven_not_newer_than_one(
    container: Container,
) -> None:
    family, *_ = await open_separated_family(container.commands)

    report = await verify_family(container.database.pool, family, TRUSTED)

    assert report.ok and report.lines()[1:-1] == [
        "6 events are not yet covered by a signed checkpoint"
    ]


async def test_a_kept_tree_remembers_that_the_log_lost_the_checkpoints_root(
    container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    pool, trees = container.database.pool, SignedTrees()
    families = await three_families_and_a_checkpoint(container)
    await rewrite_with_recomputed_hashes(container, families[0])
    reads = 0
    original = proofs_module.signed_tree

    async def counting(*args: Any) -> Any:
        nonlocal reads
        reads += 1
        return await original(*args)

    monkeypatch.setattr(proofs_module, "signed_tree", counting)
    for family in families:
        report = await verify_family(pool, family, TRUSTED, trees)
        assert report.failed is not None and "no longer have its root" in report.failed.what
    assert reads == 1  # the whole log was read once, not once per family
