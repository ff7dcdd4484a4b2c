"""Least privilege: the role the server acts as records, reads and keeps the read models,
and the database itself refuses it every change to the logs an attacker would want."""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import AsyncIterator
from uuid import uuid4

import asyncpg
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from service.access.auth import Identity, Role
from service.application.container import Container
from service.ledger.checkpoints import CheckpointTaker
from service.ledger.keys import Signer
from service.postgres.database import Database, open_database
from service.postgres.migrate import load_migrations
from service.settings import Settings
from tests.scenarios.database import with_database
from tests.scenarios.family import open_separated_family

pytestmark = pytest.mark.integration

APP_ROLE = "reunite_app"
LOGS = ("events", "access_log")
FORGED_READ = """
INSERT INTO access_log (id, subject, role, operation, family_ids, prev_hash, hash)
VALUES (1000000000, 'mallory', 'caseworker', 'query family', ARRAY[$1::uuid], $2, $2)
RETURNING id, read_at, prev_hash, hash, statement_timestamp() AS started,
          clock_timestamp() AS now
"""


@pytest.fixture(scope="module")
async def served(settings: Settings) -> AsyncIterator[Database]:
    """The database as the server opens it: migrated by the owner, its pool the app role's."""
    database = await open_database(settings, bounded=True, role=settings.database_role)
    yield database
    await database.close()


@pytest.fixture
async def server(container: Container, settings: Settings, served: Database) -> Container:
    """The server's parts over the app role's pool, on the emptied database."""
    return await Container.build(settings, served)


def test_the_server_acts_as_the_app_role_unless_told_to_run_as_the_owner() -> None:
    assert Settings().database_role == APP_ROLE
    assert Settings.from_env({}).database_role == APP_ROLE
    assert Settings.from_env({"REUNITE_DATABASE_ROLE": ""}).database_role is None
    assert Settings.from_env({"REUNITE_DATABASE_ROLE": "auditor_app"}).database_role == (
        "auditor_app"
    )


async def test_the_app_role_owns_nothing_and_cannot_reset_itself_to_the_owner(
    served: Database,
) -> None:
    async with served.pool.acquire() as conn:
        await conn.execute("RESET ROLE")
        await conn.execute("RESET ALL")
        assert await conn.fetchval("SELECT current_user") == APP_ROLE
        owned = await conn.fetchval(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 'public' AND pg_get_userbyid(c.relowner) = $1",
            APP_ROLE,
        )
        assert owned == 0


async def test_a_family_is_recorded_projected_read_and_checkpointed_as_the_app_role(
    server: Container,
) -> None:
    family_id, _, _, result = await open_separated_family(server.commands)
    await server.runner.catch_up()
    pool = server.database.pool
    assert (
        await pool.fetchval("SELECT status FROM family_summary WHERE family_id = $1", family_id)
        == "separated"
    )
    await server.access_log.record(Identity("ana", Role.CASEWORKER), "family", [family_id])
    assert await pool.fetchval("SELECT count(*) FROM access_log") == 1
    signer = Signer.from_private_key(Ed25519PrivateKey.generate())
    checkpoint = await CheckpointTaker(pool, signer).take()
    assert checkpoint is not None and checkpoint.head_position == result.last_position


@pytest.mark.parametrize("table", LOGS)
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE {} SET role = 'admin'",
        "DELETE FROM {}",
        "TRUNCATE {}",
    ],
)
async def test_the_app_role_may_not_change_or_empty_a_log(
    server: Container, statement: str, table: str
) -> None:
    await open_separated_family(server.commands)
    await server.access_log.record(Identity("ana", Role.CASEWORKER), "family", [uuid4()])
    # Refused by privileges, not only by the append-only triggers a superuser can bypass.
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="permission denied for table"):
        await server.database.pool.execute(statement.format(table))


@pytest.mark.parametrize(
    "statement",
    [
        "ALTER TABLE events DISABLE TRIGGER events_append_only",
        "ALTER TABLE access_log ALTER COLUMN read_at DROP DEFAULT",
        "DROP TRIGGER access_log_stamp ON access_log",
    ],
)
async def test_the_app_role_may_not_alter_the_logs(served: Database, statement: str) -> None:
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="must be owner"):
        await served.pool.execute(statement)


async def test_the_app_role_may_not_switch_off_triggers_for_its_session(served: Database) -> None:
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="session_replication_role"):
        await served.pool.execute("SET session_replication_role = replica")


@pytest.mark.parametrize(
    "column, value",
    [("position", "1000000"), ("recorded_at", "'2018-01-01'"), ("transaction_id", "'1'")],
)
async def test_the_app_role_may_not_choose_what_the_database_assigns_an_event(
    served: Database, column: str, value: str
) -> None:
    statement = (
        f"INSERT INTO events (stream_id, version, topic, payload, actor, role, source, hash, "
        f"{column}) OVERRIDING SYSTEM VALUE VALUES (gen_random_uuid(), 1, 't', '', 'a', 'r', "
        f"'s', '\\x00', {value})"
    )
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="permission denied"):
        await served.pool.execute(statement)


async def test_the_app_role_sees_who_holds_back_the_log_but_not_what_others_run(
    served: Database,
) -> None:
    await served.pool.fetch("SELECT * FROM horizon_holder()")  # lent to it: allowed
    others = await served.pool.fetchval(
        "SELECT count(*) FROM pg_stat_activity WHERE query IS NOT NULL AND pid <> pg_backend_pid()"
        " AND query NOT LIKE '<insufficient privilege>'"
    )
    assert others == 0


async def test_a_read_is_numbered_dated_and_chained_by_the_database_whatever_the_owner_says(
    container: Container,
) -> None:
    pool = container.database.pool
    first = await pool.fetchrow(FORGED_READ, uuid4(), bytes(32))
    second = await pool.fetchrow(FORGED_READ, uuid4(), bytes(32))
    assert first is not None and second is not None
    assert first["id"] < second["id"] < 1000000000
    assert first["started"] <= first["read_at"] <= first["now"]
    assert first["prev_hash"] is None and second["prev_hash"] == first["hash"] != bytes(32)


@pytest.mark.parametrize(
    "statement",
    [
        FORGED_READ,
        "INSERT INTO access_log (subject, role, operation, family_ids, hash)"
        " VALUES ('m', 'r', 'o', ARRAY[$1::uuid], '\\x00')",
        "INSERT INTO access_log (subject, role, operation, family_ids, prev_hash)"
        " SELECT 'm', 'r', 'o', ARRAY[$1::uuid], hash FROM access_log LIMIT 1",
    ],
    ids=["every column", "its hash", "its prev_hash"],
)
async def test_the_app_role_may_give_a_read_only_what_it_is(
    served: Database, statement: str
) -> None:
    args = (uuid4(), bytes(32)) if statement == FORGED_READ else (uuid4(),)
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="permission denied"):
        await served.pool.execute(statement, *args)


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE access_log_head SET hash = NULL",
        "SELECT * FROM access_log_head",
        "INSERT INTO access_log_head (last_id) VALUES (7)",
    ],
)
async def test_the_app_role_may_neither_see_nor_move_the_access_logs_head(
    served: Database, statement: str
) -> None:
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="permission denied"):
        await served.pool.execute(statement)


@pytest.fixture
async def database_before_0009(
    server_url: str, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Settings]:
    """A database of its own, migrated up to 0008, its read models built and one read logged."""
    name = f"reunite_upgrade_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(server_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    older = dataclasses.replace(settings, database_url=with_database(server_url, name))
    try:
        before = [m for m in load_migrations() if m.version <= 8]
        with monkeypatch.context() as patched:
            patched.setattr("service.postgres.migrate.load_migrations", lambda: before)
            database = await open_database(older)
            try:
                await Container.build(older, database)
                # As the writer before 0011 did: a row for each family read.
                await database.pool.execute(
                    "INSERT INTO access_log (subject, role, operation, family_id)"
                    " VALUES ('ana', 'auditor', 'f', $1)",
                    uuid4(),
                )
            finally:
                await database.close()
        yield older
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def test_after_the_upgrade_the_app_role_keeps_the_read_models_and_numbers_reads_on(
    database_before_0009: Settings,
) -> None:
    database = await open_database(database_before_0009, role=APP_ROLE)
    try:
        server = await Container.build(database_before_0009, database)
        family_id, *_ = await open_separated_family(server.commands)
        await server.runner.catch_up()
        await server.access_log.record(Identity("ana", Role.AUDITOR), "family", [family_id])
        assert await database.pool.fetchval("SELECT count(*) FROM timeline") == 6
        assert [r["id"] for r in await database.pool.fetch("SELECT id FROM access_log")] == [1, 2]
    finally:
        await database.close()


@pytest.mark.parametrize(
    "statement",
    [
        "DELETE FROM {}",
        "UPDATE {} SET subject = 'mallory'",
        "ALTER TABLE access_log DETACH PARTITION {}",
        "DROP TABLE {}",
        "DELETE FROM access_log_archives",
    ],
)
async def test_the_app_role_may_neither_change_a_month_nor_take_it_out_of_the_log(
    served: Database, statement: str
) -> None:
    month = await served.pool.fetchval(
        "SELECT format('access_log_%s', to_char(now() AT TIME ZONE 'UTC', 'YYYY_MM'))"
    )
    await served.pool.execute("SELECT reunite_access_log_months(2)")  # lent: allowed
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await served.pool.execute(statement.format(month))
