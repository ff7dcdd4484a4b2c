"""The access log is chained by the database and signed by checkpoints: `reunite verify`
finds a read edited, deleted or inserted, and names the row."""

from __future__ import annotations

import asyncio
import dataclasses
import secrets
from collections.abc import AsyncIterator
from uuid import UUID, uuid4

import asyncpg
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from service.access.auth import Identity, Role
from service.application.container import Container
from service.ledger.checkpoints import Checkpoint, CheckpointRefused, CheckpointTaker
from service.ledger.keys import Signer
from service.ledger.merkle import merkle_root
from service.ledger.reads import READ_COLUMNS, ReadRecord, read_hash, record_hash
from service.ledger.verify import VerifyReport, verify_log
from service.postgres.database import open_database
from service.postgres.migrate import load_migrations
from service.settings import Settings
from tests.scenarios.database import with_database
from tests.scenarios.family import T0, open_separated_family
from tests.scenarios.ledger import bypassing_the_guard, settled

pytestmark = pytest.mark.integration

SIGNER = Signer.from_private_key(Ed25519PrivateKey.generate())
TRUSTED = frozenset({SIGNER.public_key})
ANA = Identity("ana.auditor", Role.AUDITOR)
CARLOS = Identity("carlos.counsel", Role.COUNSEL)


class Abandoned(Exception):
    """Raised to roll a transaction back."""


INSERT_READ = (
    "INSERT INTO access_log (subject, role, operation, family_ids)"
    " VALUES ($1, 'counsel', $2, ARRAY[$3::uuid])"
)


async def stored_reads(pool: asyncpg.Pool) -> list[ReadRecord]:
    rows = await pool.fetch(f"SELECT {READ_COLUMNS} FROM access_log ORDER BY id")
    return [ReadRecord.from_row(row) for row in rows]


async def five_reads_and_a_checkpoint(container: Container) -> tuple[UUID, Checkpoint]:
    """A family, read five times by two readers, and a checkpoint over both logs."""
    family, *_ = await open_separated_family(container.commands)
    for reader, operation in [(ANA, "query:family"), (CARLOS, "query:timeline")] * 2:
        await container.access_log.record(reader, operation, [family])
    await container.access_log.record(ANA, "query:familyAsOf", [family])
    await settled(container.database.pool)
    checkpoint = await CheckpointTaker(container.database.pool, SIGNER).take()
    assert checkpoint is not None
    return family, checkpoint


async def verify(container: Container) -> VerifyReport:
    await settled(container.database.pool)
    return await verify_log(container.database.pool, TRUSTED)


async def test_each_read_is_chained_by_the_database_as_the_verifier_recomputes_it(
    container: Container,
) -> None:
    pool = container.database.pool
    one, two = UUID(int=1), UUID(int=2)
    await asyncio.gather(
        container.access_log.record(ANA, "query:family", [one, two]),
        container.access_log.record(CARLOS, "query:children", [two]),
    )
    await container.access_log.record(ANA, "query:niño", [one])

    reads = await stored_reads(pool)

    assert len(reads) == 3  # one record an answer, naming every family it read
    assert all(record_hash(r) == r.hash for r in reads)
    assert [r.prev_hash for r in reads] == [None, *(r.hash for r in reads[:-1])]
    head = await pool.fetchrow("SELECT last_id, hash FROM access_log_head")
    assert head is not None and (head["last_id"], head["hash"]) == (reads[-1].id, reads[-1].hash)


async def test_concurrent_writers_never_fork_the_chain_and_a_rolled_back_read_leaves_no_trace(
    container: Container,
) -> None:
    pool = container.database.pool

    async def writer(n: int) -> None:
        async with pool.acquire() as conn:
            for i in range(25):
                await conn.execute(INSERT_READ, f"writer-{n}", f"read {i}", uuid4())

    with pytest.raises(Abandoned):
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute(INSERT_READ, "rolled-back", "read", uuid4())
            # The head is locked until this transaction ends: the writers wait, then chain on.
            tasks = [asyncio.create_task(writer(n)) for n in range(4)]
            await asyncio.sleep(0.2)
            assert await pool.fetchval("SELECT count(*) FROM access_log") == 0
            raise Abandoned
    await asyncio.gather(*tasks)

    reads = await stored_reads(pool)
    assert len(reads) == 100 and "rolled-back" not in {r.subject for r in reads}
    assert [r.id for r in reads] == list(range(1, 101))  # its number was given back
    assert [r.prev_hash for r in reads] == [None, *(r.hash for r in reads[:-1])]
    report = await verify(container)
    assert report.ok and report.reads == 100, report.lines()


async def test_a_writer_naming_an_earlier_read_as_its_statements_own_changes_nothing(
    container: Container,
) -> None:
    pool = container.database.pool
    async with pool.acquire() as conn:
        for n in range(3):
            await conn.execute(INSERT_READ, "honest", f"read {n}", uuid4())
        # The setting the trigger keeps a statement's last read in: any session may set it.
        await conn.execute("SET reunite.access_log_last = '1'")
        await conn.execute(INSERT_READ, "mallory", "read", uuid4())
        await conn.execute("RESET reunite.access_log_last")

    reads = await stored_reads(pool)
    assert reads[-1].prev_hash == reads[-2].hash
    report = await verify(container)
    assert report.ok and report.reads == 4, report.lines()


async def test_a_writer_with_a_stale_snapshot_fails_rather_than_fork_the_chain(
    container: Container,
) -> None:
    pool = container.database.pool
    await pool.execute(INSERT_READ, "first", "read", uuid4())
    async with pool.acquire() as stale, stale.transaction(isolation="repeatable_read"):
        await stale.fetchval("SELECT count(*) FROM access_log")  # its snapshot, now
        await pool.execute(INSERT_READ, "second", "read", uuid4())
        # Its number is taken: the head it would move was moved since its snapshot.
        with pytest.raises(asyncpg.SerializationError):
            await stale.execute(INSERT_READ, "stale", "read", uuid4())

    report = await verify(container)
    assert report.ok and report.reads == 2, report.lines()


async def test_a_checkpoint_signs_the_access_log_and_verify_counts_what_it_does_not_cover_yet(
    container: Container,
) -> None:
    family, checkpoint = await five_reads_and_a_checkpoint(container)
    reads = await stored_reads(container.database.pool)
    assert (checkpoint.read_count, checkpoint.read_head_id) == (5, reads[-1].id)
    assert checkpoint.read_root == merkle_root(r.hash for r in reads)
    await container.access_log.record(ANA, "query:family", [family])

    report = await verify(container)

    assert report.ok, report.lines()
    assert report.lines()[:2] == [
        "OK: 6 events, 1 streams, 6 reads, 1 checkpoints verified",
        "1 reads are not yet covered by a signed checkpoint",
    ]


async def update_read(pool: asyncpg.Pool, read: ReadRecord) -> None:
    """Rewrite a row as a forger with the owner's login could."""
    await bypassing_the_guard(
        pool,
        "UPDATE access_log SET subject = $2, prev_hash = $3, hash = $4 WHERE id = $1",
        read.id,
        read.subject,
        read.prev_hash,
        read.hash,
    )


async def insert_read(pool: asyncpg.Pool, read: ReadRecord) -> None:
    """Add a row as a forger would, the stamp trigger off, chained as it would have."""
    values = dataclasses.astuple(read)
    await bypassing_the_guard(
        pool,
        f"INSERT INTO access_log ({READ_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        *values,
    )


def rehashed(read: ReadRecord, prev_hash: bytes | None = None, **changes: object) -> ReadRecord:
    """The read with changes, its hash recomputed over them."""
    changed = dataclasses.replace(read, prev_hash=prev_hash, **changes)  # type: ignore[arg-type]
    return dataclasses.replace(changed, hash=record_hash(changed))


async def test_an_edited_read_is_named(container: Container) -> None:
    await five_reads_and_a_checkpoint(container)
    pool = container.database.pool
    target = (await stored_reads(pool))[2]
    await update_read(pool, dataclasses.replace(target, subject="nobody"))

    report = await verify(container)

    assert report.read_broken is not None and report.read_broken.id == target.id
    assert report.lines()[0] == (
        f"BROKEN: access-log row {target.id}: its hash does not match its contents: "
        "the row was edited"
    )
    # The signed root is over the stored hashes, which are untouched: the chain finds it.
    assert not report.ok and report.failed is None


async def test_an_edited_read_with_its_hash_recomputed_is_found_at_the_next(
    container: Container,
) -> None:
    await five_reads_and_a_checkpoint(container)
    pool = container.database.pool
    reads = await stored_reads(pool)
    target = reads[2]
    await update_read(pool, rehashed(target, target.prev_hash, subject="nobody"))

    report = await verify(container)

    assert report.read_broken is not None and report.read_broken.id == reads[3].id
    assert report.read_broken.what == (
        f"it does not chain from row {target.id} before it: a row between them was deleted, "
        f"or row {target.id} was inserted or rewritten with a recomputed hash"
    )


async def test_a_deleted_read_is_found_between_its_neighbours(container: Container) -> None:
    await five_reads_and_a_checkpoint(container)
    pool = container.database.pool
    reads = await stored_reads(pool)
    await bypassing_the_guard(pool, "DELETE FROM access_log WHERE id = $1", reads[1].id)

    report = await verify(container)

    assert report.read_broken is not None and report.read_broken.id == reads[2].id
    assert f"does not chain from row {reads[0].id} before it" in report.read_broken.what
    assert report.failed is not None
    assert report.failed.what == (
        "it covers 5 reads, the access log holds only 4: reads it covered were deleted"
    )


async def test_the_last_read_deleted_is_found_by_the_head_and_the_checkpoint(
    container: Container,
) -> None:
    await five_reads_and_a_checkpoint(container)
    pool = container.database.pool
    reads = await stored_reads(pool)
    await bypassing_the_guard(pool, "DELETE FROM access_log WHERE id = $1", reads[-1].id)

    report = await verify(container)

    assert report.read_broken is not None and report.read_broken.id == reads[-1].id
    assert report.read_broken.what == (
        f"the log ends at row {reads[-2].id}, but the database recorded reads up to row "
        f"{reads[-1].id}: reads were deleted from its end"
    )
    assert report.failed is not None
    assert report.failed.what == (
        "it covers 5 reads, the access log holds only 4: reads it covered were deleted"
    )


async def test_a_read_inserted_with_the_later_ones_renumbered_is_named(
    container: Container,
) -> None:
    await five_reads_and_a_checkpoint(container)
    pool = container.database.pool
    reads = await stored_reads(pool)
    # Room is made after the second read, each later row keeping its contents and hash.
    for read in reversed(reads[2:]):
        await bypassing_the_guard(pool, "UPDATE access_log SET id = id + 1 WHERE id = $1", read.id)
    forged = rehashed(dataclasses.replace(reads[1], id=reads[2].id, subject="alibi"), reads[1].hash)
    await insert_read(pool, forged)

    report = await verify(container)

    assert report.read_broken is not None and report.read_broken.id == forged.id
    assert report.read_broken.what == (
        f"the row was inserted: row {forged.id + 1} after it chains from row {reads[1].id}"
    )
    assert report.failed is not None


async def test_a_read_deleted_from_the_end_stays_missing_from_the_chain_after_more_reads(
    container: Container,
) -> None:
    family, _ = await five_reads_and_a_checkpoint(container)
    pool = container.database.pool
    reads = await stored_reads(pool)
    await bypassing_the_guard(pool, "DELETE FROM access_log WHERE id = $1", reads[-1].id)
    await container.access_log.record(ANA, "query:family", [family])

    report = await verify(container)

    # The next read took the number after the deleted one, and chains from it.
    after = (await stored_reads(pool))[-1]
    assert (after.id, after.prev_hash) == (reads[-1].id + 1, reads[-1].hash)
    assert report.read_broken is not None and report.read_broken.id == after.id
    assert f"does not chain from row {reads[-2].id} before it" in report.read_broken.what


async def test_a_read_inserted_after_the_last_one_is_found_by_the_head(
    container: Container,
) -> None:
    await five_reads_and_a_checkpoint(container)
    pool = container.database.pool
    last = (await stored_reads(pool))[-1]
    forged = rehashed(dataclasses.replace(last, id=last.id + 1, subject="alibi"), last.hash)
    await insert_read(pool, forged)

    report = await verify(container)

    assert report.read_broken is not None and report.read_broken.id == forged.id
    assert report.read_broken.what == (
        f"it stands after the last read the database recorded (row {last.id}): it was "
        "inserted with the triggers off"
    )
    # The checkpoint's reads are untouched: only the head knows.
    assert report.failed is None
    # The next read is never chained from it: it takes the forged row's number, and fails.
    with pytest.raises(asyncpg.UniqueViolationError):
        await container.access_log.record(ANA, "query:family", [uuid4()])


async def test_a_rewritten_access_log_rechained_throughout_fails_the_checkpoint(
    container: Container,
) -> None:
    await five_reads_and_a_checkpoint(container)
    pool = container.database.pool
    previous = None
    for read in await stored_reads(pool):
        forged = rehashed(read, previous, subject=read.subject.replace("carlos", "someone"))
        await update_read(pool, forged)
        previous = forged.hash
    await bypassing_the_guard(pool, "UPDATE access_log_head SET hash = $1", previous)

    report = await verify(container)

    # Every link holds and the log ends at its head: only the signed root knows.
    assert report.read_broken is None and report.failed is not None
    assert report.failed.what == (
        "the root of its reads differs: a read it covered was altered or replaced"
    )
    with pytest.raises(CheckpointRefused, match="the access log's first 5 reads no longer match"):
        await CheckpointTaker(pool, SIGNER).take()


async def test_an_emptied_access_log_fails_the_checkpoint_and_is_never_signed_again(
    container: Container,
) -> None:
    await five_reads_and_a_checkpoint(container)
    pool = container.database.pool
    await bypassing_the_guard(pool, "DELETE FROM access_log")
    await bypassing_the_guard(pool, "DELETE FROM access_log_head")

    report = await verify(container)

    assert report.read_broken is None and report.failed is not None
    assert report.failed.what == (
        "it covers 5 reads, the access log holds only 0: reads it covered were deleted"
    )
    with pytest.raises(CheckpointRefused, match="covers 5 reads, the access log holds only 0"):
        await CheckpointTaker(pool, SIGNER).take()


def test_the_hash_counts_the_families_so_a_read_of_several_keeps_the_encoding() -> None:
    one, two = UUID(int=1), UUID(int=2)
    single = read_hash(None, 1, T0, "ana", "auditor", "query:family", [one])
    both = read_hash(None, 1, T0, "ana", "auditor", "query:family", [one, two])
    assert single != both
    assert read_hash(None, 1, T0, "ana", "auditor", "query:family", [two, one]) != both


@pytest.fixture
async def database_before_0010(
    server_url: str, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Settings]:
    """A database of its own, migrated up to 0009, with reads logged by the app role."""
    name = f"reunite_upgrade_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(server_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    older = dataclasses.replace(settings, database_url=with_database(server_url, name))
    try:
        before = [m for m in load_migrations() if m.version <= 9]
        with monkeypatch.context() as patched:
            patched.setattr("service.postgres.migrate.load_migrations", lambda: before)
            database = await open_database(older, role="reunite_app")
            try:
                await Container.build(older, database)
                # As the writer before 0011 did: a row for each family an answer read.
                for reader in (ANA, CARLOS, ANA):
                    await database.pool.execute(
                        "INSERT INTO access_log (subject, role, operation, family_id)"
                        " SELECT $1, $2, 'query:family', unnest($3::uuid[])",
                        reader.subject,
                        reader.role.value,
                        [uuid4(), uuid4()],
                    )
            finally:
                await database.close()
        yield older
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def test_reads_logged_before_the_upgrade_are_chained_and_the_chain_goes_on(
    database_before_0010: Settings,
) -> None:
    database = await open_database(database_before_0010)  # applies 0010
    try:
        pool = database.pool
        backfilled = await stored_reads(pool)
        assert len(backfilled) == 6
        assert all(record_hash(r) == r.hash for r in backfilled)
        assert [r.prev_hash for r in backfilled] == [None, *(r.hash for r in backfilled[:-1])]

        server = await open_database(database_before_0010, role="reunite_app")
        try:
            container = await Container.build(database_before_0010, server)
            family, *_ = await open_separated_family(container.commands)
            await container.access_log.record(CARLOS, "query:family", [family])
        finally:
            await server.close()
        reads = await stored_reads(pool)
        assert reads[6].prev_hash == backfilled[-1].hash
        await settled(pool)
        checkpoint = await CheckpointTaker(pool, SIGNER).take()
        assert checkpoint is not None and checkpoint.read_count == 7
        report = await verify_log(pool, TRUSTED)
        assert report.ok and report.reads == 7, report.lines()
    finally:
        await database.close()
