"""A fleet of `reunite project` processes: one owner per projection, a standby takes over.

Three projector processes over a PostgreSQL this test owns (never the shared one), families
written all the while; the owner is killed with SIGKILL, and a standby must take its
projections over within a couple of claim polls and resume from the checkpoint, so every
event is applied exactly once. Then the new owner gets SIGTERM: it releases at once."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import pytest
import websockets

from service.application.container import Container
from service.postgres.database import open_database
from service.settings import Settings
from tests.faults.postgres import OwnPostgres
from tests.faults.service import BEARER, KEK, LIMITS, Service, post, subscribe_message, until_done
from tests.scenarios.family import open_separated_family
from tests.scenarios.graphql import OPEN, SECRET, WHEN, free_port

pytestmark = pytest.mark.faults

PROJECTORS = 3
WRITERS = 2
PROJECTIONS = ("cases", "timeline")
# Who holds a projection's ownership lock (projections/ownership.py), by application_name.
OWNER = """
SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
 WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
   AND ((l.classid::bigint << 32) | l.objid::bigint)
       = hashtext('reunite.projection.owner:' || $1)::bigint
"""


@pytest.fixture
async def postgres() -> AsyncIterator[OwnPostgres]:
    root = Path(tempfile.mkdtemp(prefix="reunite-fleet-"))
    server = OwnPostgres(root / "pg")
    await server.init()
    try:
        yield server
    finally:
        await server.close()
        shutil.rmtree(root, ignore_errors=True)


class Projector:
    """One `reunite project` process, named in its database sessions."""

    def __init__(self, url: str, name: str, log: Path) -> None:
        self.name = name
        self.log = log
        env = {**os.environ, **LIMITS, "DATABASE_URL": f"{url}?application_name={name}"}
        env["REUNITE_CLAIM_POLL"] = "1"
        with open(log, "ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "service.entrypoints.cli", "project"],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )


async def standing_by(projector: Projector, within: float = 30.0) -> None:
    """Wait until the projector has started (and so stands by, or runs projections)."""
    began = time.monotonic()
    while b"projecting; standing by" not in projector.log.read_bytes():
        assert projector.process.poll() is None, projector.log.read_text()[-3000:]
        assert time.monotonic() - began < within, "the projector did not start"
        await asyncio.sleep(0.05)


async def owners(conn: asyncpg.Connection) -> dict[str, str | None]:
    return {name: await conn.fetchval(OWNER, name) for name in PROJECTIONS}


async def until_owned(
    conn: asyncpg.Connection, not_by: str | None = None, within: float = 30.0
) -> tuple[dict[str, str | None], float]:
    """Wait until every projection has an owner (other than `not_by`); how long it took."""
    began = time.monotonic()
    while True:
        held = await owners(conn)
        if all(o is not None and o != not_by for o in held.values()):
            return held, time.monotonic() - began
        assert time.monotonic() - began < within, held
        await asyncio.sleep(0.02)


async def test_a_standby_projector_takes_over_from_a_killed_owner(
    postgres: OwnPostgres, tmp_path: Path
) -> None:
    projectors = {
        f"projector-{i}": Projector(postgres.url, f"projector-{i}", tmp_path / f"p{i}.log")
        for i in range(PROJECTORS)
    }
    watch = await asyncpg.connect(postgres.url)
    database = None
    try:
        held, _ = await until_owned(watch)
        database = await open_database(dataclasses.replace(Settings(), database_url=postgres.url))
        container = await Container.build(
            Settings(database_url=postgres.url, kek_file=KEK), database
        )
        stop_writing = asyncio.Event()

        async def write() -> int:
            n = 0
            while not stop_writing.is_set():
                await open_separated_family(container.commands)
                n += 1
            return n

        writers = [asyncio.create_task(write()) for _ in range(WRITERS)]
        await asyncio.sleep(2.0)  # under load: batches under way when the owner dies
        victim = held["cases"]
        assert victim is not None
        projectors[victim].process.send_signal(signal.SIGKILL)
        projectors[victim].process.wait(10)
        after_kill, took = await until_owned(watch, not_by=victim)
        print(f"\ntakeover after kill -9 of {victim}: {took:.3f} s -> {after_kill}")
        assert took < 3.0, took  # within a claim poll (1 s) or two
        await asyncio.sleep(2.0)  # the new owner applies under load
        stop_writing.set()
        written = sum(await asyncio.gather(*writers))
        assert written > 0

        # A graceful stop releases at once: the last standby takes over within a poll.
        heir = after_kill["cases"]
        assert heir is not None
        began = time.monotonic()
        projectors[heir].process.send_signal(signal.SIGTERM)
        assert projectors[heir].process.wait(20) == 0
        after_term, _ = await until_owned(watch, not_by=heir)
        handover = time.monotonic() - began
        print(f"handover after SIGTERM of {heir}: {handover:.3f} s -> {after_term}")
        assert handover < 3.0, handover

        head = await container.store.committed_head()
        assert await container.runner.wait_for(head.position, within=60)
        # Exactly once: every event in the timeline once, each checkpoint counted each once.
        events = await watch.fetchval("SELECT count(*) FROM events")
        assert await watch.fetchval("SELECT count(*) FROM timeline") == events
        assert await watch.fetchval("SELECT count(DISTINCT position) FROM timeline") == events
        rows = await watch.fetch("SELECT name, events_applied FROM projection_checkpoints")
        applied = {r["name"]: r["events_applied"] for r in rows}
        assert applied == dict.fromkeys(PROJECTIONS, events)
        families = await watch.fetchval("SELECT count(DISTINCT stream_id) FROM events")
        assert families == written
        assert await watch.fetchval("SELECT count(*) FROM family_summary") == families
        assert await watch.fetchval("SELECT count(*) FROM parked_events") == 0
        print(f"{events} events of {families} families, each applied once")
    finally:
        if database is not None:
            await database.close()
        await watch.close()
        for projector in projectors.values():
            if projector.process.poll() is None:
                projector.process.terminate()
                try:
                    projector.process.wait(20)
                except subprocess.TimeoutExpired:
                    projector.process.kill()
                    projector.process.wait(10)


EVENTS = """subscription($id: UUID!) { familyEvents(familyId: $id, afterVersion: 1) { version } }"""
FRESH_FAMILY = """query($id: UUID!, $pos: Int) { family(id: $id, minPosition: $pos) { id } }"""


async def test_sigterm_drains_requests_closes_websockets_going_away_and_hands_over(
    postgres: OwnPostgres, tmp_path: Path
) -> None:
    """`reunite serve` told to stop: the websocket is closed with 1001, the request under
    way is answered, the process exits 0, and a standby projector takes over at once."""
    service = Service(f"{postgres.url}?application_name=api", tmp_path / "serve.log")
    await service.start()
    watch = await asyncpg.connect(postgres.url)
    projector = None
    try:
        held, _ = await until_owned(watch)
        assert set(held.values()) == {"api"}
        projector = Projector(postgres.url, "standby", tmp_path / "standby.log")
        async with httpx.AsyncClient(base_url=service.base, timeout=30) as http:
            opened = await until_done(
                http, OPEN, input={"caseNumber": "C-1", "occurredAt": WHEN, "source": "intake"}
            )
            family = opened["familyId"]
            ws_url = service.base.replace("http", "ws") + "/graphql"
            async with websockets.connect(ws_url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
                await ws.send(
                    json.dumps({"type": "connection_init", "payload": {"authorization": BEARER}})
                )
                assert json.loads(await ws.recv())["type"] == "connection_ack"
                await ws.send(subscribe_message(EVENTS, id=family))
                await standing_by(projector)
                assert set((await owners(watch)).values()) == {"api"}
                # A request under way: it waits (up to the freshness timeout) for a family
                # the cases projection cannot apply yet (this test holds its batch's turn).
                blocker = await asyncpg.connect(postgres.url)
                turn = blocker.transaction()
                await turn.start()
                await blocker.execute(
                    "SELECT pg_advisory_xact_lock(hashtext('reunite.projection:' || 'cases'))"
                )
                opened = await until_done(
                    http, OPEN, input={"caseNumber": "C-9", "occurredAt": WHEN, "source": "intake"}
                )
                later = opened["familyId"]
                head = await watch.fetchval("SELECT max(position) FROM events")
                waiting = asyncio.create_task(post(http, FRESH_FAMILY, id=later, pos=head))
                await asyncio.sleep(0.3)
                began = time.monotonic()
                assert service.process is not None
                service.process.send_signal(signal.SIGTERM)
                with pytest.raises(websockets.ConnectionClosed) as closed:
                    while True:
                        await asyncio.wait_for(ws.recv(), 10)
                assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001
                answered = await waiting  # answered, not cut off
                assert answered["errors"][0]["extensions"]["code"] == "NOT_FRESH", answered
                await turn.rollback()  # the batch under way may finish now, and the process end
                await blocker.close()
                # uvicorn ends by the signal it handled, once its shutdown has completed.
                code = await asyncio.to_thread(service.process.wait, 30)
                assert code in (0, -signal.SIGTERM), code
                assert b"Application shutdown complete" in service.log.read_bytes()
                exited = time.monotonic() - began
                after, _ = await until_owned(watch, not_by="api", within=10)
                handover = time.monotonic() - began
                assert set(after.values()) == {"standby"}
                print(f"\nSIGTERM: exited after {exited:.3f} s, standby owned at {handover:.3f} s")
                assert handover - exited < 1.0  # released at exit, claimed on the notice
    finally:
        await watch.close()
        service.stop()
        if projector is not None and projector.process.poll() is None:
            projector.process.terminate()
            projector.process.wait(20)


def spawn_workers(
    env: dict[str, str], port: int, workers: int, log: Path
) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "service.entrypoints.cli", "serve", "--workers", str(workers)]
    with open(log, "ab") as out:
        return subprocess.Popen(
            [*command, "--port", str(port)], env=env, stdout=out, stderr=subprocess.STDOUT
        )


async def test_api_workers_serve_and_a_projector_projects(
    postgres: OwnPostgres, tmp_path: Path
) -> None:
    """`serve --workers 2` answers but never projects; `reunite project` beside it does, so
    a write is read back (minPosition) through the workers; /metrics says who runs what."""
    port = free_port()
    env = {**os.environ, **LIMITS, "DATABASE_URL": f"{postgres.url}?application_name=api"}
    env |= {"REUNITE_JWT_SECRET": SECRET, "REUNITE_METRICS_TOKEN": "scrape"}
    api = spawn_workers(env, port, 2, tmp_path / "api.log")
    projector = None
    watch = await asyncpg.connect(postgres.url)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            for _ in range(600):
                assert api.poll() is None, (tmp_path / "api.log").read_text()[-3000:]
                with contextlib.suppress(httpx.TransportError):
                    if (await http.get("/readyz")).status_code == 200:
                        break
                await asyncio.sleep(0.05)
            projector = Projector(postgres.url, "projector", tmp_path / "projector.log")
            held, _ = await until_owned(watch)
            assert set(held.values()) == {"projector"}  # never an API worker
            opened = await until_done(
                http, OPEN, input={"caseNumber": "C-1", "occurredAt": WHEN, "source": "intake"}
            )
            read = await post(http, FRESH_FAMILY, id=opened["familyId"], pos=opened["position"])
            assert read["data"]["family"] is not None, read
            scraped = await http.get("/metrics", headers={"Authorization": "Bearer scrape"})
            assert scraped.status_code == 200
            assert 'reunite_projection_owned{projection="cases"} 0.0' in scraped.text
            assert (await http.get("/metrics")).status_code == 401
    finally:
        await watch.close()
        api.terminate()
        api.wait(30)
        if projector is not None:
            projector.process.terminate()
            projector.process.wait(30)
