"""Import throughput: the ORR importer against a raw asyncpg executemany of the same events.

What is compared
    The workload is the project's copy of the ORR list (data/orr-separated-children-2018.csv:
    3,170 records, 3,108 readable rows, 27,828 events).

    (a) baseline: raw asyncpg. The events the importer appends (the very mapped payloads,
        so the same sizes) are inserted with ``executemany`` into ``bench_raw_events``,
        the same columns as ``events`` with a bigint identity position, UNIQUE (stream_id,
        version) and a sha256 chained per stream by the client; one transaction per 200
        families, as the importer batches. Building the rows is not timed.
    (b) ``OrrImporter(store).run(file)``: read and normalise the CSV, decide each case
        through the Family aggregate, encode, check the batch's idempotency keys, then
        ``EventStore.append`` per stream (its one INSERT with the hash chain and the
        command's record), 200 streams per transaction, 4 transactions in flight.

    rows/s is readable rows (3,108) per second for both. Before each timed run the raw table
    is recreated or ``events`` and ``commands`` emptied, and a CHECKPOINT taken; (a) and (b)
    alternate in order from run to run. After each (b) run the read models are rebuilt
    from zero with ``runner.catch_up()`` and timed too (not part of the ratio): import plus
    projection is the time until the file is queryable. Medians of ``--runs`` runs.

Reproduce
    .venv/bin/python -m bench.import                 # whole file, 3 runs
    .venv/bin/python -m bench.import --runs 1 --scale 0.2   # quick check on the first rows
    DATABASE_URL=postgresql://... .venv/bin/python -m bench.import --wipe

    Without DATABASE_URL a throwaway database ``reunite_bench_<random>`` is created on
    postgresql://postgres@127.0.0.1:5432/postgres, migrated, and dropped at the end.
    --seed is accepted for symmetry with the other benchmarks and unused: the file is fixed.
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

from bench.common import (
    bench_database,
    empty_log,
    median,
    parse_args,
    print_table,
    rate,
    runs_text,
    settings_for,
    settle,
)
from service.application.container import Container
from service.eventstore.records import Connection
from service.eventstore.store import EventStore
from service.orr_import.command import DEMO_FILE
from service.orr_import.identity import ImportRun
from service.orr_import.importer import BATCH_SIZE, OrrImporter, chunks, decide_all
from service.orr_import.reader import read_file

RAW_DDL = """
DROP TABLE IF EXISTS bench_raw_events;
CREATE TABLE bench_raw_events (
    position        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    stream_id       uuid        NOT NULL,
    version         integer     NOT NULL,
    topic           text        NOT NULL,
    payload         bytea       NOT NULL,
    occurred_at     timestamptz,
    recorded_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    actor           text        NOT NULL,
    role            text        NOT NULL,
    source          text        NOT NULL,
    reason          text,
    correlation_id  uuid,
    causation_id    uuid,
    idempotency_key text,
    hash            bytea       NOT NULL,
    UNIQUE (stream_id, version)
);
"""
RAW_INSERT = """
INSERT INTO bench_raw_events (stream_id, version, topic, payload, occurred_at, actor, role,
                              source, reason, correlation_id, causation_id, idempotency_key,
                              hash)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
"""

Record = tuple[Any, ...]


def workload(path: Path, store: EventStore) -> tuple[int, list[list[Record]]]:
    """The importer's rows and events as raw records, in batches of BATCH_SIZE families."""
    orr = read_file(path)
    run = ImportRun(orr.name, orr.sha256, "bench", datetime.now(UTC), uuid4())
    decided, _ = decide_all(orr.accepted, run)
    batches: list[list[Record]] = []
    for batch in chunks(decided, BATCH_SIZE):
        records: list[Record] = []
        for case in batch:
            p, previous = run.provenance(case.row.row_number), b""
            for version, event in enumerate(map(store.encode, case.events), start=1):
                previous = hashlib.sha256(previous + event.payload).digest()
                records.append(
                    (
                        *(case.family_id, version, event.topic, event.payload, event.occurred_at),
                        *(p.actor, p.role, p.source, p.reason, p.correlation_id, None, None),
                        previous,
                    )
                )
        batches.append(records)
    return len(decided), batches


async def write_raw(conn: Connection, batches: Sequence[list[Record]]) -> None:
    """(a) one executemany per batch, each batch one transaction."""
    for records in batches:
        async with conn.transaction():
            await conn.executemany(RAW_INSERT, records)


async def reset_read_models(container: Container) -> None:
    """Empty every read model and its checkpoint, so catch_up() projects from zero."""
    runner = container.runner
    async with container.database.pool.acquire() as conn:
        for projection in runner.projections.values():
            await conn.execute(f"TRUNCATE {', '.join(projection.tables)}")
        await conn.execute("DELETE FROM projection_checkpoints")
    await runner.setup()


def prefix(path: Path, scale: float, directory: Path) -> Path:
    """The file itself, or a copy holding its first records (same name) for --scale < 1."""
    if scale >= 1:
        return path
    with path.open(newline="", encoding="utf-8-sig") as f:
        records = list(csv.reader(f))
    keep = records[: 1 + max(1, round((len(records) - 1) * scale))]
    copy = directory / path.name
    with copy.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(keep)
    return copy


async def main() -> None:
    args = parse_args("Import throughput: the ORR importer vs raw asyncpg executemany.")
    with tempfile.TemporaryDirectory() as scratch:
        path = prefix(DEMO_FILE, args.scale, Path(scratch))
        async with bench_database(args.wipe) as db:
            container = await Container.build(settings_for(db.url), db)
            rows, batches = workload(path, container.store)
            events = sum(map(len, batches))
            print(f"workload: {path.name}, {rows:,} rows, {events:,} events; runs: {args.runs}")
            results = await measure(container, path, batches, args.runs, rows)
    report(results, rows, events, args.runs)


async def measure(
    container: Container, path: Path, batches: list[list[Record]], runs: int, rows: int
) -> dict[str, list[float]]:
    """Seconds of each kind of run: raw, import, projection."""
    results: dict[str, list[float]] = {"raw": [], "import": [], "project": []}
    async with container.database.pool.acquire() as admin:
        for run in range(runs):
            for kind in ("raw", "import") if run % 2 == 0 else ("import", "raw"):
                await (admin.execute(RAW_DDL) if kind == "raw" else empty_log(admin))
                await settle(admin)
                began = time.perf_counter()
                if kind == "raw":
                    await write_raw(admin, batches)
                else:
                    report = await OrrImporter(container.store, actor="bench").run(path)
                    assert report.events_appended == sum(map(len, batches))
                results[kind].append(time.perf_counter() - began)
                print(f"  run {run + 1}/{runs} {kind:6s} {rows / results[kind][-1]:8,.0f} rows/s")
            await reset_read_models(container)
            began = time.perf_counter()
            await container.runner.catch_up(within=600)
            results["project"].append(time.perf_counter() - began)
        await admin.execute("DROP TABLE IF EXISTS bench_raw_events")
        await empty_log(admin)
    return results


def report(results: dict[str, list[float]], rows: int, events: int, runs: int) -> None:
    raw = [rows / s for s in results["raw"]]
    imported = [rows / s for s in results["import"]]
    ratio = median(imported) / median(raw)
    whole = median(results["import"]) + median(results["project"])
    print()
    print(f"import: {rows:,} rows, {events:,} events, median of {runs}")
    print_table(
        ["", "rows/s (median)", "events/s", "runs (rows/s)"],
        [
            [
                "(a) raw executemany",
                rate(median(raw)),
                rate(median(raw) * events / rows),
                runs_text(raw),
            ],
            [
                "(b) importer",
                rate(median(imported)),
                rate(median(imported) * events / rows),
                runs_text(imported),
            ],
        ],
    )
    print(
        f"RESULT import (b)/(a): {ratio:.2f}; whole file imported in "
        f"{median(results['import']):.1f} s and projected in "
        f"{median(results['project']):.1f} s: {whole:.1f} s until queryable"
    )


if __name__ == "__main__":
    asyncio.run(main())
