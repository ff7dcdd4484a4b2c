"""GraphQL under load: uvicorn serving 50 concurrent clients, four kinds of request.

(a) `{ __typename }`, the baseline that costs only HTTP, auth and GraphQL; (b) one
family's timeline of 30 events; (c) a page of 100 children with their parents and
facilities; (d) `courtReport(asOf:)` over 3,108 generated children (the ORR list's size).
Each case runs `--runs` times (median req/s, p50, p99) against one server process in the
same run, and prints the ratios (b)/(a), (c)/(a) against their targets.

Two servers are measured one after the other over the same data: the service as it is
deployed (answers to repeated read-model queries kept until the next projection batch,
schema.response_cache), which the targets judge; then with REUNITE_RESPONSE_CACHE_SIZE=0,
every request executed, to show what the cache saves.

The 50 clients are HTTP/1.1 keep-alive connections driven by one asyncio process with
httptools parsing the responses: a general-purpose client (httpx) spends more CPU per
request than the server's cheapest answer on the same two cores, so it measured itself.

    .venv/bin/python -m bench.graphql [--runs 3] [--scale 1.0]
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import timedelta
from typing import IO, Any, cast
from uuid import UUID

import httptools
import httpx
import uvloop

from bench.common import (
    T0,
    _family_events,
    bench_database,
    median,
    parse_args,
    print_table,
    verdict,
)
from domain.family import Family, Member
from domain.values import LocationOutcome, MemberRole, PersonName, Sex
from service.access.auth import Authenticator, Role
from service.application.container import Container
from service.eventstore.provenance import Provenance
from service.settings import Settings

CLIENTS = 50
SECRET = "bench-secret-long-enough-for-hs256-signatures"
WHO = Provenance(actor="bench", role="caseworker", source="bench:graphql")
CHILDREN = 3108

TIMELINE = """query($id: UUID!) { timeline(familyId: $id, first: 30) { edges { node {
  version eventType summary occurredAt recordedAt actor role source } } } }"""
PAGE = """{ children(first: 100) { edges { node { childId status ageBand
  parents { parentId name situation } facility { facilityId facilityName } } } } }"""
REPORT = """{ courtReport(asOf: "2018-07-26") { children { total under5 from5To17 }
  discharged { reunifiedWithSeparatedParent { total } otherAppropriateCircumstances { total } }
  inCare { total { total } removed { total under5 } iceCustody { total }
           criminalCustody { total } releasedInterior { total } locationUnknown { total }
           ineligible { total } waived { total } } } }"""


async def load_children(container: Container, children: int, seed: int) -> None:
    """Generated families until `children` children are recorded, 200 per transaction."""
    rng, recorded, number, batch = random.Random(seed), 0, 0, []
    while recorded < children:
        events = _family_events(rng, UUID(int=rng.getrandbits(128), version=4), number)
        number += 1
        recorded += sum(
            1 for e in events if getattr(getattr(e, "role", None), "value", "") == "child"
        )
        batch.append(events)
        if len(batch) == 200 or recorded >= children:
            await append_all(container, batch)
            batch = []


async def append_all(container: Container, families: Sequence[list[Any]]) -> None:
    async with container.database.pool.acquire() as conn, conn.transaction():
        for events in families:
            encoded = [container.store.encode(e) for e in events]
            await container.store.append(events[0].originator_id, 0, encoded, WHO, conn=conn)


async def thirty_event_family(container: Container) -> UUID:
    """A case whose timeline holds exactly 30 entries."""
    family = Family(id=UUID(int=30, version=4), occurred_at=T0, case_number="C-30", source="bench")
    parent = UUID(int=31, version=4)
    family.add_member(Member(parent, MemberRole.PARENT, PersonName("Ana"), Sex.FEMALE), T0)
    for n in range(28):
        family.attempt_location(
            parent, "phone", LocationOutcome.NOT_FOUND, "counsel", T0 + timedelta(days=n + 1)
        )
    await append_all(container, [list(family.collect_events())])
    return family.id


def start_server(
    url: str,
    port: int,
    cache_size: int | None,
    projections: bool = False,
    extra_env: dict[str, str] | None = None,
    stderr: int | IO[bytes] | None = None,
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "REUNITE_JWT_SECRET": SECRET,
        "REUNITE_RUN_PROJECTIONS": "1" if projections else "0",
        **(extra_env or {}),
    }
    if cache_size is not None:
        env["REUNITE_RESPONSE_CACHE_SIZE"] = str(cache_size)
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "service.entrypoints.app:app_from_env",
            "--port",
            str(port),
            "--no-access-log",
            "--timeout-keep-alive",  # clients reuse connections between bursts
            "60",
            "--log-level",
            "warning",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=stderr,
    )


async def wait_ready(base: str) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(600):
            try:
                if (await client.get(f"{base}/health")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise SystemExit("server did not start")


class KeepAlive(asyncio.Protocol):
    """One client's connection: send a request, await its whole response, repeat."""

    def __init__(self) -> None:
        self.parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.body: list[bytes] = []
        self.answer: asyncio.Future[tuple[int, bytes]] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        self.parser.feed_data(data)

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        assert self.answer is not None
        self.answer.set_result((self.parser.get_status_code(), b"".join(self.body)))
        self.body = []

    def connection_lost(self, exc: Exception | None) -> None:
        if self.answer is not None and not self.answer.done():
            self.answer.set_exception(ConnectionError(f"server closed the connection: {exc}"))

    async def send(self, request: bytes) -> tuple[int, bytes]:
        assert self.transport is not None
        self.answer = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        return await self.answer


def post(port: int, token: str, body: dict[str, Any]) -> bytes:
    """The raw HTTP/1.1 request every client sends."""
    data = json.dumps(body).encode()
    head = (
        f"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(data)}\r\n\r\n"
    )
    return head.encode() + data


async def hammer(
    port: int, token: str, body: dict[str, Any], each: int
) -> tuple[float, list[float]]:
    """CLIENTS clients, each sending `each` requests back to back; req/s and latencies."""
    loop = asyncio.get_running_loop()
    request = post(port, token, body)
    latencies: list[float] = []
    clients = [
        (await loop.create_connection(KeepAlive, "127.0.0.1", port))[1] for _ in range(CLIENTS)
    ]

    async def one_client(client: KeepAlive) -> None:
        for _ in range(each):
            started = time.perf_counter()
            status, answer = await client.send(request)
            latencies.append(time.perf_counter() - started)
            if status != 200 or b'"errors"' in answer:
                raise SystemExit(f"request failed: {answer[:300]!r}")

    try:
        await asyncio.gather(*(one_client(c) for c in clients[:2]))  # warm-up
        latencies.clear()
        started = time.perf_counter()
        await asyncio.gather(*(one_client(c) for c in clients))
        elapsed = time.perf_counter() - started
    finally:
        for client in clients:
            assert client.transport is not None
            client.transport.close()
    return CLIENTS * each / elapsed, latencies


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


Results = dict[str, list[tuple[float, float, float]]]
# The service as deployed (None: its default cache size), then every request executed.
SERVERS = {"response cache on (as deployed)": None, "response cache off": 0}


async def measure(
    url: str, token: str, family: UUID, runs: int, each: int, cache: int | None
) -> Results:
    """Every case `runs` times, interleaved, against one fresh server process."""
    port = 18000 + random.randint(0, 999)
    server = start_server(url, port, cache)
    try:
        await wait_ready(f"http://127.0.0.1:{port}")
        cases: dict[str, dict[str, Any]] = {
            "(a) { __typename }": {"query": "{ __typename }"},
            "(b) timeline, 30 events": {"query": TIMELINE, "variables": {"id": str(family)}},
            "(c) 100 children + parents + facility": {"query": PAGE},
            "(d) courtReport(asOf)": {"query": REPORT},
        }
        results: Results = {k: [] for k in cases}
        for _ in range(runs):
            for name, body in cases.items():  # interleaved, so noise hits all alike
                print(f"  {name} ...", flush=True)
                rps, lat = await hammer(port, token, body, each)
                results[name].append((rps, percentile(lat, 50), percentile(lat, 99)))
        return results
    finally:
        server.terminate()
        server.wait(timeout=30)


async def main() -> None:
    args = parse_args(__doc__ or "", None)
    each = max(4, int(40 * args.scale))
    async with bench_database(args.wipe) as db:
        container = await Container.build(Settings(database_url=db.url), db)
        await load_children(container, max(100, int(CHILDREN * args.scale)), args.seed)
        family = await thirty_event_family(container)
        await container.runner.catch_up()
        token = Authenticator(Settings(jwt_secret=SECRET)).mint("bench", Role.CASEWORKER)
        measured = {}
        for label, cache in SERVERS.items():
            print(f"server: {label}", flush=True)
            measured[label] = await measure(db.url, token, family, args.runs, each, cache)
    for label, results in measured.items():
        report(label, results, args.runs, each, judged=SERVERS[label] is None)


def report(label: str, results: Results, runs: int, each: int, judged: bool) -> None:
    rows, medians = [], {}
    for name, samples in results.items():
        rps = median(s[0] for s in samples)
        medians[name[:3]] = (rps, median(s[2] for s in samples))
        rows.append(
            [
                name,
                f"{rps:,.0f}",
                f"{median(s[1] for s in samples) * 1000:.1f}",
                f"{median(s[2] for s in samples) * 1000:.1f}",
            ]
        )
    print(f"\n{label}: {CLIENTS} clients x {each} requests, median of {runs} runs")
    print_table(["request", "req/s", "p50 ms", "p99 ms"], rows)
    base = medians["(a)"][0]
    b, c = medians["(b)"][0] / base, medians["(c)"][0] / base
    p99_b = medians["(b)"][1] * 1000
    if not judged:
        print(f"(b)/(a) = {b:.2f}  (c)/(a) = {c:.2f}  p99 of (b) = {p99_b:.1f} ms  (not judged)")
        return
    print(f"(b)/(a) = {b:.2f}  target >= 0.50  {verdict(b, 0.5)}")
    print(f"(c)/(a) = {c:.2f}  target >= 0.20  {verdict(c, 0.2)}")
    print(
        f"p99 of (b) = {p99_b:.1f} ms  target < 100 ms  {'PASS' if p99_b < 100 else 'BELOW TARGET'}"
    )


if __name__ == "__main__":
    uvloop.run(main())
