"""Replaying one family to a point against reading the same rows with raw asyncpg.

What is compared
    One family of 1,000 events (``--events``) is written through the ``Family`` aggregate
    and ``EventStore.append`` in commands of 1-3 events, so each command has its own
    recorded_at: two parents and four children separated, referred and placed, then
    transfers of children and parents, contacts and location attempts, and one correction
    in fifty (each re-folds the case). Around it, ``--scale`` x 2,000 other families of the
    ``bench.common`` workload share the table.

    (a) raw: ``pool.fetch`` of the family's rows with the store's columns, by stream id in
        version order (``service.eventstore.store.READ_STREAM``): asyncpg's own row decoding only.
    (b) replay: ``TimeTravel.case_at`` as ``familyAsOf`` runs it, with nothing decoded
        before: read the stream's prefix, decode each payload with the mapper, take the
        effective history (corrections applied) and fold it with ``projections.case_fold``
        into the read models' rows.
    (c) the same with the process's memo of decoded rows (``service.history.time_travel.
        DecodedRows``) holding the family, as after any earlier replay of it: every row is
        still read and compared column by column, only the decoding is saved.

    (d) encryption on: (b) for a second copy of the family written with personal fields
        sealed (``service.eventstore.sealed_payloads``: names, notes, how a parent was
        sought), by a store whose keyring opens them; its ratio to (b), made call by call
        in the same run, is what sealing costs a replay. Target: no more than 1.3x (b).

    Three points: the last event by recorded time (all 1,000 events), the middle event by
    recorded time (500), and the world on the middle event's date as known now (reads all
    1,000, counts those that occurred by then). Each is compared with the raw read of the
    rows it reads. Each run makes ``--repeat`` calls of each kind, taking turns call by
    call (which goes first rotates), and takes each kind's mean; the ratio is the median
    over ``--runs`` runs (>= 5) of each run's own ratio, the ms the median per kind.
    Target: no more than 3x (a). The "of which" rows split one cold replay into read,
    decode (building the rows and decoding payloads) and effective history + fold.

Reproduce
    .venv/bin/python -m bench.replay                         # 1,000 events, 7 runs
    .venv/bin/python -m bench.replay --runs 5 --scale 0.1    # quick
    DATABASE_URL=postgresql://... .venv/bin/python -m bench.replay --wipe

    Without DATABASE_URL a throwaway database ``reunite_bench_<random>`` is created on
    postgresql://postgres@127.0.0.1:5432/postgres, migrated, and dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import time
from collections.abc import Awaitable, Callable, Sequence
from uuid import UUID

from bench.catchup import load
from bench.common import (
    bench_database,
    build_workload,
    empty_log,
    median,
    print_table,
)
from bench.long_family import long_history, record
from bench.sealed import sealing_store
from projections.case_fold import fold_case
from projections.projection import decoded, effective_envelopes
from service.eventstore.codec import create_mapper
from service.eventstore.records import RecordedEvent, recorded_event
from service.eventstore.store import READ_STREAM, EventStore
from service.history.gc_pause import gc_paused
from service.history.replay import Point
from service.history.time_travel import READ_KNOWN, DecodedRows, TimeTravel
from service.postgres.database import Database

TARGET = 3.0
SEALED_TARGET = 1.3  # (d) encryption on, against (b) off


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Replay one family vs a raw read of its rows.")
    parser.add_argument("--runs", type=int, default=7, help="timed runs per case (median, >= 5)")
    parser.add_argument("--repeat", type=int, default=20, help="calls per timed run (mean)")
    parser.add_argument("--events", type=int, default=1000, help="events in the family")
    parser.add_argument("--scale", type=float, default=1.0, help="background families / 2,000")
    parser.add_argument("--seed", type=int, default=20180520, help="background workload seed")
    parser.add_argument("--wipe", action="store_true", help="allow emptying DATABASE_URL's log")
    args = parser.parse_args()
    if args.runs < 5 or args.repeat < 1 or args.events < 40 or args.scale < 0:
        parser.error("--runs >= 5, --repeat >= 1, --events >= 40, --scale >= 0")
    return args


Timed = Callable[[], Awaitable[object]]
KINDS = ("raw", "cold", "warm", "sealed")
LABELS = {
    "raw": "(a) raw read",
    "cold": "(b) replay",
    "warm": "(c) replay, memo warm",
    "sealed": "(d) replay, encryption on",
}


async def split(travel: TimeTravel, family_id: UUID, point: Point) -> tuple[float, float, float]:
    """One cold replay's seconds reading, decoding and folding (as time_travel does it)."""
    started = time.perf_counter()
    rows = await travel.store.pool.fetch(READ_KNOWN, family_id, point.known_at)
    read = time.perf_counter()
    with gc_paused():
        recorded = [recorded_event(r) for r in rows]
        history = decoded(recorded, travel.store.decode)
        built = time.perf_counter()
        fold_case(effective_envelopes(history), recorded[-1])
        folded = time.perf_counter()
    return read - started, built - read, folded - built


class Case:
    """One point of the family and the three ways of answering it."""

    def __init__(
        self,
        store: EventStore,
        family_id: UUID,
        point: Point,
        rows: int,
        sealed: Case | None = None,
    ) -> None:
        self.family_id, self.point, self.rows = family_id, point, rows
        self.pool = store.pool
        self.cold = TimeTravel.from_store(store, memo=None)
        self.warm = TimeTravel.from_store(store, memo=DecodedRows())
        self.sealed = sealed  # the same point of the copy written with encryption on

    async def raw(self) -> object:
        return await self.pool.fetch(READ_STREAM, self.family_id, self.rows)

    async def replay(self, travel: TimeTravel) -> object:
        state = await travel.case_at(self.family_id, self.point)
        assert state is not None and len(state.known) == self.rows
        return state

    def work(self, kind: str) -> Timed:
        if kind == "raw":
            return self.raw
        if kind == "sealed":
            sealed = self.sealed
            assert sealed is not None
            return lambda: sealed.replay(sealed.cold)
        travel = self.cold if kind == "cold" else self.warm
        return lambda: self.replay(travel)


async def measure(
    case: Case, args: argparse.Namespace
) -> tuple[dict[str, list[float]], list[tuple[float, float, float]]]:
    """Mean seconds per call of each kind, run by run.

    Within a run the kinds take turns call by call (rotating which goes first), so each
    ratio compares calls made moments apart: on a shared machine, whose speed drifts over
    seconds, blocks of calls of one kind compared machines as much as code.
    """
    await case.replay(case.warm)  # fill the memo once, as an earlier replay would have
    seconds: dict[str, list[float]] = {kind: [] for kind in KINDS}
    parts = []
    for _ in range(args.runs):
        spent = dict.fromkeys(KINDS, 0.0)
        for call in range(args.repeat):
            turn = call % len(KINDS)
            for kind in KINDS[turn:] + KINDS[:turn]:
                work = case.work(kind)
                started = time.perf_counter()
                await work()
                spent[kind] += time.perf_counter() - started
        for kind in KINDS:
            seconds[kind].append(spent[kind] / args.repeat)
        parts.append(await split(case.cold, case.family_id, case.point))
    return seconds, parts


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f}"


def report(
    name: str, seconds: dict[str, list[float]], parts: Sequence[tuple[float, ...]]
) -> list[list[str]]:
    """Table rows for one point: (a), (b) and (c) with ratios and verdicts, where (b) goes."""
    base = median(seconds["raw"])
    rows = []
    for kind in KINDS:
        spent = median(seconds[kind])
        # The median of each run's own ratio: each run's calls share the machine's moment.
        ratio = median(s / raw for s, raw in zip(seconds[kind], seconds["raw"], strict=True))
        verdict = "" if kind == "raw" else "PASS" if ratio <= TARGET else "BELOW TARGET"
        target = "" if kind == "raw" else f"<= {TARGET:.1f}"
        runs = " ".join(ms(v) for v in seconds[kind])
        rows.append([f"{name} {LABELS[kind]}", ms(spent), f"{ratio:.2f}", target, verdict, runs])
        if kind != "raw":
            target_text = f"target <= {TARGET:.1f}"
            print(f"RESULT {name} {LABELS[kind]}: {ratio:.2f} x (a) ({target_text}): {verdict}")
    on = median(s / c for s, c in zip(seconds["sealed"], seconds["cold"], strict=True))
    verdict = "PASS" if on <= SEALED_TARGET else "BELOW TARGET"
    rows.append(
        ["  (d) vs (b): encryption on/off", "", f"{on:.2f}", f"<= {SEALED_TARGET}", verdict, ""]
    )
    print(
        f"RESULT {name} encryption on/off (d)/(b): {on:.2f} x "
        f"(target <= {SEALED_TARGET}): {verdict}"
    )
    for i, part in enumerate(("read", "decode", "effective + fold")):
        spent = median(p[i] for p in parts)
        rows.append([f"  (b) of which {part}", ms(spent), f"{spent / base:.2f}", "", "", ""])
    return rows


def cases(store: EventStore, family_id: UUID, stored: list[RecordedEvent]) -> dict[str, Case]:
    """The three points of one copy of the family."""
    total, middle = len(stored), stored[len(stored) // 2 - 1]
    assert middle.occurred_at is not None
    return {
        f"all {total:,}": Case(store, family_id, Point(stored[-1].recorded_at), total),
        f"first {total // 2:,}": Case(store, family_id, Point(middle.recorded_at), total // 2),
        f"world on {middle.occurred_at:%Y-%m-%d}": Case(
            store, family_id, Point(on=middle.occurred_at.date()), total
        ),
    }


async def fill(
    db: Database, store: EventStore, args: argparse.Namespace
) -> tuple[UUID, list[RecordedEvent], str]:
    """The background families and the long one; what was written and how it is described."""
    async with db.pool.acquire() as admin:
        await empty_log(admin)
    background = build_workload(store.encode, args.seed, families=round(2000 * args.scale))
    if background.commands:
        await load(db.url, store, background.split(4))
    family = long_history(args.events)
    stored = await record(store, family)
    await db.pool.execute("VACUUM ANALYZE events")
    corrections = sum(type(e).__name__ == "EntryCorrected" for e in family.history)
    about = (
        f"{len(stored):,} events ({corrections} corrections); background: {background.describe()}"
    )
    return family.id, stored, about


async def main() -> None:
    args = parse_args()
    async with bench_database(args.wipe) as db:
        store = EventStore(db.pool, create_mapper())
        family_id, stored, about = await fill(db, store, args)
        sealed = sealing_store(db.pool)
        copy = long_history(args.events)
        sealed_cases = cases(sealed, copy.id, await record(sealed, copy))
        # The workload's objects are gone: collections during timing see a server's heap.
        gc.collect()
        print(f"family: {about}; runs: {args.runs} x {args.repeat} calls")
        clear_cases = cases(store, family_id, stored)
        table: list[list[str]] = []
        for (name, case), twin in zip(clear_cases.items(), sealed_cases.values(), strict=True):
            case.sealed = twin
            table += report(name, *await measure(case, args))
        async with db.pool.acquire() as admin:
            await empty_log(admin)
    print()
    print(f"replay of one family, ms per call, median of {args.runs} runs of {args.repeat} calls")
    print("  all: to the last event recorded; first: to the middle one by recorded time;")
    print("  world on D: events that occurred by D as known now (reads all, counts fewer)")
    print_table(["point", "ms", "vs (a)", "target", "", "runs (ms)"], table)


if __name__ == "__main__":
    asyncio.run(main())
