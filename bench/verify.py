"""`reunite verify` over the whole log against a raw read of the same events.

What is compared
    The log is filled with at least 200,000 real family events (``--scale`` changes it):
    the seeded ``bench.common`` workload, written through ``EventStore.append`` by 4
    concurrent writers (not timed). A signed checkpoint is taken when half the commands are
    in and another at the end, so verification checks two Merkle roots and signatures too.
    Then VACUUM ANALYZE.

    (a) raw: asyncpg reads every column of every event, in the pages ``verify_log`` reads
        (``service.ledger.checkpoints.batches`` over ``range_query(COLUMNS)``, 10,000 a page,
        keyset by (transaction_id, position)), and does nothing with them.
    (b) ``service.ledger.verify.verify_log`` with the signing key's public half trusted: what
        ``reunite verify`` runs. It builds each row, recomputes its hash from its columns,
        checks its link to the previous event of its stream, grows the Merkle frontier and
        compares each checkpoint's root and signature.

    (a) and (b) alternate in order from run to run, a CHECKPOINT before each; medians of
    ``--runs`` runs. No target is set: the rate and the ratio (b)/(a) are reported.

Reproduce
    .venv/bin/python -m bench.verify                          # 200,000 events, 3 runs
    .venv/bin/python -m bench.verify --scale 0.1 --runs 1     # quick
    DATABASE_URL=postgresql://... .venv/bin/python -m bench.verify --wipe

    Without DATABASE_URL a throwaway database ``reunite_bench_<random>`` is created on
    postgresql://postgres@127.0.0.1:5432/postgres, migrated, and dropped at the end.
"""

from __future__ import annotations

import asyncio
import gc
import time

import asyncpg
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bench.catchup import LOADERS, load
from bench.common import (
    Workload,
    bench_database,
    build_workload,
    empty_log,
    median,
    parse_args,
    print_table,
    rate,
    runs_text,
    settle,
)
from service.eventstore.codec import create_mapper
from service.eventstore.records import LogPosition
from service.eventstore.store import EventStore
from service.ledger.checkpoints import BATCH_SIZE, CheckpointTaker, batches, horizon
from service.ledger.keys import Signer
from service.ledger.verify import EVENTS as PAGE
from service.ledger.verify import verify_log
from service.postgres.database import Database

EVENTS = 200_000
LABELS = {"raw": "(a) raw read", "verify": "(b) reunite verify"}


async def wipe(db: Database) -> None:
    """Empty the log and the checkpoints; their append-only triggers are bypassed here."""
    async with db.pool.acquire() as conn:
        await empty_log(conn)
        await conn.execute("SET session_replication_role = replica")
        try:
            await conn.execute("TRUNCATE checkpoints RESTART IDENTITY")
        finally:
            await conn.execute("SET session_replication_role = origin")


async def raw_read(pool: asyncpg.Pool) -> int:
    """(a) Every event's columns, page by page, as verify_log reads them; nothing else."""
    count = 0
    async for rows in batches(pool, PAGE, LogPosition(), await horizon(pool), BATCH_SIZE):
        count += len(rows)
    return count


async def fill(db: Database, signer: Signer, seed: int, scale: float) -> tuple[int, str]:
    """Write the workload in two halves, signing a checkpoint after each; count, description."""
    store = EventStore(db.pool, create_mapper())
    workload = build_workload(store.encode, seed, min_events=round(EVENTS * scale))
    half = len(workload.commands) // 2
    taker = CheckpointTaker(db.pool, signer)
    started = time.perf_counter()
    for commands in (workload.commands[:half], workload.commands[half:]):
        await load(db.url, store, Workload(workload.families, commands).split(LOADERS))
        assert await taker.take() is not None
    print(f"  loaded and checkpointed in {time.perf_counter() - started:.1f} s", flush=True)
    await db.pool.execute("VACUUM ANALYZE events")
    return workload.events, workload.describe()


async def main() -> None:
    args = parse_args("reunite verify vs a raw read of the same events.")
    signer = Signer.from_private_key(Ed25519PrivateKey.generate())
    async with bench_database(args.wipe) as db:
        await wipe(db)
        events, about = await fill(db, signer, args.seed, args.scale)
        gc.collect()  # the workload's objects are gone before anything is timed
        print(f"workload: {about}; runs: {args.runs}", flush=True)
        rates: dict[str, list[float]] = {kind: [] for kind in LABELS}
        for run in range(args.runs):
            for kind in ("raw", "verify") if run % 2 == 0 else ("verify", "raw"):
                async with db.pool.acquire() as admin:
                    await settle(admin)
                started = time.perf_counter()
                if kind == "raw":
                    assert await raw_read(db.pool) == events
                else:
                    report = await verify_log(db.pool, frozenset({signer.public_key}))
                    assert report.ok and report.events == events and report.checkpoints == 2
                seconds = time.perf_counter() - started
                rates[kind].append(events / seconds)
                print(
                    f"  run {run + 1}/{args.runs} {LABELS[kind]:20s} "
                    f"{events / seconds:10,.0f} events/s ({seconds:.2f} s)",
                    flush=True,
                )
        await wipe(db)
    base, verified = median(rates["raw"]), median(rates["verify"])
    print()
    print(f"verify: {about}, 2 checkpoints, pages of {BATCH_SIZE:,}, median of {args.runs}")
    print_table(
        ["reader", "events/s", "vs (a)", "runs"],
        [
            [LABELS["raw"], rate(base), "1.000", runs_text(rates["raw"])],
            [
                LABELS["verify"],
                rate(verified),
                f"{verified / base:.3f}",
                runs_text(rates["verify"]),
            ],
        ],
    )
    print(f"RESULT verify: {verified:,.0f} events/s, {verified / base:.3f} of the raw read rate")


if __name__ == "__main__":
    asyncio.run(main())
