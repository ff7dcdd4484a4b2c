"""The service heals itself: PostgreSQL restarted, frozen, or the service killed mid-write.

Each test starts its own PostgreSQL (never the shared one) and `reunite serve` over it."""

from __future__ import annotations

import asyncio
import json
import shutil
import statistics
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from tests.faults.postgres import OwnPostgres
from tests.faults.service import (
    BEARER,
    Service,
    keys_written,
    post,
    retryable,
    serving,
    subscribe_message,
    until_done,
    versions_by_family,
)
from tests.scenarios.graphql import ADD_KEYED, FAMILY, OPEN, WHEN

pytestmark = pytest.mark.faults

WRITERS = 4
EVENTS = """subscription($id: UUID!) { familyEvents(familyId: $id, afterVersion: 1) { version } }"""


@pytest.fixture
async def postgres() -> AsyncIterator[OwnPostgres]:
    # Not under pytest's tmp_path: a pytest session starting meanwhile makes its base
    # directory 0700 again, and the server runs as another user that must reach its data.
    root = Path(tempfile.mkdtemp(prefix="reunite-faults-"))
    server = OwnPostgres(root / "pg")
    await server.init()
    try:
        yield server
    finally:
        await server.close()
        shutil.rmtree(root, ignore_errors=True)


def member(family_id: str, n: int) -> dict[str, Any]:
    return {
        "familyId": family_id,
        "role": "CHILD",
        "sex": "MALE",
        "name": f"Child {n}",
        "occurredAt": WHEN,
    }


async def open_families(http: httpx.AsyncClient, count: int) -> list[str]:
    opened = [
        await until_done(
            http,
            OPEN,
            input={"caseNumber": f"C-{i}", "occurredAt": WHEN, "source": "intake"},
            key=f"open-{i}",
        )
        for i in range(count)
    ]
    return [o["familyId"] for o in opened]


async def write(http: httpx.AsyncClient, family_id: str, writer: int, stop: asyncio.Event) -> int:
    """Keyed members added until told to stop, each retried until answered; how many."""
    n = 0
    while not stop.is_set():
        await until_done(http, ADD_KEYED, input=member(family_id, n), key=f"w{writer}-{n}")
        n += 1
    return n


async def receive(ws: Any, delivered: list[int]) -> None:
    """Each version the subscription delivers, as it comes (so the socket keeps reading)."""
    async for raw in ws:
        message = json.loads(raw)
        assert message["type"] == "next", message
        delivered.append(message["payload"]["data"]["familyEvents"]["version"])


async def read_your_write(http: httpx.AsyncClient, family_id: str, key: str) -> float:
    """A write, then the read that waits for it; the read's time in seconds."""
    written = await until_done(http, ADD_KEYED, input=member(family_id, -1), key=key)
    began = time.perf_counter()
    body = await post(http, FAMILY, id=family_id, pos=written["position"])
    took = time.perf_counter() - began
    if "errors" in body:  # not yet: as slow as it was, or slower
        assert retryable(body) or body["errors"][0]["extensions"]["code"] == "NOT_FRESH", body
        return max(took, 1.0)
    return took


async def test_a_restart_loses_nothing_and_open_subscriptions_go_on(
    postgres: OwnPostgres, tmp_path: Path
) -> None:
    async with (
        serving(postgres.url, tmp_path / "service.log") as service,
        httpx.AsyncClient(base_url=service.base, timeout=30) as http,
    ):
        *families, reader = await open_families(http, WRITERS + 1)
        ws_url = service.base.replace("http", "ws") + "/graphql"
        async with websockets.connect(ws_url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
            await ws.send(
                json.dumps({"type": "connection_init", "payload": {"authorization": BEARER}})
            )
            assert json.loads(await ws.recv())["type"] == "connection_ack"
            await ws.send(subscribe_message(EVENTS, id=families[0]))
            delivered: list[int] = []
            receiving = asyncio.create_task(receive(ws, delivered))
            stop = asyncio.Event()
            writers = [asyncio.create_task(write(http, f, w, stop)) for w, f in enumerate(families)]
            await asyncio.sleep(1.0)
            down = await postgres.restart()
            back = time.monotonic()
            await asyncio.sleep(1.0)
            stop.set()
            written = await asyncio.gather(*writers)
            # Read-your-writes, timed from the database's return.
            samples = [
                (time.monotonic() - back, await read_your_write(http, reader, f"ryw-{i}"))
                for i in range(40)
            ]

            # The subscription delivers every event of its family once, in order.
            for _ in range(300):
                if len(delivered) >= written[0] or receiving.done():
                    break
                await asyncio.sleep(0.05)
            receiving.cancel()
            assert delivered == list(range(2, written[0] + 2))

        # Read-your-writes is fast again within five seconds of the database's return.
        fast_from = next(
            at
            for k, (at, _) in enumerate(samples)
            if statistics.median(t for _, t in samples[k : k + 10]) < 0.1
        )
        print(f"PostgreSQL down {down:.2f} s; read-your-writes fast {fast_from:.2f} s after")
        assert fast_from < 5.0

    versions = await versions_by_family(postgres.url)
    for family_id, count in [*zip(families, written, strict=True), (reader, 40)]:
        assert versions[family_id] == list(range(1, count + 2))
    keys = await keys_written(postgres.url)
    assert len(keys) == len(set(keys)) == WRITERS + 1 + sum(written) + 40


async def test_a_frozen_database_gets_retryable_answers_in_time_then_serves_again(
    postgres: OwnPostgres, tmp_path: Path
) -> None:
    async with (
        serving(postgres.url, tmp_path / "service.log") as service,
        httpx.AsyncClient(base_url=service.base, timeout=30) as http,
    ):
        (family_id,) = await open_families(http, 1)
        postgres.freeze()
        try:
            began = time.monotonic()
            read, wrote, fresh, ready, live = await asyncio.gather(
                post(http, FAMILY, id=family_id, pos=None),
                post(http, ADD_KEYED, input=member(family_id, 1), key="frozen-1"),
                post(http, FAMILY, id=family_id, pos=10**9),
                http.get("/readyz"),
                http.get("/livez"),
            )
            took = time.monotonic() - began
        finally:
            postgres.thaw()
        thawed = time.monotonic()
        # Statement timeout 1 s (+2 s the client's grace), acquire 1 s, freshness 2 s.
        assert took < 6.0, took
        assert retryable(read), read
        assert retryable(wrote), wrote
        assert "same idempotency key" in wrote["errors"][0]["message"]
        codes = {e["extensions"]["code"] for e in fresh["errors"]}
        assert codes <= {"NOT_FRESH", "DATABASE_UNAVAILABLE"}, fresh
        assert ready.status_code == 503 and ready.json()["status"] == "unavailable"
        assert live.status_code == 200

        while (await http.get("/readyz")).status_code != 200:
            assert time.monotonic() - thawed < 10
            await asyncio.sleep(0.05)
        ready_after = time.monotonic() - thawed
        await until_done(http, ADD_KEYED, input=member(family_id, 1), key="frozen-1", within=10)
        served_after = time.monotonic() - thawed
        print(f"frozen answers in {took:.2f} s; ready {ready_after:.2f} s after SIGCONT,")
        print(f"the retried write served {served_after:.2f} s after")
    assert (await versions_by_family(postgres.url))[family_id] == [1, 2]


async def test_killing_the_service_under_keyed_writers_loses_and_repeats_nothing(
    postgres: OwnPostgres, tmp_path: Path
) -> None:
    service = Service(postgres.url, tmp_path / "service.log")
    await service.start()
    try:
        async with httpx.AsyncClient(base_url=service.base, timeout=30) as http:
            families = await open_families(http, WRITERS)
            stop = asyncio.Event()
            writers = [asyncio.create_task(write(http, f, w, stop)) for w, f in enumerate(families)]
            await asyncio.sleep(1.0)
            service.kill()  # kill -9: answers in flight are lost; their writers retry
            killed = time.monotonic()
            await service.start()
            restarted = time.monotonic() - killed
            await asyncio.sleep(0.5)
            stop.set()
            written = await asyncio.gather(*writers)
    finally:
        service.stop()
    print(f"service killed under {WRITERS} writers; serving again {restarted:.2f} s later")
    versions = await versions_by_family(postgres.url)
    for family_id, count in zip(families, written, strict=True):
        assert versions[family_id] == list(range(1, count + 2))
    keys = await keys_written(postgres.url)
    assert len(keys) == len(set(keys)) == WRITERS + sum(written)


async def test_serve_waits_for_a_database_that_is_not_up_yet(
    postgres: OwnPostgres, tmp_path: Path
) -> None:
    await postgres.stop()
    log = tmp_path / "service.log"
    service = Service(postgres.url, log)
    starting = asyncio.create_task(service.start())
    try:
        # However slowly the process starts, it has tried and said so before the database
        # comes up.
        for _ in range(300):
            if log.exists() and "database not reachable yet" in log.read_text():
                break
            await asyncio.sleep(0.1)
        assert "database not reachable yet" in log.read_text()
        assert service.process is not None and service.process.poll() is None
        await postgres.start()
        await asyncio.wait_for(starting, 20)
    finally:
        service.stop()
