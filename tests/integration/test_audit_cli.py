"""The auditor's command line on a real database: keys, checkpoint, verify, export, bundle."""

from __future__ import annotations

import asyncio
import json
import os
import stat
import sys
from pathlib import Path
from uuid import uuid4

import pytest

from service.access.auth import Identity, Role
from service.application.container import Container
from service.entrypoints import audit_cli
from service.postgres.database import Database
from tests.scenarios.database import with_database
from tests.scenarios.family import open_separated_family
from tests.scenarios.ledger import (
    Cli,
    bypassing_the_guard,
    months_ago,
    reads_in_past_months,
    rewrite_with_recomputed_hashes,
)

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def keys(tmp_path: Path) -> Path:
    """A fresh key pair in a directory."""
    assert audit_cli.main(["keys", "generate", "--out", str(tmp_path / "keys")]) == 0
    return tmp_path / "keys"


@pytest.fixture
def cli(
    database_url: str,
    database: Database,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> Cli:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.delenv("REUNITE_SIGNING_KEY_FILE", raising=False)
    monkeypatch.delenv("REUNITE_VERIFY_KEY_FILE", raising=False)
    capsys.readouterr()
    return Cli(capsys, database.pool)


def signing_with(keys: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REUNITE_SIGNING_KEY_FILE", str(keys / "signing-key.pem"))


async def test_keys_are_generated_private_and_never_overwritten(tmp_path: Path, cli: Cli) -> None:
    code, out, _ = await cli("keys", "generate", "--out", str(tmp_path))
    assert code == 0 and "signing-key.pem" in out
    assert stat.S_IMODE((tmp_path / "signing-key.pem").stat().st_mode) == 0o600
    assert (tmp_path / "verify-key.pem").read_text().startswith("-----BEGIN PUBLIC KEY-----")
    before = (tmp_path / "signing-key.pem").read_bytes()

    code, _, err = await cli("keys", "generate", "--out", str(tmp_path))

    assert code == 2 and "exists; refusing to overwrite" in err
    assert (tmp_path / "signing-key.pem").read_bytes() == before


async def test_an_auditor_checkpoints_verifies_exports_and_checks_a_bundle_offline(
    container: Container,
    cli: Cli,
    keys: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    family, *_ = await open_separated_family(container.commands)
    await open_separated_family(container.commands)
    code, _, err = await cli("checkpoint")
    assert code == 2 and "REUNITE_SIGNING_KEY_FILE" in err

    signing_with(keys, monkeypatch)
    code, out, _ = await cli("checkpoint")
    assert code == 0 and out.startswith("checkpoint 1 (events 1..12, head position ")
    code, out, _ = await cli("verify")
    assert code == 0
    assert out.splitlines()[0] == "OK: 12 events, 2 streams, 0 reads, 1 checkpoints verified"
    assert out.splitlines()[1].endswith("events/s")

    bundle = tmp_path / "bundle.json"
    code, out, _ = await cli("export", str(family), "--out", str(bundle))
    assert code == 0 and "6 events, proven against checkpoint 1" in out
    public = str(keys / "verify-key.pem")
    code, out, _ = await cli("verify-bundle", str(bundle), "--public-key", public)
    assert code == 0 and out.startswith(f"OK: family {family}: 6 events, chained and included")

    data = json.loads(bundle.read_text())
    data["events"][1]["actor"] = "someone.else"
    bundle.write_text(json.dumps(data))
    code, out, _ = await cli("verify-bundle", str(bundle), "--public-key", public)
    position = data["events"][1]["position"]
    assert code == 1
    assert out == (
        f"REJECTED: event version 2 (position {position}): "
        "hash does not match the event's contents\n"
    )


async def test_export_takes_a_checkpoint_when_none_covers_the_family(
    container: Container, cli: Cli, keys: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    family, *_ = await open_separated_family(container.commands)
    code, _, err = await cli("export", str(family), "--out", str(tmp_path / "b.json"))
    assert code == 2 and "no checkpoint covers the family's last event" in err

    signing_with(keys, monkeypatch)
    code, out, _ = await cli("export", str(family), "--out", str(tmp_path / "b.json"))
    assert code == 0 and "proven against checkpoint 1 (events 1..6" in out
    code, _, err = await cli("export", str(uuid4()), "--out", str(tmp_path / "c.json"))
    assert code == 2 and "no family" in err


async def test_a_tampered_log_fails_verify_and_cannot_be_exported(
    container: Container, cli: Cli, keys: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    signing_with(keys, monkeypatch)
    family, *_ = await open_separated_family(container.commands)
    assert (await cli("checkpoint"))[0] == 0
    target = (await container.store.read_stream(family))[2]
    await bypassing_the_guard(
        container.database.pool,
        "UPDATE events SET payload = payload || '\\x00'::bytea WHERE position = $1",
        target.position,
    )

    code, out, _ = await cli("verify")
    assert code == 1
    assert out.splitlines()[0] == (
        f"BROKEN: stream {family} version 3 position {target.position}: "
        "hash does not match the event's contents"
    )
    code, _, err = await cli("export", str(family), "--out", str(tmp_path / "b.json"))
    assert code == 2 and "hash does not match" in err and "reunite verify" in err


async def test_a_bundle_is_verified_by_a_separate_process_with_no_database(
    container: Container, cli: Cli, keys: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    signing_with(keys, monkeypatch)
    family, *_ = await open_separated_family(container.commands)
    bundle = tmp_path / "bundle.json"
    assert (await cli("export", str(family), "--out", str(bundle)))[0] == 0
    other = tmp_path / "other"
    assert audit_cli.main(["keys", "generate", "--out", str(other)]) == 0

    done = await offline(str(bundle), str(keys / "verify-key.pem"))
    refused = await offline(str(bundle), str(other / "verify-key.pem"))

    assert done[0] == 0 and done[1].startswith(f"OK: family {family}: 6 events")
    assert refused[0] == 1 and "not by the given public key" in refused[1]


async def offline(bundle: str, public_key: str) -> tuple[int | None, str]:
    """`python -m service.entrypoints.audit_cli verify-bundle`, own process, no database."""
    # A server nobody listens on: the check must not need one.
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": "postgresql://x@127.0.0.1:9/x"}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "service.entrypoints.audit_cli",
        "verify-bundle",
        bundle,
        "--public-key",
        public_key,
        env=env,
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await process.communicate()
    return process.returncode, out.decode()


async def test_checkpoint_and_export_refuse_a_log_rewritten_under_a_checkpoint(
    container: Container, cli: Cli, keys: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    signing_with(keys, monkeypatch)
    family, *_ = await open_separated_family(container.commands)
    assert (await cli("checkpoint"))[0] == 0
    await rewrite_with_recomputed_hashes(container, family)
    newcomer, *_ = await open_separated_family(container.commands)

    code, out, err = await cli("checkpoint")
    assert (code, out) == (1, "")
    assert err.startswith("reunite checkpoint: refusing to sign: the log's first 6 events no ")
    code, _, err = await cli("export", str(newcomer), "--out", str(tmp_path / "b.json"))
    assert code == 2 and err.startswith("reunite export: refusing to sign: ")
    assert not (tmp_path / "b.json").exists()


async def test_a_database_error_is_said_plainly_and_is_not_a_broken_log(
    database_url: str, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", with_database(database_url, "reunite_no_such_database"))

    code, out, err = await cli("verify")

    assert (code, out) == (2, "")
    assert err == (
        'reunite verify: database error: database "reunite_no_such_database" does not exist\n'
    )


async def test_checkpoints_kept_outside_show_deleted_rows_and_a_log_rewritten_under_them(
    container: Container, cli: Cli, keys: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    signing_with(keys, monkeypatch)
    family, *_ = await open_separated_family(container.commands)
    assert (await cli("checkpoint"))[0] == 0
    await open_separated_family(container.commands)
    assert (await cli("checkpoint"))[0] == 0
    kept = tmp_path / "checkpoints.json"
    code, out, _ = await cli("checkpoints", "--out", str(kept))
    assert code == 0 and out.startswith(f"wrote {kept}: 2 signed checkpoints")
    assert (await cli("verify", "--checkpoints", str(kept)))[0] == 0

    # A forger deletes the checkpoints and rewrites a stream: the database alone agrees.
    await bypassing_the_guard(container.database.pool, "DELETE FROM checkpoints")
    await rewrite_with_recomputed_hashes(container, family)
    code, out, _ = await cli("verify")
    assert code == 0 and "0 checkpoints verified" in out
    code, out, _ = await cli("verify", "--checkpoints", str(kept))
    assert code == 1
    assert "the root of its events differs" in out


async def test_a_kept_checkpoint_missing_from_the_database_fails_verify(
    container: Container, cli: Cli, keys: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    signing_with(keys, monkeypatch)
    await open_separated_family(container.commands)
    assert (await cli("checkpoint"))[0] == 0
    kept = tmp_path / "checkpoints.json"
    assert (await cli("checkpoints", "--out", str(kept)))[0] == 0
    await bypassing_the_guard(container.database.pool, "DELETE FROM checkpoints")

    code, out, _ = await cli("verify", "--checkpoints", str(kept))
    assert code == 1 and "missing from it or differs there" in out
    (tmp_path / "bad.json").write_text('{"format": "something else"}')
    code, _, err = await cli("verify", "--checkpoints", str(tmp_path / "bad.json"))
    assert code == 2 and "not a reunite-checkpoints-v1 file" in err
    (tmp_path / "latin1.json").write_bytes(b'{"format": "caf\xe9"}')
    code, _, err = await cli("verify", "--checkpoints", str(tmp_path / "latin1.json"))
    assert code == 2 and err.startswith("reunite verify: ")


async def test_a_bundle_proves_who_read_the_family_and_refuses_an_edited_read(
    container: Container, cli: Cli, keys: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    family, *_ = await open_separated_family(container.commands)
    other, *_ = await open_separated_family(container.commands)
    log = container.access_log
    await log.record(Identity("ana.auditor", Role.AUDITOR), "query:family", [family, other])
    await log.record(Identity("carlos.counsel", Role.COUNSEL), "query:timeline", [family])
    await log.record(Identity("bea.caseworker", Role.CASEWORKER), "query:family", [other])
    # The latest checkpoint signs no reads yet: with a key, export takes one that does.
    signing_with(keys, monkeypatch)
    bundle = tmp_path / "bundle.json"
    code, out, _ = await cli("export", str(family), "--out", str(bundle))
    assert code == 0 and out.endswith("(events 1..12, head position 12); 2 reads of it\n")

    public = str(keys / "verify-key.pem")
    code, out, _ = await cli("verify-bundle", str(bundle), "--public-key", public)
    lines = out.splitlines()
    assert code == 0
    # One record an answer (migration 0011): three answers, two of them read the family.
    assert lines[0].endswith("; 2 reads of the family, included in its access log (reads 1..3)")
    assert lines[1].startswith("read ") and lines[1].endswith(
        " by ana.auditor (auditor): query:family"
    )
    assert lines[2].endswith(" by carlos.counsel (counsel): query:timeline")

    # A later read, and no key: the bundle holds the signed reads and says the rest are out.
    await log.record(Identity("dan.counsel", Role.COUNSEL), "query:family", [family])
    monkeypatch.delenv("REUNITE_SIGNING_KEY_FILE")
    code, out, _ = await cli("export", str(family), "--out", str(tmp_path / "again.json"))
    assert code == 0 and out.endswith(
        "; 2 reads of it (later ones are left out until a checkpoint covers them)\n"
    )

    data = json.loads(bundle.read_text())
    data["reads"][1]["subject"] = "nobody"
    bundle.write_text(json.dumps(data))
    code, out, _ = await cli("verify-bundle", str(bundle), "--public-key", public)
    assert (code, out) == (
        1,
        f"REJECTED: access-log row {data['reads'][1]['id']}: its hash does not match its "
        "contents\n",
    )


async def test_verify_names_an_edited_read_and_export_refuses_an_access_log_rewritten(
    container: Container, cli: Cli, keys: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    signing_with(keys, monkeypatch)
    family, *_ = await open_separated_family(container.commands)
    for _ in range(3):
        await container.access_log.record(Identity("ana", Role.AUDITOR), "query:f", [family])
    assert (await cli("checkpoint"))[0] == 0
    pool = container.database.pool
    await bypassing_the_guard(pool, "UPDATE access_log SET subject = 'nobody' WHERE id = 2")

    code, out, _ = await cli("verify")
    assert code == 1
    assert out.splitlines()[0] == (
        "BROKEN: access-log row 2: its hash does not match its contents: the row was edited"
    )
    # Rechained with a hash over the forged row: the signed root no longer holds.
    await bypassing_the_guard(pool, "UPDATE access_log SET hash = sha256(hash) WHERE id = 2")
    code, _, err = await cli("export", str(family), "--out", str(tmp_path / "b.json"))
    assert code == 2 and "reads up to its access-log head no longer have its root" in err


async def test_a_month_is_archived_searched_and_verified_from_the_command_line(
    container: Container, cli: Cli, keys: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    family = uuid4()
    old = months_ago(2)
    await reads_in_past_months(
        container.database.pool,
        [(old, "ana.auditor", [family]), (old, "carlos.counsel", [uuid4()])],
    )
    await open_separated_family(container.commands)
    signing_with(keys, monkeypatch)
    assert (await cli("checkpoint"))[0] == 0
    out = tmp_path / "{month}.json.gz"
    code, text, err = await cli(
        "access-log", "archive", "--before", f"{old:%Y-%m}", "--out", str(out)
    )
    assert code == 0 and "no access-log month before" in text, err
    # By the retention setting: this month and the last stay.
    monkeypatch.setenv("REUNITE_ACCESS_LOG_HOT_MONTHS", "2")
    code, text, err = await cli("access-log", "archive", "--out", str(out))
    archive = tmp_path / f"{old:%Y-%m}.json.gz"
    assert code == 0 and f"wrote {archive}" in text and "partition was dropped" in text, err

    public = str(keys / "verify-key.pem")
    code, text, _ = await cli("verify-bundle", str(archive), "--public-key", public)
    assert code == 0 and text.startswith(f"OK: access-log month {old:%Y-%m}: 2 reads")
    code, text, _ = await cli(
        "access-log", "search", str(archive), "--family", str(family), "--public-key", public
    )
    assert code == 0 and text.splitlines()[1].startswith("read 1 at ")
    code, text, _ = await cli("verify", "--archive", str(archive))
    assert code == 0 and f"access-log month {old:%Y-%m}: archived, digest recorded" in text
    assert f"OK: archive {archive}" in text
    archive.write_bytes(archive.read_bytes()[:-3])  # cut short
    code, text, _ = await cli("verify", "--archive", str(archive))
    assert code == 1 and f"BROKEN: archive {archive}" in text
