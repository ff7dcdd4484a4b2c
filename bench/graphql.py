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
import os
import random
import subprocess
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import IO, Any
from uuid import UUID

import httpx
import uvloop

from bench import postgraphile
from bench.common import (
    T0,
    bench_database,
    case_events,
    median,
    own_server,
    parse_args,
    print_table,
    settings_for,
)
from bench.http_load import CLIENTS, cpu_seconds, database_cpu, hammer, percentile
from domain.family import Family, Member
from domain.personal import subjects
from domain.values import LocationOutcome, MemberRole, PersonName, Sex
from service.access.auth import Authenticator, Role
from service.application.container import Container
from service.eventstore.provenance import Provenance
from service.postgres.database import Database
from service.settings import Settings

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
        events = case_events(rng, UUID(int=rng.getrandbits(128), version=4), number)
        number += 1
        recorded += sum(
            1 for e in events if getattr(getattr(e, "role", None), "value", "") == "child"
        )
        batch.append(events)
        if len(batch) == 200 or recorded >= children:
            await append_all(container, batch)
            batch = []


async def append_all(container: Container, families: Sequence[list[Any]]) -> None:
    keyring = container.store.keyring
    async with container.database.pool.acquire() as conn, conn.transaction():
        for events in families:
            if keyring is not None:  # each new person's data key, as a command makes it
                for event in events:
                    for person in subjects(event):
                        keyring.make(person, event.originator_id)
                await keyring.store_made(conn)
            encoded = [container.store.encode(e) for e in events]
            await container.store.append(events[0].originator_id, 0, encoded, WHO, conn=conn)


@asynccontextmanager
async def demo_database(
    wipe: bool, scale: float, seed: int
) -> AsyncIterator[tuple[Database, Container, UUID]]:
    """A database on a server of the bench's own, holding the demo children and a family of
    30 timeline entries, projected; with a container over it and that family's id."""
    async with own_server() as server:
        os.environ.setdefault("DATABASE_URL", server)
        async with bench_database(wipe) as db:
            container = await Container.build(settings_for(db.url), db)
            await load_children(container, max(100, int(CHILDREN * scale)), seed)
            family = await thirty_event_family(container)
            await container.runner.catch_up()
            yield db, container, family


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


APP_FACTORY = "service.entrypoints.app:app_from_env"


def start_server(
    url: str,
    port: int,
    cache_size: int | None,
    projections: bool = False,
    extra_env: dict[str, str] | None = None,
    stderr: int | IO[bytes] | None = None,
    factory: str = APP_FACTORY,
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
            factory,
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


# One measurement: req/s, p50 and p99 latency (s), and the server's and the database's
# CPU per request (s; the database's only when it is the bench's own embedded server).
Sample = tuple[float, float, float, float, float]
Results = dict[str, list[Sample]]
CASES = ("(a) { __typename }", "(b) timeline, 30 events", "(c) 100 children + parents + facility")
REPORT_CASE = "(d) courtReport(asOf)"


@dataclass(frozen=True)
class System:
    """A server measured: Reunite with a response cache size and plans on or off, or the
    peer (PostGraphile), which answers (a) and (c) only."""

    label: str
    cache: int | None = None  # None: the deployed default
    plans: bool = True
    peer: bool = False


SYSTEMS = (
    System("reunite, cache on (as deployed)"),
    System("reunite, cache off, plans on (a cache miss)", cache=0),
    System("reunite, cache off, plans off (executed)", cache=0, plans=False),
)
PEER = System("postgraphile 4.14.1 (peer)", peer=True)
HIT, MISS, EXECUTED = (s.label for s in SYSTEMS)


def bodies(family: UUID, peer: bool) -> dict[str, dict[str, Any]]:
    """Each case's request to one system."""
    if peer:
        return {CASES[0]: {"query": "{ __typename }"}, CASES[2]: {"query": postgraphile.PAGE}}
    return {
        CASES[0]: {"query": "{ __typename }"},
        CASES[1]: {"query": TIMELINE, "variables": {"id": str(family)}},
        CASES[2]: {"query": PAGE},
        REPORT_CASE: {"query": REPORT},
    }


def start(url: str, system: System, port: int) -> subprocess.Popen[bytes]:
    if system.peer:
        return postgraphile.start(url, port)
    env = {"REUNITE_READ_PLANS": "1" if system.plans else "0"}
    return start_server(url, port, system.cache, extra_env=env)


async def wait_answering(port: int) -> None:
    """Until the server answers `{ __typename }` (PostGraphile has no /health)."""
    async with httpx.AsyncClient() as client:
        for _ in range(600):
            try:
                answer = await client.post(
                    f"http://127.0.0.1:{port}/graphql",
                    json={"query": "{ __typename }"},
                    headers={"Authorization": "Bearer -"},
                )
                if answer.status_code in (200, 401):
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise SystemExit(f"server on port {port} did not start")


async def measure(
    url: str, token: str, family: UUID, runs: int, each: int, systems: Sequence[System]
) -> dict[str, Results]:
    """Every case `runs` times against every system, all started once; within each round
    each case goes to the systems in turn, the order reversed every other round, so noise
    and warm-up hit all alike."""
    ports = {s.label: 18000 + random.randint(0, 999) + 1000 * i for i, s in enumerate(systems)}
    servers = {s.label: start(url, s, ports[s.label]) for s in systems}
    results: dict[str, Results] = {s.label: {} for s in systems}
    try:
        for s in systems:
            if s.peer:
                await wait_answering(ports[s.label])
            else:
                await wait_ready(f"http://127.0.0.1:{ports[s.label]}")
        for run in range(runs):
            order = list(systems) if run % 2 == 0 else list(reversed(systems))
            for case in (*CASES, REPORT_CASE):
                for s in order:
                    body = bodies(family, s.peer).get(case)
                    if body is None:
                        continue
                    print(f"  run {run + 1} {case} -> {s.label} ...", flush=True)
                    pid = servers[s.label].pid
                    before, db_before = cpu_seconds(pid), database_cpu(url)
                    rps, lat = await hammer(ports[s.label], token, body, each)
                    done = (CLIENTS + 2) * each  # with the warm-up
                    cpu = (cpu_seconds(pid) - before) / done
                    db = (database_cpu(url) - db_before) / done
                    sample = (rps, percentile(lat, 50), percentile(lat, 99), cpu, db)
                    results[s.label].setdefault(case, []).append(sample)
        return results
    finally:
        for server in servers.values():
            server.terminate()
            server.wait(timeout=30)


async def main() -> None:
    args = parse_args(__doc__ or "", None)
    each = max(4, int(40 * args.scale))
    async with demo_database(args.wipe, args.scale, args.seed) as (db, _, family):
        token = Authenticator(Settings(jwt_secret=SECRET)).mint("bench", Role.CASEWORKER)
        systems = list(SYSTEMS)
        why_not = postgraphile.available()
        if why_not is None:
            await postgraphile.prepare(db.url)
            systems.append(PEER)
        else:
            print(f"peer not measured: {why_not}")
        measured = await measure(db.url, token, family, args.runs, each, systems)
    for system in systems:
        report(system.label, measured[system.label], args.runs, each)
    judge(measured)


def medians(samples: list[Sample]) -> Sample:
    rps, p50, p99, cpu, db = (median(s[i] for s in samples) for i in range(5))
    return rps, p50, p99, cpu, db


def report(label: str, results: Results, runs: int, each: int) -> None:
    rows = []
    for name, samples in results.items():
        rps, p50, p99, cpu, db = medians(samples)
        rows.append(
            [
                name,
                f"{rps:,.0f}",
                f"{p50 * 1000:.1f}",
                f"{p99 * 1000:.1f}",
                f"{cpu * 1000:.2f}",
                f"{db * 1000:.2f}",
            ]
        )
    print(f"\n{label}: {CLIENTS} clients x {each} requests, median of {runs} runs")
    print_table(
        ["request", "req/s", "p50 ms", "p99 ms", "server CPU ms/req", "database CPU ms/req"], rows
    )


def judge(measured: dict[str, Results]) -> None:
    """The targets, each a ratio of medians measured in this same run."""
    got = {label: {case: medians(s) for case, s in r.items()} for label, r in measured.items()}
    a, b, c = CASES
    hit, miss, executed = got[HIT], got[MISS], got[EXECUTED]
    print("\nas deployed (response cache on):")
    target("(b)/(a)", hit[b][0] / hit[a][0], ">=", 0.5)
    target("(c)/(a)", hit[c][0] / hit[a][0], ">=", 0.2)
    target("p99 of (b), ms", hit[b][2] * 1000, "<", 100)
    print("cache off (every request a cache miss), plans on:")
    target("(b) timeline / (a)", miss[b][0] / miss[a][0], ">=", 0.5)
    target("server CPU per (c), ms", miss[c][3] * 1000, "<=", 2)
    target("p99 of (c), ms", miss[c][2] * 1000, "<", 150)
    peer = got.get(PEER.label)
    if peer is not None:
        target("(c) / PostGraphile (c), req/s", miss[c][0] / peer[c][0], ">=", 1.0)
    print(f"  (c) plans on / plans off (executed) = {miss[c][0] / executed[c][0]:.2f}")
    print(f"  (c) cache miss / cache hit = {miss[c][0] / hit[c][0]:.2f}")


def target(name: str, value: float, op: str, bound: float) -> None:
    met = {">=": value >= bound, "<": value < bound, "<=": value <= bound}[op]
    print(f"  {name} = {value:.2f}  target {op} {bound:g}  {'PASS' if met else 'MISSED'}")


if __name__ == "__main__":
    uvloop.run(main())
