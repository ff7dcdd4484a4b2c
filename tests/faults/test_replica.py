"""A read replica: read-model queries go to it, writes to the primary, and minPosition waits
for the replica too, so read-your-writes holds across it.

A primary and a real streaming replica of it (pg_basebackup -R from the embedded server's
binaries), each in a temporary directory on its own port, never the shared server; then
`reunite serve` with REUNITE_REPLICA_URL. Replay is paused on the replica to make it lag."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from tests.faults.postgres import OwnPostgres
from tests.faults.service import LIMITS, post, serving, until_done
from tests.scenarios.graphql import OPEN, WHEN

pytestmark = pytest.mark.faults

READ = """query($id: UUID!, $at: Int) {
  family(id: $id, minPosition: $at) { familyId version } }"""
FRESHNESS = float(LIMITS["REUNITE_FRESHNESS_TIMEOUT"])
# The server's own sessions on a server (this test's are the `postgres` user's too).
SESSIONS = """
SELECT count(*) FROM pg_stat_activity
 WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() AND datname = 'postgres'
"""


@pytest.fixture
async def servers() -> AsyncIterator[tuple[OwnPostgres, OwnPostgres]]:
    root = Path(tempfile.mkdtemp(prefix="reunite-replica-"))
    primary = OwnPostgres(root / "primary")
    replica = OwnPostgres(root / "replica")
    try:
        await primary.init()
        await replica.replicate(primary)
        yield primary, replica
    finally:
        await replica.close()
        await primary.close()
        shutil.rmtree(root, ignore_errors=True)


async def open_case(http: httpx.AsyncClient, number: str) -> dict[str, Any]:
    case = {"caseNumber": number, "occurredAt": WHEN, "source": "intake"}
    return await until_done(http, OPEN, input=case, key=f"open-{number}")


async def projected(primary: asyncpg.Connection, family: str, within: float = 10.0) -> None:
    """Wait until the primary's read models hold the family."""
    deadline = time.monotonic() + within
    query = "SELECT EXISTS (SELECT FROM family_summary WHERE family_id = $1::uuid)"
    while not await primary.fetchval(query, family):
        assert time.monotonic() < deadline, "the projections did not apply the family"
        await asyncio.sleep(0.05)


async def test_reads_go_to_the_replica_and_read_your_writes_hold(
    servers: tuple[OwnPostgres, OwnPostgres], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    primary, replica = servers
    monkeypatch.setenv("REUNITE_REPLICA_URL", replica.url)
    standby = await asyncpg.connect(replica.url)
    origin = await asyncpg.connect(primary.url)
    try:
        assert await standby.fetchval("SELECT pg_is_in_recovery()")
        async with (
            serving(primary.url, tmp_path / "serve.log") as service,
            httpx.AsyncClient(base_url=service.base, timeout=30) as http,
        ):
            # The server keeps a pool on the replica (it connected once it had replayed the
            # migrations, role included).
            assert await standby.fetchval(SESSIONS) >= 1

            # Read-your-writes through the replica: each write read back at once.
            delays = []
            for i in range(5):
                opened = await open_case(http, f"R-{i}")
                started = time.monotonic()
                body = await post(http, READ, id=opened["familyId"], at=opened["position"])
                delays.append(time.monotonic() - started)
                assert "errors" not in body, body
                assert body["data"]["family"]["version"] == opened["version"]

            # The replica lags: replay paused. A write still succeeds (on the primary; the
            # replica is read-only), and the primary's read models apply it.
            await standby.execute("SELECT pg_wal_replay_pause()")
            lagging = await open_case(http, "R-lag")
            family = lagging["familyId"]
            await projected(origin, family)

            # A read without minPosition answers from the replica, which has not replayed
            # the family yet: no such family there, though the primary has it.
            body = await post(http, READ, id=family, at=None)
            assert body == {"data": {"family": None}}, body

            # With minPosition it waits for the replica, then answers NOT_FRESH.
            started = time.monotonic()
            body = await post(http, READ, id=family, at=lagging["position"])
            waited = time.monotonic() - started
            assert body["data"] is None or body["data"]["family"] is None, body
            assert [e["extensions"]["code"] for e in body["errors"]] == ["NOT_FRESH"], body
            assert FRESHNESS - 0.1 <= waited < FRESHNESS + 2.0, waited

            # Replay resumes: the same read waits no longer than the replica needs.
            await standby.execute("SELECT pg_wal_replay_resume()")
            started = time.monotonic()
            body = await post(http, READ, id=family, at=lagging["position"])
            resumed = time.monotonic() - started
            assert "errors" not in body, body
            assert body["data"]["family"] == {"familyId": family, "version": lagging["version"]}
            print(
                f"\nread-your-write through the replica: {min(delays) * 1000:.0f}-"
                f"{max(delays) * 1000:.0f} ms; replay paused: NOT_FRESH after {waited:.2f} s;"
                f" resumed: answered in {resumed * 1000:.0f} ms"
            )

            # Every event was written once, on the primary, and replicated as it was.
            count = "SELECT count(*), count(DISTINCT stream_id) FROM events"
            written = tuple(await origin.fetchrow(count) or ())
            assert written[1] == 6
            assert tuple(await standby.fetchrow(count) or ()) == written
    finally:
        await standby.close()
        await origin.close()
