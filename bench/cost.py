"""A caseworker's `family` query while four auditors hammer `courtReport(knownAt:)`.

One uvicorn server over 3,108 generated children (the ORR list's size). In each run the
caseworker sends `family(id:)` back to back for `--seconds`, first alone, then while four
auditors (four subjects) each send `courtReport(asOf:, knownAt:)` back to back, every one
picking among MOMENTS moments behind the log's horizon, so the figures must first be
replayed from the log and are then kept (service.history.kept_reports); an auditor told
RATE_LIMITED waits its retryAfter, as a client should. Printed: the caseworker's p50/p99
in both phases (median of `--runs`), their ratio, and what the auditors got. (Analysts
were the load until ADR 0013: they may ask as known at a month's start only, and the
moments here are the last minute's.)

    .venv/bin/python -m bench.cost [--runs 3] [--scale 1.0] [--seconds 8]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from datetime import UTC, datetime, timedelta
from uuid import UUID

import uvloop

from bench.common import bench_database, median, print_table, settings_for
from bench.graphql import (
    CHILDREN,
    SECRET,
    load_children,
    start_server,
    thirty_event_family,
    wait_ready,
)
from bench.http_load import KeepAlive, percentile, post
from service.access.auth import Authenticator, Role
from service.application.container import Container
from service.settings import Settings

AUDITORS = 4
MOMENTS = 6
TARGET_MS = 100.0
FAMILY = """query($id: UUID!) { family(id: $id) { caseNumber status version
  members { personId role name status facilityName } } }"""
REPORT = """query($asOf: Date!, $knownAt: DateTime) { courtReport(asOf: $asOf, knownAt: $knownAt) {
  children { total under5 } inCare { total { total } removed { total } } } }"""


async def connect(port: int) -> KeepAlive:
    loop = asyncio.get_running_loop()
    return (await loop.create_connection(KeepAlive, "127.0.0.1", port))[1]


async def caseworker(port: int, token: str, family: UUID, seconds: float) -> list[float]:
    """The caseworker's latencies over `seconds`, one request at a time."""
    client, latencies = await connect(port), []
    request = post(port, token, {"query": FAMILY, "variables": {"id": str(family)}})
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        started = time.perf_counter()
        status, answer = await client.send(request)
        latencies.append(time.perf_counter() - started)
        if status != 200 or b'"errors"' in answer:
            raise SystemExit(f"family query failed: {answer[:300]!r}")
    assert client.transport is not None
    client.transport.close()
    return latencies


async def auditor(
    port: int, token: str, moments: list[str], stop: asyncio.Event, tally: dict[str, int]
) -> None:
    """Reports as known at one of `moments`, back to back, until stopped."""
    client, rng = await connect(port), random.Random(token)
    while not stop.is_set():
        known_at = rng.choice(moments)
        body = {"query": REPORT, "variables": {"asOf": "2018-07-31", "knownAt": known_at}}
        _, answer = await client.send(post(port, token, body))
        errors = json.loads(answer).get("errors")
        if not errors:
            tally["answered"] += 1
            continue
        extensions = errors[0].get("extensions", {})
        tally[extensions.get("code", "other")] += 1
        if extensions.get("code") == "RATE_LIMITED":
            await asyncio.sleep(extensions["retryAfter"])
    assert client.transport is not None
    client.transport.close()


async def one_run(
    port: int, tokens: dict[str, str], family: UUID, moments: list[str], seconds: float
) -> tuple[list[float], list[float], dict[str, int]]:
    alone = await caseworker(port, tokens["caseworker"], family, seconds)
    stop, tally = asyncio.Event(), {"answered": 0, "RATE_LIMITED": 0, "TOO_COSTLY": 0, "other": 0}
    auditors = [
        asyncio.create_task(auditor(port, tokens[f"auditor{n}"], moments, stop, tally))
        for n in range(AUDITORS)
    ]
    await asyncio.sleep(0.2)  # the auditors' first replays are under way
    loaded = await caseworker(port, tokens["caseworker"], family, seconds)
    stop.set()
    await asyncio.gather(*auditors)
    return alone, loaded, tally


def moments_behind(now: datetime) -> list[str]:
    """MOMENTS distinct moments in the last minute, all recorded before the server starts."""
    return [(now - timedelta(seconds=5 * n + 1)).isoformat() for n in range(MOMENTS)]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--seed", type=int, default=20180520)
    parser.add_argument("--wipe", action="store_true")
    args = parser.parse_args()
    async with bench_database(args.wipe) as db:
        container = await Container.build(settings_for(db.url), db)
        await load_children(container, max(100, int(CHILDREN * args.scale)), args.seed)
        family = await thirty_event_family(container)
        await container.runner.catch_up()
        await asyncio.sleep(1)
        moments = moments_behind(datetime.now(UTC))
        mint = Authenticator(Settings(jwt_secret=SECRET)).mint
        tokens = {"caseworker": mint("bench.caseworker", Role.CASEWORKER)}
        tokens |= {f"auditor{n}": mint(f"bench.auditor.{n}", Role.AUDITOR) for n in range(4)}
        runs = []
        for run in range(args.runs):  # a fresh server each run: its kept reports start empty
            port = 18000 + random.randint(0, 999)
            server = start_server(db.url, port, None)
            try:
                await wait_ready(f"http://127.0.0.1:{port}")
                print(f"run {run + 1}: caseworker alone, then with {AUDITORS} auditors", flush=True)
                runs.append(await one_run(port, tokens, family, moments, args.seconds))
            finally:
                server.terminate()
                server.wait(timeout=30)
    report(runs, args.seconds)


def report(runs: list[tuple[list[float], list[float], dict[str, int]]], seconds: float) -> None:
    def ms(samples: list[list[float]], q: float) -> float:
        return median(percentile(s, q) for s in samples) * 1000

    alone, loaded = [r[0] for r in runs], [r[1] for r in runs]
    rows = [
        [
            name,
            f"{median(len(s) for s in phase):,.0f}",
            f"{ms(phase, 50):.1f}",
            f"{ms(phase, 99):.1f}",
        ]
        for name, phase in (("caseworker alone", alone), (f"with {AUDITORS} auditors", loaded))
    ]
    print(f"\nfamily(id:) one request at a time for {seconds:.0f} s, median of {len(runs)} runs")
    print_table(["caseworker", "requests", "p50 ms", "p99 ms"], rows)
    for n, (lone, busy, tally) in enumerate(runs, 1):
        print(
            f"run {n}: caseworker p99 alone {percentile(lone, 99) * 1000:.1f} ms, with auditors "
            f"{percentile(busy, 99) * 1000:.1f} ms; auditors' reports: "
            + ", ".join(f"{k} {v}" for k, v in tally.items())
        )
    p99 = ms(loaded, 99)
    print(f"p99 with auditors / p99 alone = {p99 / ms(alone, 99):.2f}")
    print(
        f"p99 with auditors = {p99:.1f} ms  target < {TARGET_MS:.0f} ms  "
        + ("PASS" if p99 < TARGET_MS else "BELOW TARGET")
    )


if __name__ == "__main__":
    uvloop.run(main())
