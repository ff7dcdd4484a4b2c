"""A fleet under load: 2 API processes and 1 projector against one `reunite serve`.

The same load as `bench.sustained` (writers, read-your-write clients, subscribers over
websockets), run in the same invocation against (a) one `reunite serve` doing everything
and (b) a fleet: two API processes (`REUNITE_RUN_PROJECTIONS=0 REUNITE_RUN_CHECKPOINTS=0`)
that the clients use round-robin, beside one `reunite project`. The two alternate, each on
a fresh database, `--runs` times; medians are printed. A read-your-write client writes
through one API process and reads back through the other, so the fleet's figure is the
delay across processes. After each run, once the projections caught up: every event
applied once (each projection's `events_applied` and the timeline's rows against the
log's events, nothing parked) and every subscription delivered each version once.

    .venv/bin/python -m bench.fleet [--seconds 30] [--runs 3] [--scale 0.5]

It starts a PostgreSQL server of its own (the embedded binaries, in a temporary
directory) unless DATABASE_URL names one: transaction ids are the whole server's, so
another database's transactions would stall the projections (README, "Gap-safe order").
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO
from uuid import UUID

import asyncpg
import httpx
import websockets

from bench.common import median, own_server, print_table, with_database
from bench.graphql import SECRET, start_server, wait_ready
from bench.sustained import LAG, ms, percentile, prepare
from bench.sustained_clients import FOLLOW, READ, Tally, add
from service.access.auth import Authenticator, Role
from service.postgres.database import open_database
from service.settings import Settings

API_ONLY = {"REUNITE_RUN_PROJECTIONS": "0", "REUNITE_RUN_CHECKPOINTS": "0"}
CHECKS = """
SELECT (SELECT count(*) FROM events) AS events,
       (SELECT count(*) FROM timeline) AS timeline_rows,
       (SELECT count(*) FROM parked_events) AS parked,
       (SELECT json_object_agg(name, events_applied) FROM projection_checkpoints) AS applied
"""


@dataclass
class FleetTally(Tally):
    """Tally, with each command's latency and what the subscriptions delivered twice."""

    latencies: list[float] = field(default_factory=list)
    repeated: int = 0
    delivered: int = 0


@dataclass
class Outcome:
    commands_per_s: float
    command_p50: float
    command_p99: float
    ryw_p50: float
    ryw_p99: float
    ryw_timeouts: int
    sub_p99: float
    max_lag: int
    exactly_once: bool
    detail: str


async def writer(
    client: httpx.AsyncClient, families: Sequence[UUID], until: float, t: FleetTally
) -> None:
    rng = random.Random()
    while time.monotonic() < until:
        started = time.monotonic()
        result = await add(client, rng.choice(families))
        t.latencies.append(time.monotonic() - started)
        if result["__typename"] == "CommandSuccess":
            t.commands += 1
        else:
            t.conflicts += 1


async def cross_reader(
    write: httpx.AsyncClient,
    read: httpx.AsyncClient,
    families: Sequence[UUID],
    until: float,
    t: FleetTally,
) -> None:
    """Write through one process, read it back with minPosition through another."""
    rng = random.Random()
    while time.monotonic() < until:
        family = rng.choice(families)
        started = time.monotonic()
        written = await add(write, family)
        t.latencies.append(time.monotonic() - started)
        if written["__typename"] != "CommandSuccess":
            continue
        t.commands += 1
        started = time.monotonic()
        answer = await read.post(
            "/graphql",
            json={"query": READ, "variables": {"id": str(family), "at": written["position"]}},
        )
        if "errors" in answer.json():
            t.own_reads.append(float("inf"))  # NOT_FRESH
        else:
            t.own_reads.append(time.monotonic() - started)


async def subscriber(
    url: str, token: str, family: UUID, since: datetime, until: float, t: FleetTally
) -> None:
    """Follow one family from version 0: each version must arrive once, in order."""
    async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        init = {"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}
        await ws.send(json.dumps(init))
        await ws.recv()
        payload = {"query": FOLLOW, "variables": {"id": str(family), "after": 0}}
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
        last = 0
        while time.monotonic() < until:
            try:
                message = json.loads(await asyncio.wait_for(ws.recv(), until - time.monotonic()))
            except TimeoutError:
                return
            if message.get("type") != "next":
                continue
            event = message["payload"]["data"]["familyEvents"]
            t.delivered += 1
            if event["version"] <= last:
                t.repeated += 1
            last = max(last, event["version"])
            recorded = datetime.fromisoformat(event["recordedAt"])
            if recorded >= since:
                t.deliveries.append((datetime.now(UTC) - recorded).total_seconds())


async def lag_sampler(pool: asyncpg.Pool, until: float, t: FleetTally) -> None:
    started = time.monotonic()
    while time.monotonic() < until:
        rows = await pool.fetch(LAG)
        t.lags.append((time.monotonic() - started, {r["name"]: r["lag"] for r in rows}))
        await asyncio.sleep(1.0)


def start_projector(url: str, log: IO[bytes]) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DATABASE_URL": url, "REUNITE_JWT_SECRET": SECRET}
    return subprocess.Popen(
        [sys.executable, "-m", "service.entrypoints.cli", "project"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )


async def until_projected(pool: asyncpg.Pool, limit: float = 120.0) -> float:
    """Seconds until every projection has applied the whole log."""
    started = time.monotonic()
    while time.monotonic() - started < limit:
        rows = await pool.fetch(LAG)
        if rows and all(r["lag"] == 0 for r in rows):
            return time.monotonic() - started
        await asyncio.sleep(0.2)
    raise SystemExit(f"projections did not catch up within {limit:.0f} s")


async def one_run(server: str, fleet: bool, args: argparse.Namespace, run: int) -> Outcome:
    name = f"reunite_fleet_{'fleet' if fleet else 'single'}_{run}"
    admin = await asyncpg.connect(server)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = with_database(server, name)
    db = await open_database(Settings(database_url=url), min_size=1, max_size=4)
    processes: list[subprocess.Popen[bytes]] = []
    # The processes' logs (a line per command), kept for a look when a check fails.
    log = open(Path(args.logs) / f"{name}.log", "wb")  # noqa: SIM115, ASYNC230
    try:
        families, _, _ = await prepare(db, max(20, int(400 * args.scale)))
        ports = [18000 + random.randint(2000, 2999) + i * 1000 for i in range(2 if fleet else 1)]
        if fleet:
            processes.append(start_projector(url, log))
            processes += [start_server(url, p, None, extra_env=API_ONLY, stderr=log) for p in ports]
        else:
            processes.append(start_server(url, ports[0], None, projections=True, stderr=log))
        bases = [f"http://127.0.0.1:{p}" for p in ports]
        for base in bases:
            await wait_ready(base)
        await until_projected(db.pool)  # the generated history, before the clock starts
        minter = Authenticator(Settings(jwt_secret=SECRET))
        token = minter.mint("bench", Role.CASEWORKER)
        async with contextlib.AsyncExitStack() as stack:
            clients = [
                await stack.enter_async_context(
                    httpx.AsyncClient(
                        base_url=base,
                        headers={"Authorization": f"Bearer {token}"},
                        timeout=30,
                        limits=httpx.Limits(max_connections=64),
                    )
                )
                for base in bases
            ]
            t = FleetTally()
            since, started = datetime.now(UTC), time.monotonic()
            until = started + args.seconds
            followed = families[: args.subscribers // 2 or 1]
            n = len(clients)
            work = [
                writer(clients[i % n], families if i % 2 else followed, until, t)
                for i in range(args.writers)
            ]
            work += [
                cross_reader(clients[i % n], clients[(i + 1) % n], families, until, t)
                for i in range(args.readers)
            ]
            work += [
                subscriber(
                    bases[i % n].replace("http", "ws") + "/graphql",
                    minter.mint(f"bench-{i}", Role.CASEWORKER),
                    followed[i % len(followed)],
                    since,
                    until,
                    t,
                )
                for i in range(args.subscribers)
            ]
            work.append(lag_sampler(db.pool, until, t))
            await asyncio.gather(*work)
        settled = await until_projected(db.pool)
        checks = await db.pool.fetchrow(CHECKS)
        assert checks is not None
        applied = json.loads(checks["applied"])
        once = (
            all(v == checks["events"] for v in applied.values())
            and checks["timeline_rows"] == checks["events"]
            and checks["parked"] == 0
            and t.repeated == 0
        )
        detail = (
            f"events {checks['events']}, applied {applied}, timeline rows "
            f"{checks['timeline_rows']}, parked {checks['parked']}, deliveries {t.delivered} "
            f"({t.repeated} repeated), caught up {settled:.1f} s after the load"
        )
        timeouts = sum(1 for r in t.own_reads if r == float("inf"))
        return Outcome(
            commands_per_s=t.commands / args.seconds,
            command_p50=percentile(t.latencies, 50),
            command_p99=percentile(t.latencies, 99),
            ryw_p50=percentile(t.own_reads, 50),
            ryw_p99=percentile(t.own_reads, 99),
            ryw_timeouts=timeouts,
            sub_p99=percentile(t.deliveries, 99),
            max_lag=max((max(lags.values(), default=0) for _, lags in t.lags), default=0),
            exactly_once=once,
            detail=detail,
        )
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        log.close()
        await db.close()
        admin = await asyncpg.connect(server)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


def row(label: str, outcomes: Sequence[Outcome]) -> list[str]:
    def med(attribute: str) -> float:
        return median(getattr(o, attribute) for o in outcomes)

    return [
        label,
        " ".join(f"{o.commands_per_s:.0f}" for o in outcomes)
        + f" (median {med('commands_per_s'):.0f})",
        f"{ms(med('command_p50'))} / {ms(med('command_p99'))}",
        f"{ms(med('ryw_p50'))} / {ms(med('ryw_p99'))}",
        str(sum(o.ryw_timeouts for o in outcomes)),
        ms(med("sub_p99")),
        str(max(o.max_lag for o in outcomes)),
        "yes" if all(o.exactly_once for o in outcomes) else "**NO**",
    ]


async def main(args: argparse.Namespace) -> None:
    results: dict[bool, list[Outcome]] = {False: [], True: []}
    async with own_server() as server:
        print(f"server: {server.split('@')[-1]}; process logs in {args.logs}")
        for run in range(args.runs):
            order = (False, True) if run % 2 == 0 else (True, False)
            for fleet in order:
                outcome = await one_run(server, fleet, args, run)
                label = "fleet (2 API + 1 projector)" if fleet else "one `reunite serve`"
                print(
                    f"run {run + 1} {label}: {outcome.commands_per_s:.0f} commands/s;"
                    f" {outcome.detail}"
                )
                results[fleet].append(outcome)
    print_table(
        [
            "layout",
            "commands/s (runs)",
            "command p50 / p99",
            "read-your-write p50 / p99",
            "NOT_FRESH",
            "subscription p99",
            "largest lag",
            "exactly once",
        ],
        [
            row("one `reunite serve`", results[False]),
            row("2 API + 1 `reunite project`", results[True]),
        ],
    )
    ratio = median(o.commands_per_s for o in results[True]) / median(
        o.commands_per_s for o in results[False]
    )
    print(f"fleet / single throughput: {ratio:.2f}")


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--runs", type=int, default=3, help="runs of each layout (medians)")
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--readers", type=int, default=4)
    parser.add_argument("--subscribers", type=int, default=16)
    parser.add_argument("--scale", type=float, default=0.5)
    parser.add_argument(
        "--logs", default=tempfile.gettempdir(), help="directory for the processes' logs"
    )
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse()))
