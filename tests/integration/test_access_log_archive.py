"""The access log by month (issue #23): one record per answer, months archived with proof,
the archive verified before its partition is dropped, and who-read still answerable."""

from __future__ import annotations

import gzip
import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID, uuid4

import asyncpg
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from schema.build import create_schema
from service.access import access_log
from service.access.auth import Identity, Role
from service.application.container import Container
from service.entrypoints.audit_cli import _check_archives
from service.ledger.archive import (
    ArchiveError,
    archive_month,
    hot_months,
    month_bounds,
    partition_name,
    reads_of,
    recorded_archives,
    verify_archive,
)
from service.ledger.bundle import BundleRejected
from service.ledger.checkpoints import CheckpointTaker
from service.ledger.keys import Signer
from service.ledger.proofs import prove_reads
from service.ledger.reads import (
    READ_COLUMNS,
    ReadRecord,
    leaf_batches,
)
from service.ledger.verify import verify_log
from tests.scenarios.family import open_separated_family
from tests.scenarios.graphql import context
from tests.scenarios.ledger import (
    bypassing_the_guard,
    months_ago,
    reads_in_past_months,
    settled,
)

pytestmark = pytest.mark.integration

SIGNER = Signer.from_private_key(Ed25519PrivateKey.generate())
TRUSTED = frozenset({SIGNER.public_key})
ANA = Identity("ana.auditor", Role.AUDITOR)
CARLOS = Identity("carlos.counsel", Role.COUNSEL)
FAMILY, OTHER = UUID(int=1), UUID(int=2)


async def three_months(container: Container) -> None:
    """Two months ago three reads, last month two, this month one, and a checkpoint."""
    pool = container.database.pool
    old, last = months_ago(2), months_ago(1)
    await reads_in_past_months(
        pool,
        [
            (old, "ana.auditor", [FAMILY, OTHER]),
            (old, "carlos.counsel", [OTHER]),
            (old, "ana.auditor", [FAMILY]),
            (last, "carlos.counsel", [FAMILY]),
            (last, "ana.auditor", [OTHER]),
        ],
    )
    await open_separated_family(container.commands)
    await container.access_log.record(CARLOS, "query:family", [FAMILY, OTHER])
    await checkpoint(pool)


async def checkpoint(pool: asyncpg.Pool) -> None:
    await settled(pool)
    assert await CheckpointTaker(pool, SIGNER).take() is not None


async def test_one_record_an_answer_names_every_family_it_read(container: Container) -> None:
    pool = container.database.pool
    families = [uuid4() for _ in range(100)]
    await container.access_log.record(ANA, "query:children", families)
    rows = await pool.fetch("SELECT family_ids FROM access_log")
    assert [sorted(r["family_ids"]) for r in rows] == [sorted(families)]


async def test_a_month_is_archived_verified_dropped_and_the_log_still_verifies(
    container: Container, tmp_path: Path
) -> None:
    await three_months(container)
    pool = container.database.pool
    old = months_ago(2)
    out = tmp_path / "old.json.gz"

    archived = await archive_month(pool, old, out, TRUSTED)

    assert [r.id for r in archived.reads] == [1, 2, 3]
    assert await pool.fetchval("SELECT to_regclass($1)", partition_name(old)) is None
    assert old not in await hot_months(pool)
    digest = hashlib.sha256(out.read_bytes()).digest()
    assert await pool.fetchval("SELECT digest FROM access_log_archives") == digest
    # The digest is in the chain itself, for the next checkpoint to sign.
    assert await pool.fetchval(
        "SELECT count(*) FROM access_log WHERE operation LIKE $1",
        f"archive:% sha256:{digest.hex()}%",
    )
    offline = verify_archive(out.read_bytes(), SIGNER.public_key)
    assert [r.id for r in reads_of(offline, FAMILY)] == [1, 3]
    assert await access_log.archived_months(pool) == [f"{old:%Y-%m}"]

    report = await verify_log(pool, TRUSTED)
    assert report.ok and report.reads == 7, report.lines()
    assert any("archived, digest recorded" in line for line in report.lines())
    # A taker starting afresh reads the archived leaves, and signs on.
    await checkpoint(pool)
    report = await verify_log(pool, TRUSTED)
    assert report.ok and report.unproven_reads == 0, report.lines()
    # And a family's hot reads are still proven against the whole tree.
    latest = (await CheckpointTaker(pool, SIGNER).take()) or None
    assert latest is not None
    proven = await prove_reads(pool, FAMILY, latest)
    assert [p.record.id for p in proven] == [4, 6]
    # The file checks against the digest recorded; another month's file, or none, does not.
    assert _check_archives(await recorded_archives(pool), [out], TRUSTED)


async def test_nothing_is_lost_between_the_archive_and_the_first_hot_read(
    container: Container, tmp_path: Path
) -> None:
    await three_months(container)
    pool = container.database.pool
    await archive_month(pool, months_ago(2), tmp_path / "a.gz", TRUSTED)
    await archive_month(pool, months_ago(1), tmp_path / "b.gz", TRUSTED)

    ids = [id async for batch in leaf_batches(pool, 0, 2**62, 2) for id, _ in batch]
    assert ids == list(range(1, 9))  # 5 archived, this month's read, two archive records
    first_hot = await pool.fetchrow(f"SELECT {READ_COLUMNS} FROM access_log ORDER BY id LIMIT 1")
    assert first_hot is not None
    archived_last = await pool.fetchval("SELECT last_hash FROM access_log_archives WHERE reads = 2")
    assert ReadRecord.from_row(first_hot).prev_hash == archived_last
    assert (await verify_log(pool, TRUSTED)).ok

    # The first hot read deleted: the break shows at the archive's edge.
    await bypassing_the_guard(pool, "DELETE FROM access_log WHERE id = 6")
    report = await verify_log(pool, TRUSTED)
    assert not report.ok and report.read_broken is not None and report.read_broken.id == 7


async def test_a_month_dropped_without_its_archive_is_noticed(container: Container) -> None:
    await three_months(container)
    pool = container.database.pool
    name = partition_name(months_ago(2))
    await pool.execute(f"ALTER TABLE access_log DETACH PARTITION {name}")
    await pool.execute(f"DROP TABLE {name}")

    report = await verify_log(pool, TRUSTED)

    assert not report.ok and report.read_broken is not None
    assert report.read_broken.id == 4  # it chains from a read no longer there


@pytest.mark.parametrize(
    "tamper",
    [
        lambda d: d["reads"][1].update(subject="nobody"),
        lambda d: d["reads"].pop(1),
        lambda d: d["reads"][0].update(family_ids=[str(uuid4())]),
        lambda d: d.update(leaf_index=0),
        lambda d: d["checkpoint"].update(read_root="00" * 32),
    ],
    ids=["a reader renamed", "a read removed", "a family swapped", "the proof moved", "the root"],
)
async def test_a_tampered_archive_is_refused(
    container: Container, tmp_path: Path, tamper: object
) -> None:
    await three_months(container)
    pool = container.database.pool
    out = tmp_path / "old.gz"
    await archive_month(pool, months_ago(2), out, TRUSTED)
    data = json.loads(gzip.decompress(out.read_bytes()))
    tamper(data)  # type: ignore[operator]
    forged = tmp_path / "forged.gz"
    forged.write_bytes(gzip.compress(json.dumps(data).encode()))

    with pytest.raises(BundleRejected):
        verify_archive(forged.read_bytes(), SIGNER.public_key)
    assert (await verify_log(pool, TRUSTED)).ok  # the database holds: the file does not
    assert not _check_archives(await recorded_archives(pool), [forged], TRUSTED)


async def test_a_file_that_verifies_but_is_not_the_one_recorded_is_refused(
    container: Container, tmp_path: Path
) -> None:
    await three_months(container)
    pool = container.database.pool
    out = tmp_path / "old.gz"
    await archive_month(pool, months_ago(2), out, TRUSTED)
    # Same contents, other bytes: it verifies offline, but its digest is not the recorded one.
    again = tmp_path / "again.gz"
    again.write_bytes(gzip.compress(gzip.decompress(out.read_bytes()), mtime=1))
    verify_archive(again.read_bytes(), SIGNER.public_key)
    assert (await verify_log(pool, TRUSTED)).ok  # the database holds: the file does not
    assert not _check_archives(await recorded_archives(pool), [again], TRUSTED)


async def test_a_month_is_not_archived_unless_it_holds_and_a_checkpoint_covers_it(
    container: Container, tmp_path: Path
) -> None:
    pool = container.database.pool
    old = months_ago(2)
    await reads_in_past_months(
        pool, [(old, "ana.auditor", [FAMILY]), (old, "ana.auditor", [OTHER])]
    )
    with pytest.raises(ArchiveError, match="no signed checkpoint covers"):
        await archive_month(pool, old, tmp_path / "x.gz", TRUSTED)
    await open_separated_family(container.commands)
    await checkpoint(pool)
    await bypassing_the_guard(pool, "UPDATE access_log SET subject = 'mallory' WHERE id = 2")
    with pytest.raises(ArchiveError, match="does not hold"):
        await archive_month(pool, old, tmp_path / "x.gz", TRUSTED)
    with pytest.raises(ArchiveError, match="not over yet"):
        await archive_month(pool, months_ago(0), tmp_path / "x.gz", TRUSTED)
    assert old in await hot_months(pool)  # nothing was dropped
    assert await pool.fetchval("SELECT count(*) FROM access_log_archives") == 0


async def test_who_read_a_family_between_two_dates_is_one_query_across_months(
    container: Container, tmp_path: Path
) -> None:
    await three_months(container)
    pool = container.database.pool
    since, _ = month_bounds(months_ago(2))
    until = datetime.now(UTC) + timedelta(minutes=1)

    readers = await access_log.who_read(pool, FAMILY, since, until)
    assert [(r["id"], r["subject"]) for r in readers] == [
        (1, "ana.auditor"),
        (3, "ana.auditor"),
        (4, "carlos.counsel"),
        (6, "carlos.counsel"),
    ]
    last_month = month_bounds(months_ago(1))
    assert [r["id"] for r in await access_log.who_read(pool, FAMILY, *last_month)] == [4]
    plan = "\n".join(
        r[0]
        for r in await pool.fetch(
            "EXPLAIN "
            + access_log.WHO_READ.replace("$1", f"'{FAMILY}'::uuid")
            .replace("$2", f"'{last_month[0].isoformat()}'::timestamptz")
            .replace("$3", f"'{last_month[1].isoformat()}'::timestamptz")
        )
    )
    # Only last month's partition is searched.
    assert partition_name(months_ago(1)) in plan and partition_name(months_ago(2)) not in plan

    # Archived months are not searched, and the answer says which.
    await archive_month(pool, months_ago(2), tmp_path / "a.gz", TRUSTED)
    readers = await access_log.who_read(pool, FAMILY, since, until)
    assert [r["id"] for r in readers] == [4, 6]
    assert await access_log.archived_months(pool) == [f"{months_ago(2):%Y-%m}"]
    page = await access_log.page(pool, FAMILY, None, 2**63 - 1, 10)
    assert [r["id"] for r in page] == [6, 4]


async def test_auditors_page_records_across_months_and_learn_which_months_were_archived(
    container: Container, tmp_path: Path
) -> None:
    await three_months(container)
    await archive_month(container.database.pool, months_ago(2), tmp_path / "a.gz", TRUSTED)
    query = """query($id: UUID!) {
        accessLog(familyId: $id) { edges { node { id subject familyIds } } }
        accessLogArchivedMonths
    }"""

    answer = await create_schema().execute(
        query, {"id": str(FAMILY)}, context(container, Role.AUDITOR)
    )

    assert answer.errors is None and answer.data is not None
    records = [edge["node"] for edge in answer.data["accessLog"]["edges"]]
    assert [(r["id"], r["subject"]) for r in records] == [
        (6, "carlos.counsel"),
        (4, "carlos.counsel"),
    ]
    assert records[0]["familyIds"] == sorted([str(FAMILY), str(OTHER)])
    assert answer.data["accessLogArchivedMonths"] == [f"{months_ago(2):%Y-%m}"]


async def test_a_read_is_dated_in_the_month_it_was_routed_to_or_refused(
    container: Container,
) -> None:
    pool = container.database.pool
    await pool.execute("SELECT reunite_access_log_month($1)", months_ago(1))
    # Routed by the time it names to last month, stamped now: it may not change month.
    with pytest.raises(asyncpg.SerializationError, match="month changed"):
        await pool.execute(
            "INSERT INTO access_log (read_at, subject, role, operation, family_ids)"
            " VALUES ($1, 'mallory', 'auditor', 'query:family', '{}')",
            month_bounds(months_ago(1))[0],
        )
    assert await pool.fetchval("SELECT count(*) FROM access_log") == 0


class FailingOnce:
    """The real pool, whose first insert of reads fails as one crossing a month would."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self.failed = False

    async def execute(self, query: str, *args: object) -> str:
        if query == access_log.RECORD and not self.failed:
            self.failed = True
            raise asyncpg.SerializationError("the read's month changed")
        return await self.pool.execute(query, *args)


async def test_a_read_refused_at_the_turn_of_a_month_is_sent_again(container: Container) -> None:
    pool = container.database.pool
    writer = access_log.AccessLog(FailingOnce(pool))  # type: ignore[arg-type]

    await writer.record(ANA, "query:family", [FAMILY])

    assert await pool.fetchval("SELECT count(*) FROM access_log") == 1
