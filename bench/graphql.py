"""GraphQL under load: uvicorn serving 50 concurrent clients, four kinds of request.

(a) `{ __typename }`, the baseline that costs only HTTP, auth and GraphQL; (b) one
family's timeline of 30 events; (c) a page of 100 children with their parents and
facilities; (d) `courtReport(asOf:)` over 3,108 generated children (the ORR list's size).
Each case runs `--runs` times (median req/s, p50, p99) against one server process in the
same run, and prints the ratios (b)/(a), (c)/(a) against their targets.

    .venv/bin/python -m bench.graphql [--runs 3] [--scale 1.0] [--requests 40]
"""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import timedelta
from typing import Any
from uuid import UUID

import httpx

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
from service.auth import Authenticator, Role
from service.container import Container
from service.provenance import Provenance
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


def start_server(url: str, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "REUNITE_JWT_SECRET": SECRET,
        "REUNITE_RUN_PROJECTIONS": "0",
    }
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "service.app:app_from_env",
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


async def hammer(
    base: str, token: str, body: dict[str, Any], each: int
) -> tuple[float, list[float]]:
    """CLIENTS clients, each sending `each` requests back to back; req/s and latencies."""
    latencies: list[float] = []
    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as client:

        async def one_client() -> None:
            for _ in range(each):
                started = time.perf_counter()
                response = await client.post("/graphql", json=body, headers=headers)
                latencies.append(time.perf_counter() - started)
                if response.status_code != 200 or "errors" in response.json():
                    raise SystemExit(f"request failed: {response.text[:300]}")

        await asyncio.gather(*(one_client() for _ in range(2)))  # warm-up
        latencies.clear()
        started = time.perf_counter()
        await asyncio.gather(*(one_client() for _ in range(CLIENTS)))
        elapsed = time.perf_counter() - started
    return CLIENTS * each / elapsed, latencies


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


async def main() -> None:
    args = parse_args(__doc__ or "", None)
    each = max(4, int(40 * args.scale))
    async with bench_database(args.wipe) as db:
        container = await Container.build(Settings(database_url=db.url), db)
        await load_children(container, max(100, int(CHILDREN * args.scale)), args.seed)
        family = await thirty_event_family(container)
        await container.runner.catch_up()
        token = Authenticator(Settings(jwt_secret=SECRET)).mint("bench", Role.CASEWORKER)
        port = 18000 + random.randint(0, 999)
        server = start_server(db.url, port)
        try:
            base = f"http://127.0.0.1:{port}"
            await wait_ready(base)
            cases: dict[str, dict[str, Any]] = {
                "(a) { __typename }": {"query": "{ __typename }"},
                "(b) timeline, 30 events": {"query": TIMELINE, "variables": {"id": str(family)}},
                "(c) 100 children + parents + facility": {"query": PAGE},
                "(d) courtReport(asOf)": {"query": REPORT},
            }
            results: dict[str, list[tuple[float, float, float]]] = {k: [] for k in cases}
            for _ in range(args.runs):
                for name, body in cases.items():  # interleaved, so noise hits all alike
                    print(f"  {name} ...", flush=True)
                    rps, lat = await hammer(base, token, body, each)
                    results[name].append((rps, percentile(lat, 50), percentile(lat, 99)))
        finally:
            server.terminate()
            server.wait(timeout=30)
    report(results, args.runs, each)


def report(results: dict[str, list[tuple[float, float, float]]], runs: int, each: int) -> None:
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
    print(f"\n{CLIENTS} clients x {each} requests, median of {runs} runs")
    print_table(["request", "req/s", "p50 ms", "p99 ms"], rows)
    base = medians["(a)"][0]
    b, c = medians["(b)"][0] / base, medians["(c)"][0] / base
    p99_b = medians["(b)"][1] * 1000
    print(f"\n(b)/(a) = {b:.2f}  target >= 0.50  {verdict(b, 0.5)}")
    print(f"(c)/(a) = {c:.2f}  target >= 0.20  {verdict(c, 0.2)}")
    print(
        f"p99 of (b) = {p99_b:.1f} ms  target < 100 ms  {'PASS' if p99_b < 100 else 'BELOW TARGET'}"
    )


if __name__ == "__main__":
    asyncio.run(main())
