"""Gap-safe global order: a reader tailing the log never skips an event that commits late.

Positions come from a sequence, so a transaction can take a lower position and commit after
one with a higher position. A reader that only remembers "the last position I read" then
skips the late event for ever. The store orders the log by (transaction_id, position) and
withholds every transaction at or above the oldest one still running (pg_snapshot_xmin).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Protocol
from uuid import UUID, uuid4

import asyncpg
import pytest

from service.application.container import Container
from service.eventstore.provenance import Provenance
from service.eventstore.records import COLUMNS, LogPosition, NewEvent, RecordedEvent, recorded_event
from service.eventstore.store import EventStore
from tests.scenarios.family import T0

pytestmark = pytest.mark.integration

WRITER = Provenance(actor="load.test", role="system", source="test:gap-safe-order")
WRITERS = 10
TRANSACTIONS_PER_WRITER = 8

# The mistake the store must not make: checkpoint on position alone.
NAIVE_READ = f"SELECT {COLUMNS} FROM events WHERE position > $1 ORDER BY position"


def tick(label: str) -> NewEvent:
    return NewEvent("test:Tick", label.encode(), T0)


def positions(events: list[RecordedEvent]) -> list[int]:
    return [e.position for e in events]


class Tailer(Protocol):
    """A reader that remembers its place and returns what it has not returned before."""

    async def poll(self) -> list[RecordedEvent]: ...


class GapSafeTailer:
    """The store's reader: checkpoint on (transaction_id, position)."""

    def __init__(self, store: EventStore, limit: int = 1000) -> None:
        self.store, self.limit, self.after = store, limit, LogPosition()

    async def poll(self) -> list[RecordedEvent]:
        batch = await self.store.read_log(self.after, self.limit)
        if batch:
            self.after = LogPosition(batch[-1].transaction_id, batch[-1].position)
        return batch


class NaiveTailer:
    """The control: checkpoint on position alone."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool, self.after = pool, 0

    async def poll(self) -> list[RecordedEvent]:
        batch = [recorded_event(r) for r in await self.pool.fetch(NAIVE_READ, self.after)]
        if batch:
            self.after = batch[-1].position
        return batch


async def read_until(tailer: Tailer, count: int) -> list[RecordedEvent]:
    """Poll until count events arrived; an unrelated open transaction may delay them."""
    seen: list[RecordedEvent] = []
    try:
        async with asyncio.timeout(10):
            while len(seen) < count:
                seen += await tailer.poll()
                await asyncio.sleep(0.01)
    except TimeoutError:
        pytest.fail(f"only {len(seen)} of {count} events arrived within 10 s")
    return seen


# --- One late commit, step by step -------------------------------------------------------


@dataclass
class LateCommit:
    """What a tailer returned around transaction A committing after B."""

    a_positions: list[int]
    b_positions: list[int]
    while_a_open: list[RecordedEvent]


async def a_late_commit_with_a_lower_position(
    container: Container, tailer: Tailer, a_commits: bool = True
) -> LateCommit:
    """A appends first (lower positions), B appends and commits, the tailer polls, A ends."""
    store, pool = container.store, container.database.pool
    before = await store.append(uuid4(), 0, [tick("before")], WRITER)
    assert positions(await read_until(tailer, 1)) == [before.first_position]

    async with pool.acquire() as a_conn, pool.acquire() as b_conn:
        a_transaction = a_conn.transaction()
        await a_transaction.start()
        try:
            a = await store.append(uuid4(), 0, [tick("A1"), tick("A2")], WRITER, conn=a_conn)
            async with b_conn.transaction():
                b = await store.append(uuid4(), 0, [tick("B")], WRITER, conn=b_conn)
            assert b.first_position > a.last_position  # B: higher position, committed first
            while_a_open = await tailer.poll()
        finally:
            if a_commits:
                await a_transaction.commit()
            else:
                await a_transaction.rollback()
    # Nothing else writes here, so A's two events took consecutive positions.
    return LateCommit([a.first_position, a.last_position], [b.first_position], while_a_open)


async def test_reader_waits_for_the_open_transaction_then_returns_both(
    container: Container,
) -> None:
    tailer = GapSafeTailer(container.store)
    scenario = await a_late_commit_with_a_lower_position(container, tailer)

    # While A is open neither A (uncommitted) nor B (xid above A's, so withheld) is returned.
    assert scenario.while_a_open == []
    # Once A commits both arrive, in (transaction_id, position) order: A took its xid first.
    seen = await read_until(tailer, 3)
    assert positions(seen) == scenario.a_positions + scenario.b_positions
    assert seen[0].transaction_id == seen[1].transaction_id < seen[2].transaction_id
    assert await tailer.poll() == []


async def test_a_rolled_back_transaction_only_delays_the_reader(container: Container) -> None:
    tailer = GapSafeTailer(container.store)
    scenario = await a_late_commit_with_a_lower_position(container, tailer, a_commits=False)

    assert scenario.while_a_open == []
    assert positions(await read_until(tailer, 1)) == scenario.b_positions
    assert await tailer.poll() == []


async def test_control_a_naive_position_reader_skips_the_late_commit(
    container: Container,
) -> None:
    # Proves the scenario can fail: the same steps with a position-only checkpoint lose A.
    tailer = NaiveTailer(container.database.pool)
    scenario = await a_late_commit_with_a_lower_position(container, tailer)

    assert positions(scenario.while_a_open) == scenario.b_positions  # read past A's gap
    assert await tailer.poll() == []  # A committed below the checkpoint: skipped for ever
    stored = await container.database.pool.fetch("SELECT position FROM events ORDER BY 1")
    assert set(scenario.a_positions) <= {r["position"] for r in stored}


# --- Many writers, some rolling back, some holding their transaction open ----------------


class Abandon(Exception):
    """A writer changes its mind after appending, so its transaction rolls back."""


@dataclass(frozen=True)
class Commit:
    """One committed transaction's positions and when its COMMIT was sent and answered."""

    first_position: int
    last_position: int
    sent: float
    answered: float


@dataclass
class Ledger:
    """What the writers know they did, to compare with what the reader saw."""

    committed: dict[int, tuple[UUID, int]] = field(default_factory=dict)
    rolled_back: set[int] = field(default_factory=set)
    commits: list[Commit] = field(default_factory=list)

    def overtakes(self) -> int:
        """Pairs where a higher-position transaction committed before a lower one did."""
        return sum(
            1
            for low in self.commits
            for high in self.commits
            if high.first_position > low.last_position and high.answered < low.sent
        )


async def writer(store: EventStore, pool: asyncpg.Pool, number: int, ledger: Ledger) -> None:
    """Append to one family stream in explicit transactions: commit, hold, or roll back."""
    rng = random.Random(number)
    stream_id, version = uuid4(), 0
    async with pool.acquire() as conn:
        for n in range(TRANSACTIONS_PER_WRITER):
            fate = rng.choices(["commit", "hold", "roll back"], weights=[4, 4, 2])[0]
            batch = [tick(f"writer {number} txn {n} event {i}") for i in range(rng.randint(1, 3))]
            try:
                async with conn.transaction():
                    result = await store.append(stream_id, version, batch, WRITER, conn=conn)
                    # Concurrent appends interleave their positions, so first..last is not
                    # this append's range: ask for the rows this transaction wrote.
                    taken = {
                        r["position"]: r["version"]
                        for r in await conn.fetch(
                            "SELECT position, version FROM events"
                            " WHERE stream_id = $1 AND version > $2",
                            stream_id,
                            version,
                        )
                    }
                    if fate != "commit":
                        # Keep the low positions uncommitted while other writers commit higher.
                        await asyncio.sleep(rng.uniform(0.002, 0.04))
                    if fate == "roll back":
                        raise Abandon
                    sent = time.monotonic()
            except Abandon:
                ledger.rolled_back.update(taken.keys())
                continue
            ledger.commits.append(
                Commit(result.first_position, result.last_position, sent, time.monotonic())
            )
            ledger.committed.update({position: (stream_id, v) for position, v in taken.items()})
            version = result.version
            await asyncio.sleep(rng.uniform(0, 0.005))


async def tail_until_caught_up(
    tailer: GapSafeTailer, pool: asyncpg.Pool, writers_done: asyncio.Event
) -> tuple[list[RecordedEvent], int]:
    """Everything the tailer returned, and how much of it arrived while writers still ran."""
    seen: list[RecordedEvent] = []
    during_writes = 0
    while True:
        finished = writers_done.is_set()  # read before polling, so the last poll is after it
        batch = await tailer.poll()
        seen += batch
        during_writes += 0 if finished else len(batch)
        if not batch and finished:
            head = await pool.fetchrow(
                "SELECT transaction_id::text::bigint AS transaction_id, position FROM events"
                " ORDER BY transaction_id DESC, position DESC LIMIT 1"
            )
            last = LogPosition() if head is None else LogPosition(*head)
            if tailer.after == last:
                return seen, during_writes
        await asyncio.sleep(0.002)


async def test_concurrent_writers_and_rollbacks_reader_sees_each_commit_once(
    container: Container,
) -> None:
    store, pool = container.store, container.database.pool
    ledger, writers_done = Ledger(), asyncio.Event()
    tailer = GapSafeTailer(store, limit=5)  # small pages: many reads interleave with writes
    reader = asyncio.create_task(tail_until_caught_up(tailer, pool, writers_done))

    await asyncio.gather(*(writer(store, pool, n, ledger) for n in range(WRITERS)))
    writers_done.set()
    seen, during_writes = await asyncio.wait_for(reader, timeout=30)

    # The scenario happened: rollbacks, late commits below committed positions, live tailing.
    assert ledger.rolled_back and ledger.overtakes() > 0 and during_writes > 0
    seen_positions = positions(seen)
    assert [p for p, times in Counter(seen_positions).items() if times > 1] == []
    assert {e.position: (e.stream_id, e.version) for e in seen} == ledger.committed
    assert ledger.rolled_back.isdisjoint(seen_positions)
    stored = await pool.fetch("SELECT position FROM events ORDER BY position")
    assert sorted(seen_positions) == [r["position"] for r in stored]
    order = [(e.transaction_id, e.position) for e in seen]
    assert all(a < b for a, b in pairwise(order))
    # Within a family the log order is the stream's version order.
    streams: dict[UUID, list[int]] = {}
    for event in seen:
        streams.setdefault(event.stream_id, []).append(event.version)
    assert all(versions == list(range(1, len(versions) + 1)) for versions in streams.values())
