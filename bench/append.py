"""Append throughput: EventStore.append against raw asyncpg inserts of equivalent rows.

What is compared
    One fixed workload (seeded): about 20,000 real family events (built with the
    ``domain.family.Family`` aggregate, mapped with ``EventStore.encode``) over 2,000
    families, cut into commands of 1-3 events, interleaved across families in time.
    Every command is one transaction.

    (a) baseline: raw asyncpg, one ``INSERT ... SELECT FROM unnest(...)`` statement per
        command (implicit transaction) into ``bench_raw_events``, an equivalent table:
        ``CREATE TABLE ... (LIKE events INCLUDING ALL)``, i.e. the same columns, defaults
        (transaction id, recorded_at), identity position, constraints and indexes, without
        the store's triggers and functions. Each row carries the same sha256 hash chained
        per stream (prev_hash and hash, ``service.eventstore.chain.command_hashes``) and the same
        command record on a command's first event (request digest and event count). It
        returns the first and last position.
    (b) the store: ``EventStore.append(stream_id, expected_version, events, provenance,
        idempotency_key, digest, head=...)`` per command, given the stream's last hash as
        the command path has it from loading the family: the store's one INSERT (head
        check, the unique keys for version and idempotency) and its throttled NOTIFY.

    (c) encryption on: (b) for the same workload encoded with personal fields sealed
        (``service.eventstore.sealed_payloads``; the people's keys made and stored before
        timing, as the command path makes a person's key once, on first use). Sealing
        itself happens when a command's events are encoded, before the append: the time to
        build and encode the workload with encryption on and off is printed beside.

    Each with 1 writer and with 4 concurrent writers (asyncio tasks, each on its own
    connection of a pool of 4; families are dealt to writers so each family's commands
    stay in order within one writer). Before every timed run the baseline table is
    dropped and recreated, ``events`` and ``commands`` are emptied and a CHECKPOINT is
    taken; (a) and (b) runs alternate so noise hits both. The medians of ``--runs``
    runs are compared: target (b)/(a) >= 0.85 for both 1 and 4 writers.

Reproduce
    .venv/bin/python -m bench.append                 # full size, 5 runs
    .venv/bin/python -m bench.append --scale 0.1 --runs 1   # quick check
    DATABASE_URL=postgresql://... .venv/bin/python -m bench.append --wipe

    Without DATABASE_URL a throwaway database ``reunite_bench_<random>`` is created on
    postgresql://postgres@127.0.0.1:5432/postgres, migrated, and dropped at the end.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import time
from collections.abc import Sequence
from uuid import UUID

import asyncpg

from bench.common import (
    Command,
    bench_database,
    build_workload,
    empty_log,
    gather_writers,
    median,
    parse_args,
    print_table,
    rate,
    runs_text,
    settle,
    timed,
    verdict,
)
from bench.sealed import sealing_encoder, sealing_store
from service.eventstore.chain import command_hashes
from service.eventstore.codec import create_mapper
from service.eventstore.records import Connection
from service.eventstore.store import EventStore

TARGET = 0.85
FAMILIES = 2000
WRITER_COUNTS = (1, 4)
KINDS = ("raw", "store", "sealed")  # (c) sealed: the store, encryption on

RAW_DDL = """
DROP TABLE IF EXISTS bench_raw_events;
CREATE TABLE bench_raw_events (LIKE events INCLUDING ALL);
"""

RAW_INSERT = """
WITH inserted AS (
    INSERT INTO bench_raw_events (stream_id, version, topic, payload, occurred_at, actor,
                                  role, source, reason, correlation_id, causation_id,
                                  idempotency_key, request_digest, command_events,
                                  prev_hash, hash)
    SELECT $1, $2 + u.n::integer, u.topic, u.payload, u.occurred, $8, $9, $10, $11, $12,
           $13, $14, CASE WHEN u.n = 1 THEN $15::bytea END,
           CASE WHEN u.n = 1 THEN cardinality($3::text[]) END, u.prev_hash, u.hash
      FROM unnest($3::text[], $4::bytea[], $5::timestamptz[], $6::bytea[], $7::bytea[])
           WITH ORDINALITY AS u(topic, payload, occurred, prev_hash, hash, n)
    RETURNING position
)
SELECT min(position) AS first_position, max(position) AS last_position FROM inserted
"""


async def write_raw(conn: Connection, commands: Sequence[Command]) -> None:
    """(a) one INSERT ... SELECT FROM unnest per command, implicit transaction."""
    last: dict[UUID, bytes] = {}
    for c in commands:
        previous = last.get(c.stream_id)
        hashes = command_hashes(
            c.stream_id, c.expected_version, c.events, c.provenance, c.idempotency_key, previous
        )
        last[c.stream_id] = hashes[-1]
        p = c.provenance
        row = await conn.fetchrow(
            RAW_INSERT,
            c.stream_id,
            c.expected_version,
            [e.topic for e in c.events],
            [e.payload for e in c.events],
            [e.occurred_at for e in c.events],
            [previous, *hashes[:-1]],
            hashes,
            p.actor,
            p.role,
            p.source,
            p.reason,
            p.correlation_id,
            p.causation_id,
            c.idempotency_key,
            c.digest,
        )
        assert row is not None


async def main() -> None:
    # Five runs: with four writers on two shared cores, single runs vary by about 10 %.
    args = parse_args("Append throughput: EventStore.append vs raw asyncpg inserts.", runs=5)
    async with bench_database(args.wipe) as db:
        store = EventStore(db.pool, create_mapper())
        families = max(4, round(FAMILIES * args.scale))
        started = time.perf_counter()
        workload = build_workload(store.encode, args.seed, families=families)
        built = time.perf_counter() - started
        events = workload.events
        sealing = sealing_store(db.pool)
        assert sealing.keyring is not None
        started = time.perf_counter()
        sealed = build_workload(sealing_encoder(sealing), args.seed, families=families)
        built_sealed = time.perf_counter() - started
        await sealing.keyring.store_made(db.pool)
        assert sealed.events == events
        stores = {"store": (store, workload), "sealed": (sealing, sealed)}
        gc.collect()
        gc.freeze()  # the workload lives through every run; keep it out of GC passes
        print(f"workload: {workload.describe()} (seed {args.seed}); runs: {args.runs}")

        async def write_store(
            conn: Connection, commands: Sequence[Command], store: EventStore = store
        ) -> None:
            last: dict[UUID, bytes] = {}  # the command path has it from loading the family
            for c in commands:
                result = await store.append(
                    c.stream_id,
                    c.expected_version,
                    c.events,
                    c.provenance,
                    c.idempotency_key,
                    c.digest,
                    conn=conn,
                    head=last.get(c.stream_id),
                )
                assert result.head is not None
                last[c.stream_id] = result.head
                store.announcements.soon()  # as the command path does after each commit

        writers_pool = await asyncpg.create_pool(
            db.url, min_size=max(WRITER_COUNTS), max_size=max(WRITER_COUNTS)
        )
        results: dict[tuple[str, int], list[float]] = {}
        try:
            async with db.pool.acquire() as admin:
                for run in range(args.runs):
                    for writers in WRITER_COUNTS:
                        turn = (run + writers) % len(KINDS)
                        for kind in KINDS[turn:] + KINDS[:turn]:
                            shares = (workload if kind == "raw" else stores[kind][1]).split(writers)
                            if kind == "raw":
                                await admin.execute(RAW_DDL)
                            else:
                                await empty_log(admin)
                            await settle(admin)
                            conns = [await writers_pool.acquire() for _ in range(writers)]
                            try:
                                write = write_raw if kind == "raw" else write_store
                                if kind == "sealed":
                                    write = functools.partial(write_store, store=sealing)
                                seconds = await timed(gather_writers(conns, shares, write))
                            finally:
                                for conn in conns:
                                    await writers_pool.release(conn)
                            results.setdefault((kind, writers), []).append(events / seconds)
                            print(
                                f"  run {run + 1}/{args.runs} writers={writers} {kind:5s} "
                                f"{events / seconds:10,.0f} events/s ({seconds:.2f} s)",
                                flush=True,
                            )
                written = await admin.fetchval("SELECT count(*) FROM events")
                assert written == events, f"store wrote {written} events, expected {events}"
                await admin.execute("DROP TABLE IF EXISTS bench_raw_events")
                await sealing.announcements.drain()
                await empty_log(admin)
        finally:
            await writers_pool.close()

    rows, ratios = [], {}
    for writers in WRITER_COUNTS:
        raw, st = results[("raw", writers)], results[("store", writers)]
        ratio = median(st) / median(raw)
        ratios[writers] = ratio
        rows.append(
            [
                str(writers),
                rate(median(raw)),
                rate(median(st)),
                f"{ratio:.2f}",
                f">= {TARGET:.2f}",
                verdict(ratio, TARGET),
                runs_text(raw),
                runs_text(st),
            ]
        )
    print()
    print(f"append: {workload.describe()}, one transaction per command, median of {args.runs}")
    print_table(
        [
            "writers",
            "(a) raw ev/s",
            "(b) store ev/s",
            "(b)/(a)",
            "target",
            "",
            "(a) runs",
            "(b) runs",
        ],
        rows,
    )
    on = {w: median(results[("sealed", w)]) for w in WRITER_COUNTS}
    sealed_detail = ", ".join(
        f"{w} writer{'s' if w > 1 else ''} {on[w] / median(results[('store', w)]):.2f}"
        f" ({rate(on[w])} ev/s)"
        for w in WRITER_COUNTS
    )
    print(f"RESULT append encryption on (c)/(b) throughput: {sealed_detail}")
    print(
        f"RESULT encode (workload built through the aggregate and mapped): off {built:.2f} s, "
        f"on {built_sealed:.2f} s ({built_sealed / built:.2f} x) for {events:,} events"
    )
    worst = min(ratios.values())
    detail = ", ".join(f"{w} writer{'s' if w > 1 else ''} {r:.2f}" for w, r in ratios.items())
    print(f"RESULT append (b)/(a): {detail} (target >= {TARGET:.2f}): {verdict(worst, TARGET)}")


if __name__ == "__main__":
    asyncio.run(main())
