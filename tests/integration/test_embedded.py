"""The embedded server: one data directory reused across runs, stopped by its last user."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest

from service.postgres.embedded import EmbeddedPostgres, forget_dead_users

pytestmark = pytest.mark.integration


def dead_pid() -> int:
    finished = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    return int(finished.stdout)


async def test_data_survives_a_restart_and_the_server_stops_with_its_last_user(
    tmp_path: Path,
) -> None:
    server = EmbeddedPostgres(tmp_path)
    url = await server.start()
    conn = await asyncpg.connect(url)
    await conn.execute("CREATE TABLE kept (note text); INSERT INTO kept VALUES ('still here')")
    await conn.close()
    await server.stop()
    with pytest.raises((OSError, asyncpg.PostgresError)):
        await asyncpg.connect(url, timeout=5)

    # A run killed before it could stop the server left its pid behind.
    handles = tmp_path / "pgdata" / ".handle_pids.json"
    handles.write_text(json.dumps([dead_pid()]))
    again = EmbeddedPostgres(tmp_path)
    url = await again.start()
    conn = await asyncpg.connect(url)
    assert await conn.fetchval("SELECT note FROM kept") == "still here"
    await conn.close()
    await again.stop()
    with pytest.raises((OSError, asyncpg.PostgresError)):
        await asyncpg.connect(url, timeout=5)


def test_only_dead_users_are_forgotten(tmp_path: Path) -> None:
    handles = tmp_path / ".handle_pids.json"
    handles.write_text(json.dumps([dead_pid(), 1, dead_pid()]))
    forget_dead_users(tmp_path)
    assert json.loads(handles.read_text()) == [1]
