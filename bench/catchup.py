"""Projection catch-up: the ProjectionRunner from zero against raw read-and-decode.

What is compared
    The log is first filled with at least 200,000 real family events (seeded workload of
    ``bench.common``: ~20,000 families built with the ``Family`` aggregate, commands of
    1-3 events interleaved across families), written through ``EventStore.append`` by 4
    concurrent writers with synchronous_commit off (loading is not timed), then
    VACUUM ANALYZE.

    (a) baseline: raw asyncpg reads the whole log in batches of 1000 in
        (transaction_id, position) order with a plain keyset SELECT of every column and
        decodes each payload with the eventsourcing mapper
        (``create_mapper().to_domain_event(StoredEvent(...))``).
    (b) ``ProjectionRunner`` with ``service.application.container.all_projections()`` catching up
        from zero: ``await runner.setup(); await runner.catch_up()`` (only catch_up is
        timed). Before each run the projection tables are dropped, the checkpoints
        deleted and setup re-run.

    events/s is log events per second: in (b) every event is applied to every
    projection. To show where the time goes, the runner's ``step`` is wrapped to add up
    the seconds each projection's batches take inside the same ``catch_up()`` (the
    "of which" rows; no extra runs). The runner applies the projections side by side,
    so their seconds overlap: the slowest one's rate is about (b)'s. (a) and (b)
    alternate in order from run to run so noise hits both; a CHECKPOINT precedes each.
    Medians of ``--runs`` runs are compared: target (b)/(a) >= 0.10.

    (c) encryption on against off: after (a) and (b), (b) again in turns over the same
        workload written with personal fields sealed (``service.eventstore.
        sealed_payloads``) and clear, each log written just before its run (not timed);
        on, by a store whose key cache starts empty (it loads and unwraps every person's
        key, as a process started afresh does). The median of each run's time on/off is
        what sealing costs a catch-up.

    The baseline orders by the qualified ``events.transaction_id``: a bare
    ``transaction_id`` in ORDER BY would name the select list's bigint cast, which no
    index provides (see the comment at READ).

Reproduce
    .venv/bin/python -m bench.catchup                        # 200,000 events, 3 runs
    .venv/bin/python -m bench.catchup --scale 0.1 --runs 1   # quick check
    .venv/bin/python -m cProfile -o /tmp/catchup.prof -m bench.catchup --scale 0.2 --runs 1
    DATABASE_URL=postgresql://... .venv/bin/python -m bench.catchup --wipe

    Without DATABASE_URL a throwaway database ``reunite_bench_<random>`` is created on
    postgresql://postgres@127.0.0.1:5432/postgres, migrated, and dropped at the end.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Sequence
from typing import Any

import asyncpg
from eventsourcing.persistence import Mapper, StoredEvent

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
from projections.catalog import all_projections
from projections.projection import Projection
from projections.runner import ProjectionRunner
from service.eventstore.codec import create_mapper
from service.eventstore.keyring import Keyring
from service.eventstore.records import Connection
from service.eventstore.store import EventStore

TARGET = 0.10
EVENTS = 200_000
BATCH = 1000
LOADERS = 4

READ = """
SELECT position, transaction_id::text::bigint AS transaction_id, stream_id, version, topic,
       payload, occurred_at, recorded_at, actor, role, source, reason, correlation_id,
       causation_id, idempotency_key, prev_hash, hash
  FROM events
 WHERE (transaction_id, position) > ($1::text::xid8, $2::bigint)
 ORDER BY events.transaction_id, events.position
 LIMIT $3
"""
# Qualified on purpose: a bare "transaction_id" in ORDER BY names the output column (the
# bigint cast), which no index provides, so every batch would seq-scan and sort the log.


async def read_and_decode(conn: Connection, mapper: Mapper[Any]) -> int:
    """(a) The whole log, batch by batch, each payload mapped back to its domain event."""
    after_tx, after_position, total = 0, 0, 0
    while rows := await conn.fetch(READ, str(after_tx), after_position, BATCH):
        decoded = [
            mapper.to_domain_event(
                StoredEvent(r["stream_id"], r["version"], r["topic"], r["payload"])
            )
            for r in rows
        ]
        total += len(decoded)
        after_tx, after_position = rows[-1]["transaction_id"], rows[-1]["position"]
    return total


LABELS = {"raw": "(a) raw read + decode", "runner": "(b) runner, all projections"}


class TimedRunner(ProjectionRunner):
    """The runner unchanged, also adding up the time each projection's batches take."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.spent: dict[str, float] = {}

    async def step(self, name: str, limit: int | None = None) -> int:
        started = time.perf_counter()
        try:
            return await super().step(name, limit)
        finally:
            self.spent[name] = self.spent.get(name, 0.0) + time.perf_counter() - started


async def reset_read_models(conn: Connection, projections: Sequence[Projection]) -> None:
    """Drop every projection table and forget every checkpoint."""
    for projection in projections:
        for table in projection.tables:
            await conn.execute(f'DROP TABLE IF EXISTS "{table}" CASCADE')
    await conn.execute("DELETE FROM projection_checkpoints")


async def load(url: str, store: EventStore, shares: Sequence[Sequence[Command]]) -> None:
    """Fill the log through the store, concurrently, without waiting for each fsync."""

    async def write(conn: Connection, commands: Sequence[Command]) -> None:
        for c in commands:
            await store.append(
                c.stream_id,
                c.expected_version,
                c.events,
                c.provenance,
                c.idempotency_key,
                c.digest,
                conn=conn,
            )

    pool = await asyncpg.create_pool(
        url,
        min_size=len(shares),
        max_size=len(shares),
        server_settings={"synchronous_commit": "off"},
    )
    try:
        conns = [await pool.acquire() for _ in shares]
        try:
            await gather_writers(conns, shares, write)
        finally:
            for conn in conns:
                await pool.release(conn)
    finally:
        await pool.close()


async def main() -> None:
    args = parse_args("Projection catch-up: ProjectionRunner vs raw read-and-decode.")
    async with bench_database(args.wipe) as db:
        mapper = create_mapper()
        store = EventStore(db.pool, mapper)
        projections = all_projections(store)
        started = time.perf_counter()
        workload = build_workload(store.encode, args.seed, min_events=round(EVENTS * args.scale))
        events = workload.events
        print(f"workload: {workload.describe()} (seed {args.seed}); runs: {args.runs}")
        print(f"  built in {time.perf_counter() - started:.1f} s", flush=True)

        async with db.pool.acquire() as admin:
            await empty_log(admin)
            await reset_read_models(admin, projections)
            seconds = await timed(load(db.url, store, workload.split(LOADERS)))
            # Hundreds of thousands of live command objects would make every cyclic GC
            # pass of the timed runs slower; only the log matters from here on.
            described = workload.describe()
            del workload
            gc.collect()
            print(f"  loaded in {seconds:.1f} s ({events / seconds:,.0f} events/s)", flush=True)
            await admin.execute("VACUUM ANALYZE events")
            written = await admin.fetchval("SELECT count(*) FROM events")
            assert written == events, f"log holds {written} events, expected {events}"

            runner_batch = 0
            baseline: list[float] = []
            runner_rates: list[float] = []
            shares: dict[str, list[float]] = {p.name: [] for p in projections}
            for run in range(args.runs):
                for kind in ("raw", "runner") if run % 2 == 0 else ("runner", "raw"):
                    if kind == "raw":
                        await settle(admin)
                        seconds = await timed(read_and_decode(admin, mapper))
                        baseline.append(events / seconds)
                    else:
                        await reset_read_models(admin, projections)
                        runner = TimedRunner(db.pool, store, projections)  # its own batch size
                        await runner.setup()
                        await settle(admin)
                        started = time.perf_counter()
                        applied = await runner.catch_up()
                        seconds = time.perf_counter() - started
                        expected = events * len(projections)
                        assert applied == expected, f"applied {applied}, expected {expected}"
                        runner_rates.append(events / seconds)
                        runner_batch = runner.batch_size
                        for name, spent in runner.spent.items():
                            shares[name].append(events / spent)
                    print(
                        f"  run {run + 1}/{args.runs} {LABELS[kind]:28s} "
                        f"{events / seconds:10,.0f} events/s ({seconds:.2f} s)",
                        flush=True,
                    )
            await reset_read_models(admin, projections)
            await empty_log(admin)
            off_rates, on_rates = await on_and_off(db, admin, args, events)

    base = median(baseline)
    ratio = median(runner_rates) / base
    rows = [
        [LABELS["raw"], rate(base), "1.000", "", "", runs_text(baseline)],
        [
            LABELS["runner"],
            rate(median(runner_rates)),
            f"{ratio:.3f}",
            f">= {TARGET:.2f}",
            verdict(ratio, TARGET),
            runs_text(runner_rates),
        ],
    ]
    for name, values in shares.items():
        if values:
            rows.append(
                [
                    f"  of which {name}",
                    rate(median(values)),
                    f"{median(values) / base:.3f}",
                    "",
                    "",
                    runs_text(values),
                ]
            )
    print()
    print(
        f"catch-up: {described}; batches: (a) {BATCH}, (b) {runner_batch} "
        f"(the runner's default); median of {args.runs}; events/s = log events per second"
    )
    print_table(["reader", "events/s", "vs (a)", "target", "", "runs"], rows)
    print(
        "  'of which' rows: log events / seconds spent in that projection's batches "
        "(read, decode, fold, write, checkpoint) during (b); they run side by side, so "
        "their seconds overlap."
    )
    print(
        f"RESULT catch-up (b)/(a): {ratio:.3f} (target >= {TARGET:.2f}): {verdict(ratio, TARGET)}"
    )
    slower = median(off / on for off, on in zip(off_rates, on_rates, strict=True))
    print(
        f"RESULT catch-up encryption on/off (c): {rate(median(on_rates))} against "
        f"{rate(median(off_rates))} events/s, time on/off {slower:.2f} x (median of each "
        "run's pair, each log written just before its run)"
    )


async def on_and_off(
    db: Any, admin: Connection, args: Any, events: int
) -> tuple[list[float], list[float]]:
    """(c): the runner's events/s with encryption off and on, in turns, each over its log
    written just before (not timed); on, a key cache that starts empty each run."""
    writer = sealing_store(db.pool)
    assert writer.keyring is not None
    clear = EventStore(db.pool, create_mapper())
    rates: dict[str, list[float]] = {"off": [], "on": []}
    for run in range(args.runs):
        for kind in ("off", "on") if run % 2 == 0 else ("on", "off"):
            await empty_log(admin)
            encode = sealing_encoder(writer) if kind == "on" else clear.encode
            workload = build_workload(encode, args.seed, min_events=round(EVENTS * args.scale))
            await writer.keyring.store_made(db.pool)
            await load(db.url, writer if kind == "on" else clear, workload.split(LOADERS))
            del workload
            gc.collect()
            await admin.execute("VACUUM ANALYZE events")
            store = clear
            if kind == "on":  # every person's key read and unwrapped, as by a new process
                keyring = Keyring(list(writer.keyring.keks.values()))
                store = EventStore(db.pool, create_mapper(keys=keyring), keyring)
            projections = all_projections(store)
            await reset_read_models(admin, projections)
            runner = TimedRunner(db.pool, store, projections)
            await runner.setup()
            await settle(admin)
            started = time.perf_counter()
            applied = await runner.catch_up()
            seconds = time.perf_counter() - started
            assert applied == events * len(projections), f"applied {applied}"
            rates[kind].append(events / seconds)
            print(
                f"  run {run + 1}/{args.runs} (c) runner, encryption {kind:3s}    "
                f"{events / seconds:10,.0f} events/s ({seconds:.2f} s)",
                flush=True,
            )
    await reset_read_models(admin, all_projections(writer))
    await empty_log(admin)
    return rates["off"], rates["on"]


if __name__ == "__main__":
    asyncio.run(main())
