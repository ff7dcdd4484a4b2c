"""Sustained load: does the read side keep up with the write side, and memory stay flat?

One server process (projections inside, as `make run` runs it) over generated families.
Writers send `addMember` without a version check as fast as they can, each to any of the
families (`--hot-writers` of them only to the followed ones: families that then grow by
thousands of members; with `--retire N` a family makes way for a fresh one after N
commands, so the load is stationary); read-your-write clients write, then read the family
with `minPosition`; subscribers follow some of the written families with `familyEvents`.
Every second the projections' lag (events still to apply) and the server's RSS are
sampled. Before the load, one command on a family of 2,000 events is timed against one on
a family of 10, interleaved (medians of `--runs` x 10).

    .venv/bin/python -m bench.sustained [--seconds 60] [--warmup S] [--writers 8] [--scale 1.0]
        [--retire 0] [--watch-collector]

Give it a PostgreSQL server of its own (DATABASE_URL=... --wipe): transaction ids are the
whole server's, so a long transaction in another database (a test suite, say) holds back
the gap-safe horizon of this one, and the projections with it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import httpx

from bench import collector_watch
from bench.common import (
    bench_database,
    case_events,
    empty_database,
    median,
    print_table,
    settings_for,
)
from bench.graphql import APP_FACTORY, SECRET, append_all, start_server, wait_ready
from bench.long_family import long_history
from bench.sustained_clients import Rotation, Tally, add, own_reader, subscriber, writer
from service.access.auth import Authenticator, Role
from service.application.container import Container
from service.postgres.database import Database
from service.settings import Settings

LAG = """
SELECT c.name, (SELECT count(*) FROM events e
                 WHERE (e.transaction_id, e.position) > (c.transaction_id, c.position)) AS lag
  FROM projection_checkpoints c ORDER BY c.name
"""


async def sampler(
    db: Database, metrics: httpx.AsyncClient, pid: int, started: float, until: float, t: Tally
) -> None:
    while time.monotonic() < until:
        now = time.monotonic() - started
        t.lags.append((now, {r["name"]: r["lag"] for r in await db.pool.fetch(LAG)}))
        t.rss.append((now, rss_kib(pid)))
        t.fill.append((now, cache_fill((await metrics.get("/metrics")).text)))
        await asyncio.sleep(1.0)


GROWING = ("family_bytes", "case_folds_bytes", "person_keys")  # the caches the load fills


def cache_fill(exposition: str) -> float:
    """How full the growing caches are, from /metrics: the lowest of held / bound (no
    person_keys with sealing off)."""
    found: dict[tuple[str, str], float] = {}
    for line in exposition.splitlines():
        for kind in ("held", "bound"):
            prefix = f'reunite_cache_{kind}{{cache="'
            if line.startswith(prefix):
                name, _, value = line[len(prefix) :].partition('"} ')
                found[kind, name] = float(value)
    return min(
        found["held", c] / max(1.0, found["bound", c]) for c in GROWING if ("bound", c) in found
    )


async def caught_up(db: Database, within: float = 600.0) -> None:
    """Wait until every projection has applied what `prepare` wrote: the largest lag is
    the load's, not the server's first catch-up (1,600 families at --scale 4)."""
    deadline = time.monotonic() + within
    while not (rows := await db.pool.fetch(LAG)) or any(r["lag"] for r in rows):
        if time.monotonic() > deadline:
            raise SystemExit(f"the projections did not catch up within {within:.0f} s")
        await asyncio.sleep(0.5)


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))


async def prepare(db: Database, families: int) -> tuple[list[UUID], UUID, UUID]:
    """Generated families, one of 2,000 events and one of 10."""
    rng, made = random.Random(20180520), []
    batch: list[list[Any]] = []
    for number in range(families):
        events = case_events(rng, UUID(int=rng.getrandbits(128), version=4), number)
        made.append(events[0].originator_id)
        batch.append(events)
    long, short = long_history(2000), long_history(10)
    batch += [list(long.collect_events()), list(short.collect_events())]
    container = await _container(db)
    for start in range(0, len(batch), 200):
        await append_all(container, batch[start : start + 200])
    return made, long.id, short.id


async def _container(db: Database) -> Container:
    return await Container.build(settings_for(db.url), db)


async def command_cost(
    client: httpx.AsyncClient, long: UUID, short: UUID, runs: int
) -> tuple[float, float, float]:
    """Seconds for one command on each family (medians, interleaved), and the cold first."""
    started = time.monotonic()
    await add(client, long)  # the first command on a family in this process loads it whole
    cold = time.monotonic() - started
    times: dict[UUID, list[float]] = {long: [], short: []}
    for _ in range(runs * 10):
        for family in (long, short):
            started = time.monotonic()
            await add(client, family)
            times[family].append(time.monotonic() - started)
    return median(times[long]), median(times[short]), cold


def percentile(values: Sequence[float], q: int) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def ms(seconds: float) -> str:
    return "timeout" if seconds == float("inf") else f"{seconds * 1000:.0f} ms"


def report(
    t: Tally, seconds: float, warmup: float | None, cost: tuple[float, float, float]
) -> None:
    rate = t.commands / seconds
    print(f"\ncommands: {t.commands} in {seconds:.0f} s = {rate:.0f}/s; conflicts: {t.conflicts}")
    names = sorted({n for _, lags in t.lags for n in lags})
    step = max(1, len(t.lags) // 12)
    rows = [
        [
            f"{at:.0f} s",
            *(str(lags.get(n, "")) for n in names),
            f"{kib // 1024} MiB",
            f"{fill:.0%}",
        ]
        for (at, lags), (_, kib), (_, fill) in list(zip(t.lags, t.rss, t.fill, strict=True))[::step]
    ]
    print_table(["after", *(f"{n} lag" for n in names), "server RSS", "caches full"], rows)
    print_table(
        ["measure", "p50", "p99", "count"],
        [
            [
                "read-your-write",
                ms(percentile(t.own_reads, 50)),
                ms(percentile(t.own_reads, 99)),
                str(len(t.own_reads)),
            ],
            [
                "subscription delay",
                ms(percentile(t.deliveries, 50)),
                ms(percentile(t.deliveries, 99)),
                str(len(t.deliveries)),
            ],
        ],
    )
    max_lag = {n: max(lags.get(n, 0) for _, lags in t.lags) for n in names}
    print(f"largest lag per projection: {max_lag} (at {rate:.0f} events/s)")
    if warmup is None:  # warm once every growing cache is (nearly) full
        full = [at for at, fill in t.fill if fill >= 0.95]
        warmup = full[0] if full else seconds
    warm = [kib for at, kib in t.rss if at >= warmup]
    if warm:
        growth = (warm[-1] / warm[0] - 1) * 100
        print(
            f"RSS after warm-up ({warmup:.0f} s): {warm[0] // 1024} -> {warm[-1] // 1024} MiB "
            f"({growth:+.1f} %; lowest {min(warm) // 1024}, highest {max(warm) // 1024})"
        )
    long, short, cold = cost
    print(
        f"command on a 2,000-event family: {ms(long)}, on a 10-event one: {ms(short)}: "
        f"{long / short:.2f}x (the first, loading it whole: {ms(cold)})"
    )


async def main(args: argparse.Namespace) -> None:
    minter = Authenticator(Settings(jwt_secret=SECRET))
    token = minter.mint("bench", Role.CASEWORKER)
    async with bench_database(wipe=args.wipe) as db:
        await empty_database(db.pool)  # --wipe given, or a throwaway database
        active = max(20, int(400 * args.scale))
        # With --retire, enough prepared families for up to 250 commands a second.
        reserve = int(args.seconds * 250 / args.retire) if args.retire else 0
        families, long, short = await prepare(db, active + reserve)
        port = 18000 + random.randint(1000, 1999)
        watch = None
        if args.watch_collector:
            descriptor, watch = tempfile.mkstemp(suffix=".gc")
            os.close(descriptor)
        server = start_server(
            db.url,
            port,
            None,
            projections=True,
            extra_env={collector_watch.LOG: watch} if watch else None,
            factory=collector_watch.FACTORY if watch else APP_FACTORY,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            await wait_ready(base)
            await caught_up(db)
            limits = httpx.Limits(max_connections=64)
            async with httpx.AsyncClient(
                base_url=base,
                headers={"Authorization": f"Bearer {token}"},
                timeout=30,
                limits=limits,
            ) as client:
                cost = await command_cost(client, long, short, args.runs)
                tally = Tally()
                if watch:  # the load's collections only
                    os.truncate(watch, 0)
                since, started = datetime.now(UTC), time.monotonic()
                until = started + args.seconds
                followed = families[: args.subscribers // 2 or 1]
                rotation = Rotation(families[:active], families[active:], args.retire, followed)
                work = [
                    writer(
                        client,
                        Rotation(followed) if i < args.hot_writers else rotation,
                        until,
                        tally,
                    )
                    for i in range(args.writers)
                ]
                work += [own_reader(client, rotation, until, tally) for _ in range(args.readers)]
                url = base.replace("http", "ws") + "/graphql"
                # One caseworker a subscriber: connections per subject are capped.
                tokens = [
                    minter.mint(f"bench-{i}", Role.CASEWORKER) for i in range(args.subscribers)
                ]
                work += [
                    subscriber(url, tokens[i], followed[i % len(followed)], since, until, tally)
                    for i in range(args.subscribers)
                ]
                admin = {"Authorization": f"Bearer {minter.mint('bench-admin', Role.ADMIN)}"}
                async with httpx.AsyncClient(base_url=base, headers=admin, timeout=30) as metrics:
                    work.append(sampler(db, metrics, server.pid, started, until, tally))
                    await asyncio.gather(*work)
                report(tally, args.seconds, args.warmup, cost)
                if watch:
                    print(collector_watch.summary(watch, args.seconds))
        finally:
            server.terminate()
            server.wait()
            if watch:
                os.unlink(watch)


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--hot-writers", type=int, default=0, help="of --writers")
    parser.add_argument("--readers", type=int, default=2)
    parser.add_argument("--subscribers", type=int, default=16)
    parser.add_argument("--runs", type=int, default=3, help="x10 commands per family for the cost")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--wipe", action="store_true")
    parser.add_argument(
        "--watch-collector",
        action="store_true",
        help="time each of the server's collections (bench.collector_watch) and print their "
        "pauses after the load",
    )
    parser.add_argument(
        "--retire",
        type=int,
        default=0,
        help="commands after which a family makes way for a fresh one (a stationary load); "
        "0: the same families grow all along",
    )
    parser.add_argument(
        "--warmup",
        type=float,
        help="seconds before RSS is compared; by default, once the caches that grow with the "
        "log (REUNITE_FAMILY_CACHE_MIB, REUNITE_FOLD_CACHE_MIB, REUNITE_PERSON_KEYS) are "
        "95 %% full, as /metrics says",
    )
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse()))
