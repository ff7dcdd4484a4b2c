"""Rotating the KEK re-wraps every data key and leaves the log as it was."""

from __future__ import annotations

import asyncio
import dataclasses
import stat
from pathlib import Path

import pytest

from service.application.container import Container
from service.application.personal_data import personal_store
from service.entrypoints import cli
from service.eventstore.sealing import generate_kek_file
from service.settings import Settings
from tests.scenarios.erasure import CHILD_NAME, record_family
from tests.scenarios.family import open_separated_family

pytestmark = pytest.mark.integration

LOG = "SELECT position, payload, hash FROM events ORDER BY position"


async def names(container: Container, settings: Settings, family_id: object) -> set[str]:
    """The members' names as a process with these settings reads them from the log."""
    store = await personal_store(container.database.pool, settings)
    rows = await store.read_stream(family_id)  # type: ignore[arg-type]
    return {vars(e)["name"].value for e in map(store.decode, rows) if vars(e).get("name")}


async def test_old_and_new_keks_read_during_a_rotation_and_only_the_new_after(
    container: Container, settings: Settings, tmp_path: Path
) -> None:
    pool = container.database.pool
    before = await record_family(container.commands)  # keys wrapped by the old KEK
    new = tmp_path / "new-kek"
    generate_kek_file(new)
    rotating = dataclasses.replace(
        settings, kek_file=new, previous_kek_files=(settings.kek_file or Path(),)
    )
    # A process already on the new KEK, the old one still read: both kinds of key read.
    during = await Container.build(rotating, container.database)
    await open_separated_family(during.commands)  # its keys wrapped by the new KEK
    assert CHILD_NAME in await names(container, rotating, before.family_id)
    log = await pool.fetch(LOG)
    kinds = await pool.fetch("SELECT DISTINCT kek_id FROM person_keys")
    assert len(kinds) == 2

    assert during.store.keyring is not None
    await during.store.keyring.rotate(pool, batch=1)
    assert await pool.fetch(LOG) == log  # the log is not touched
    assert len(await pool.fetch("SELECT DISTINCT kek_id FROM person_keys")) == 1

    after = dataclasses.replace(settings, kek_file=new, previous_kek_files=())
    assert CHILD_NAME in await names(container, after, before.family_id)
    with pytest.raises(Exception, match="not configured"):
        await names(container, settings, before.family_id)  # the old KEK alone: unreadable


async def test_the_cli_makes_a_kek_and_rotates_to_it(
    container: Container,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    family = await record_family(container.commands)
    monkeypatch.setenv("DATABASE_URL", database_url)
    new = tmp_path / "next-kek"
    loop = asyncio.get_running_loop()
    assert await loop.run_in_executor(None, cli.main, ["keys", "kek", "--out", str(new)]) == 0
    assert stat.S_IMODE(new.stat().st_mode) == 0o600
    assert await loop.run_in_executor(None, cli.main, ["keys", "kek", "--out", str(new)]) == 2
    capsys.readouterr()
    assert await loop.run_in_executor(None, cli.main, ["keys", "rotate", "--to", str(new)]) == 0
    assert "re-wrapped 2 data keys" in capsys.readouterr().out
    moved = dataclasses.replace(container.settings, kek_file=new)
    assert CHILD_NAME in await names(container, moved, family.family_id)
