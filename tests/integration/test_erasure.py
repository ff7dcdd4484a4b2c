"""Erasure on real PostgreSQL: nothing of the person stays in clear, every proof still holds."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import asyncpg
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from domain.erasure_commands import AlreadyErased
from domain.errors import InvalidValue
from domain.personal import ERASED, erased
from domain.values import ANumber, PersonName
from projections.case_queries import court_report
from service.application.container import Container
from service.application.erasure import UnknownPerson
from service.entrypoints import cli
from service.eventstore.sealed_payloads import sealed_for
from service.history.replay import Point
from service.history.time_travel import TimeTravel
from service.ledger.bundle import bundle_from_json, bundle_to_json, verify_bundle
from service.ledger.checkpoints import CheckpointTaker
from service.ledger.export import export_bundle
from service.ledger.keys import Signer
from service.ledger.verify import verify_log
from service.orr_import.importer import OrrImporter
from service.postgres.database import open_database
from service.settings import Settings
from tests.scenarios.erasure import (
    A_NUMBER,
    ADMIN,
    AUTHORITY,
    BIRTH_DATE,
    CHILD_NAME,
    CORRECTED_NAME,
    MOTHER_NAME,
    ORDERED_BY,
    Recorded,
    clear_text_found,
    pg_dump,
    record_family,
    secrets_in,
)
from tests.scenarios.family import T0, ctx, open_separated_family
from tests.scenarios.ledger import settled

pytestmark = pytest.mark.integration

SIGNER = Signer.from_private_key(Ed25519PrivateKey.generate())
TRUSTED = frozenset({SIGNER.public_key})


async def members(container: Container, family: Recorded) -> dict[object, dict[str, object]]:
    rows = await container.database.pool.fetch(
        "SELECT * FROM family_members WHERE family_id = $1", family.family_id
    )
    return {r["person_id"]: dict(r) for r in rows}


async def test_personal_data_is_stored_sealed_and_reads_as_recorded(container: Container) -> None:
    family = await record_family(container.commands)
    await container.runner.catch_up()
    pool = container.database.pool
    payloads = await pool.fetch("SELECT payload FROM events WHERE stream_id = $1", family.family_id)
    assert not secrets_in("\n".join(bytes(p["payload"]).decode() for p in payloads))
    found = await members(container, family)
    child = found[family.child]
    assert (child["name"], child["birth_date"]) == (CORRECTED_NAME, BIRTH_DATE)
    assert not child["personal_data_erased"]
    loaded = await container.commands.load(family.family_id)
    assert loaded.members[family.child].a_number == ANumber(A_NUMBER)


async def test_after_erasure_nothing_of_the_person_is_in_clear_and_every_proof_holds(
    container: Container,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    pool = container.database.pool
    family = await record_family(container.commands)
    _, _, other_child, _ = await open_separated_family(container.commands)
    await container.runner.catch_up()
    await settled(pool)
    await CheckpointTaker(pool, SIGNER).take()
    bundle_before = json.dumps(bundle_to_json(await export_bundle(pool, family.family_id, None)))
    report_on = date(2018, 6, 1)
    counts_before = [dict(r) for r in await court_report(pool, report_on)]
    recorded_before = datetime.now(UTC)

    result = await container.erasure.erase(family.child, AUTHORITY, ORDERED_BY, ADMIN)
    await container.runner.catch_up()

    assert await clear_text_found(pool) == []
    assert secrets_in(pg_dump(settings.database_url or "")) == []
    assert (await verify_log(pool, TRUSTED)).ok
    monkeypatch.setenv("DATABASE_URL", settings.database_url or "")
    capsys.readouterr()
    verified = await asyncio.get_running_loop().run_in_executor(None, cli.main, ["verify"])
    assert verified == 0, capsys.readouterr()
    offline = bundle_from_json(json.loads(bundle_before))
    verify_bundle(offline, SIGNER.public_key)  # raises BundleRejected if it no longer holds
    assert [dict(r) for r in await court_report(pool, report_on)] == counts_before

    # The erased child reads as erased; her mother, and the other family, as recorded.
    found = await members(container, family)
    child, mother = found[family.child], found[family.mother]
    assert (child["name"], child["birth_date"], child["personal_data_erased"]) == (None, None, True)
    assert (mother["name"], mother["personal_data_erased"]) == (MOTHER_NAME, False)
    kept: Any = await container.database.pool.fetchrow(
        "SELECT * FROM family_members WHERE person_id = $1", other_child
    )
    assert (kept["name"], kept["personal_data_erased"]) == ("Beto", False)

    # An auditor sees that an erasure happened, by whom, why and when.
    entry: Any = await pool.fetchrow(
        "SELECT * FROM timeline WHERE family_id = $1 AND version = $2",
        family.family_id,
        result.version,
    )
    assert entry["event_type"] == "PersonalDataErased"
    assert (entry["actor"], entry["reason"]) == (ADMIN.actor, AUTHORITY)
    assert ORDERED_BY in entry["summary"] and AUTHORITY in entry["summary"]
    assert family.child in entry["people"]

    # Replays and time travel show the marker at every point, before the erasure too.
    travel = TimeTravel.from_store(container.store)
    history = await travel.history(family.family_id, recorded_before)
    added = [e.event for e in history if getattr(e.event, "person_id", None) == family.child]
    assert len(added) == 1 and erased(added[0].name) and erased(added[0].a_number)
    separated = [e.event for e in history if e.kind == "Separated"]
    assert len(separated) == 1 and erased(separated[0].note)
    then = await travel.case_at(family.family_id, Point(known_at=recorded_before))
    assert then is not None
    (row,) = [m for m in then.rows.members if m.person_id == family.child]
    assert (row.name, row.birth_date, row.personal_data_erased) == (None, None, True)
    loaded = await container.commands.load(family.family_id)
    assert erased(loaded.members[family.child].name)


async def test_bad_erasures_are_refused_and_write_nothing(container: Container) -> None:
    pool = container.database.pool
    family = await record_family(container.commands)
    head = await container.store.head()
    refusals: list[tuple[object, str, type[Exception]]] = [
        (uuid4(), AUTHORITY, UnknownPerson),
        (family.child, "", InvalidValue),
        (family.child, "   ", InvalidValue),
        (family.child, "court\x00order", InvalidValue),
        (family.child, "order\x1b[2J", InvalidValue),
        (family.child, "x" * 501, InvalidValue),
    ]
    for person, authority, error in refusals:
        with pytest.raises(error):
            await container.erasure.erase(person, authority, ORDERED_BY, ADMIN)  # type: ignore[arg-type]
    with pytest.raises(InvalidValue):
        await container.erasure.erase(family.child, AUTHORITY, "", ADMIN)
    assert await container.store.head() == head
    assert await pool.fetchval("SELECT count(*) FROM person_keys WHERE wrapped IS NULL") == 0

    await container.erasure.erase(family.child, AUTHORITY, ORDERED_BY, ADMIN)
    head = await container.store.head()
    with pytest.raises(AlreadyErased):
        await container.erasure.erase(family.child, AUTHORITY, ORDERED_BY, ADMIN)
    assert await container.store.head() == head


async def test_a_key_table_restored_from_a_backup_does_not_undo_an_erasure(
    container: Container, settings: Settings
) -> None:
    pool = container.database.pool
    family = await record_family(container.commands)
    backup = await pool.fetch("SELECT * FROM person_keys ORDER BY person_id")
    await container.erasure.erase(family.child, AUTHORITY, ORDERED_BY, ADMIN)

    kept = next(r for r in backup if r["person_id"] == family.child)
    with pytest.raises(asyncpg.RaiseError, match="cannot be restored"):
        await pool.execute(
            "UPDATE person_keys SET kek_id = $2, wrapped = $3, destroyed_at = NULL"
            " WHERE person_id = $1",
            family.child,
            kept["kek_id"],
            kept["wrapped"],
        )
    with pytest.raises(asyncpg.RaiseError, match="never deleted"):
        await pool.execute("DELETE FROM person_keys WHERE person_id = $1", family.child)

    # A superuser restores the whole table from the backup, the guard off.
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SET LOCAL session_replication_role = replica")
        await conn.execute("DELETE FROM person_keys")
        await conn.copy_records_to_table(
            "person_keys", records=[tuple(r) for r in backup], columns=list(backup[0].keys())
        )
    assert await pool.fetchval(
        "SELECT wrapped IS NOT NULL FROM person_keys WHERE person_id = $1", family.child
    )
    # The next process to start reads the erasure in the log and destroys the key again.
    restarted = await Container.build(settings, container.database)
    assert await pool.fetchval(
        "SELECT wrapped IS NULL FROM person_keys WHERE person_id = $1", family.child
    )
    loaded = await restarted.commands.load(family.family_id)
    assert erased(loaded.members[family.child].name)
    assert not erased(loaded.members[family.mother].name)


async def test_another_process_forgets_the_person_within_seconds(
    container: Container, settings: Settings
) -> None:
    family = await record_family(container.commands)
    other = await Container.build(settings, container.database)
    await other.erasure_notices.start()
    try:
        # The other process holds the family decoded (its command cache) and the child's key.
        await other.commands.execute(
            family.family_id, lambda f: f.close_case("closed", T0 + timedelta(days=40)), ctx()
        )
        assert len(other.commands.cache) == 1
        assert other.store.keyring is not None and family.child not in other.store.keyring.erased
        travel = TimeTravel.from_store(other.store)
        assert any(
            getattr(e.event, "name", None) == PersonName(CHILD_NAME)
            for e in await travel.history(family.family_id)
        )

        await container.erasure.erase(family.child, AUTHORITY, ORDERED_BY, ADMIN)
        for _ in range(100):
            if family.child in other.store.keyring.erased:
                break
            await asyncio.sleep(0.05)
        assert family.child in other.store.keyring.erased
        assert len(other.commands.cache) == 0
        loaded = await other.commands.load(family.family_id)
        assert erased(loaded.members[family.child].name)
        history = await travel.history(family.family_id)
        added = [e.event for e in history if getattr(e.event, "person_id", None) == family.child]
        assert added and all(erased(getattr(e, "name", ERASED)) for e in added)
    finally:
        await other.erasure_notices.stop()


async def test_the_cli_erases_by_order_and_refuses_what_it_cannot(
    container: Container,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    family = await record_family(container.commands)
    monkeypatch.setenv("DATABASE_URL", database_url)
    loop = asyncio.get_running_loop()

    def erase(*args: str) -> int:
        return cli.main(["erase", *args])

    unknown = await loop.run_in_executor(None, erase, str(uuid4()), "--authority", AUTHORITY)
    assert unknown == 2 and "no family case records" in capsys.readouterr().err
    blank = await loop.run_in_executor(None, erase, str(family.child), "--authority", " ")
    assert blank == 2 and "authority" in capsys.readouterr().err
    assert await container.database.pool.fetchval("SELECT count(*) FROM events") == 7
    args = (str(family.child), "--authority", AUTHORITY, "--ordered-by", ORDERED_BY)
    assert await loop.run_in_executor(None, erase, *args) == 0
    assert "data key is destroyed" in capsys.readouterr().out
    assert await loop.run_in_executor(None, erase, *args) == 2
    assert "already erased" in capsys.readouterr().err
    row = await container.database.pool.fetchrow(
        "SELECT actor, role, reason FROM events WHERE version = 8 AND stream_id = $1",
        family.family_id,
    )
    assert row is not None and (row["role"], row["reason"]) == ("admin", AUTHORITY)


async def test_the_importer_seals_on_the_way_in(container: Container, tmp_path: Path) -> None:
    row = (
        '13,F,Honduras,5/16/2018,5/18/2018,5/20/2018,"Phoenix, AZ  (PHO)",Homestead,'
        "Still in Care,ADMITTED,,Parent has Criminal History"
    )
    header = (
        "AGE,GENDER,COO,DATE_APPREHENDED,REFERRAL_DATE,DATE_ORR_APPROVED,REFERRING OFFICE,"
        "FACILITY_APPROVED,REUNITIED_SEP_PARENTS,UAC STATUS,Date Discharged,Reason fo Separation"
    )
    path = tmp_path / "orr.csv"
    path.write_text(f"{header}\n{row}\n", encoding="utf-8")
    await OrrImporter(container.store).run(path)
    await container.runner.catch_up()
    pool = container.database.pool
    payloads = [bytes(r["payload"]) for r in await pool.fetch("SELECT payload FROM events")]
    assert not any(b"Criminal History" in p for p in payloads)
    assert any(sealed_for(p) is not None for p in payloads)
    reason = await pool.fetchval("SELECT separation_reason_text FROM child_case")
    assert reason == "Parent has Criminal History"


async def test_the_app_role_erases_but_can_neither_delete_nor_restore_a_key(
    container: Container, settings: Settings
) -> None:
    served = await open_database(settings, bounded=True, role=settings.database_role)
    try:
        server = await Container.build(settings, served)
        family = await record_family(server.commands)
        assert await served.pool.fetchval("SELECT current_user") == settings.database_role
        await server.erasure.erase(family.child, AUTHORITY, ORDERED_BY, ADMIN)
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await served.pool.execute("DELETE FROM person_keys")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await served.pool.execute("TRUNCATE person_keys")
        with pytest.raises(asyncpg.RaiseError, match="cannot be restored"):
            await served.pool.execute(
                "UPDATE person_keys SET wrapped = '\\x00', kek_id = 'k', destroyed_at = NULL"
                " WHERE person_id = $1",
                family.child,
            )
    finally:
        await served.close()
