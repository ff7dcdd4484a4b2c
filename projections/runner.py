"""Feeds read models from the log: batch and checkpoint in one transaction, then LISTEN."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Coroutine, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg

from projections.projection import Projection, decoded
from service.eventstore.records import Connection, LogPosition
from service.eventstore.store import EventStore

log = logging.getLogger(__name__)

LIVE_SCHEMA = "public"
CHANNEL = "reunite_events"
PROJECTED_CHANNEL = "reunite_projected"  # service.application.notifications listens to it

WITHHELD_POLL = 0.05
FAILURE_BACKOFF = 0.05  # doubled per consecutive failure of a projection, up to:
MAX_BACKOFF = 30.0
SETUP_LOCK = "SELECT pg_advisory_xact_lock(hashtext('reunite.projections.setup'))"
ENSURE_CHECKPOINT = """
INSERT INTO projection_checkpoints (name, ddl_digest) VALUES ($1, $2)
ON CONFLICT (name) DO NOTHING
"""
READ_DDL_DIGEST = "SELECT ddl_digest FROM projection_checkpoints WHERE name = $1"
RENEW_CHECKPOINT = """
UPDATE projection_checkpoints
   SET transaction_id = '0', position = 0, events_applied = 0, ddl_digest = $2,
       updated_at = clock_timestamp()
 WHERE name = $1
"""
# The row lock makes two workers on one projection take turns, batch by batch.
LOCK_CHECKPOINT = """
SELECT transaction_id::text::bigint AS transaction_id, position
  FROM projection_checkpoints WHERE name = $1 FOR UPDATE
"""
READ_CHECKPOINT = """
SELECT transaction_id::text::bigint AS transaction_id, position
  FROM projection_checkpoints WHERE name = $1
"""
BEHIND = """
SELECT coalesce(bool_or((transaction_id, position) < ($2::text::xid8, $3::bigint)), false)
  FROM projection_checkpoints WHERE name = ANY($1::text[])
"""
SAVE_CHECKPOINT = """
UPDATE projection_checkpoints
   SET transaction_id = $2::text::xid8, position = $3,
       events_applied = events_applied + $4, updated_at = clock_timestamp()
 WHERE name = $1
"""
NOTIFY_PROJECTED = "SELECT pg_notify($1, $2)"
STATUS = """
SELECT c.name, c.position, c.events_applied, c.updated_at,
       (SELECT count(*) FROM events e
         WHERE (e.transaction_id, e.position) > (c.transaction_id, c.position)) AS lag
  FROM projection_checkpoints c ORDER BY c.name
"""
# Caught up to P: no projection has a committed event at or below P still ahead of it. A
# position no event holds (rolled back) is reached with everything committed before it.
# Ordered by the log's index from each checkpoint, so only the events after it are read.
CAUGHT_UP_TO = """
SELECT NOT EXISTS (
  SELECT FROM projection_checkpoints c CROSS JOIN LATERAL (
    SELECT FROM events e
     WHERE (e.transaction_id, e.position) > (c.transaction_id, c.position)
       AND e.position <= $1
     ORDER BY e.transaction_id, e.position LIMIT 1
  ) ahead
   WHERE c.name = ANY($2::text[])
) AND (SELECT count(*) FROM projection_checkpoints WHERE name = ANY($2::text[]))
      = cardinality($2::text[])
"""


@dataclass
class Trouble:
    """A projection whose batches fail: why, how often, when to retry and how carefully."""

    error: str
    failures: int = 0
    retry_at: float = 0.0
    careful: int = 0  # one-event batches still to apply before whole ones again


def digest(projection: Projection) -> str:
    """What a read model was built by: its table definitions and its fold's version."""
    return hashlib.sha256(f"{projection.version}\0{projection.ddl}".encode()).hexdigest()


@dataclass(frozen=True)
class ProjectionStatus:
    """Where one read model stands."""

    name: str
    position: int
    events_applied: int
    lag: int


class ProjectionRunner:
    """Keeps every registered projection caught up with the log."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        store: EventStore,
        projections: Sequence[Projection],
        batch_size: int = 5000,
    ) -> None:
        self.pool = pool
        self.store = store
        self.projections = {p.name: p for p in projections}
        self.batch_size = batch_size
        self.troubled: dict[str, Trouble] = {}  # projections whose batches fail

    async def setup(self, schema: str = LIVE_SCHEMA, only: str | None = None) -> None:
        """Create each projection's tables (if missing) and its checkpoint."""
        async with self.pool.acquire() as conn, conn.transaction():
            # Two processes starting together would race on CREATE TABLE IF NOT EXISTS.
            await conn.execute(SETUP_LOCK)
            await use_schema(conn, schema)
            for projection in self.projections.values():
                if only is not None and projection.name != only:
                    continue
                await conn.execute(projection.ddl)
                if schema == LIVE_SCHEMA:
                    await conn.execute(ENSURE_CHECKPOINT, projection.name, digest(projection))

    async def renew_changed(self) -> list[str]:
        """Empty each read model built by other definitions or another fold than this code's,
        to be replayed from the log; return their names.

        Only a process that runs the projections calls this, at start-up: a command-line
        tool or a reader must never drop what a running server is serving.
        """
        renewed = []
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(SETUP_LOCK)
            for projection in self.projections.values():
                wanted = digest(projection)
                if await conn.fetchval(READ_DDL_DIGEST, projection.name) == wanted:
                    continue
                # Read models are disposable: rebuilt from the log, never altered in place.
                log.warning("read model %s changed: replaying the log into it", projection.name)
                for table in projection.tables:
                    await conn.execute(f"DROP TABLE IF EXISTS {ident(table)} CASCADE")
                await conn.execute(projection.ddl)
                await conn.execute(RENEW_CHECKPOINT, projection.name, wanted)
                await conn.execute(NOTIFY_PROJECTED, PROJECTED_CHANNEL, f"{projection.name}:0")
                renewed.append(projection.name)
        return renewed

    async def step(self, name: str, limit: int | None = None) -> int:
        """Apply the next batch to one projection; return how many events it held."""
        projection = self.projections[name]
        async with self.pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(LOCK_CHECKPOINT, name)
            assert row is not None, f"projection {name} has no checkpoint; run setup()"
            after = LogPosition(row["transaction_id"], row["position"])
            applied = await self.apply_next(conn, projection, after, limit)
            if applied is not None:
                last, count = applied
                await conn.execute(
                    SAVE_CHECKPOINT, name, str(last.transaction_id), last.position, count
                )
                await conn.execute(NOTIFY_PROJECTED, PROJECTED_CHANNEL, f"{name}:{last.position}")
                return count
        return 0

    async def apply_next(
        self,
        conn: Connection,
        projection: Projection,
        after: LogPosition,
        limit: int | None = None,
    ) -> tuple[LogPosition, int] | None:
        """Fold the next batch after `after` into the tables on the search path."""
        recorded = await self.store.read_log(after, limit or self.batch_size, conn)
        if not recorded:
            return None
        batch = decoded(recorded, self.store.decode)
        await projection.apply(conn, batch)
        last = recorded[-1]
        return LogPosition(last.transaction_id, last.position), len(batch)

    async def catch_up(self, name: str | None = None, within: float = 60.0) -> int:
        """Apply batches until the projection (or all) include every event committed now.

        Events of transactions still running anywhere on the server are withheld from
        readers, so an empty batch alone does not mean caught up: wait for the target.
        """
        target = await self.store.committed_head()
        deadline = asyncio.get_running_loop().time() + within
        names = [name] if name else list(self.projections)
        return sum(await _side_by_side(self._catch_up(n, target, deadline, within) for n in names))

    async def _catch_up(
        self, name: str, target: LogPosition, deadline: float, within: float
    ) -> int:
        total = 0
        while True:
            applied = await self.step(name)
            total += applied
            if applied:
                continue
            if await self.checkpoint(name) >= target:
                return total
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"{name} did not reach {target} in {within}s")
            await asyncio.sleep(0.01)

    async def apply_available(self, stop: asyncio.Event | None = None) -> int:
        """Apply whatever every projection can read now, without waiting; between batches,
        give way to `stop` (each batch is its own transaction, so stopping loses nothing).

        A projection whose batch fails is logged, retried after a back-off one event per
        batch (so everything before the event that fails is applied) and never skipped;
        the others go on as usual.
        """
        now = asyncio.get_running_loop().time()
        due = [
            name
            for name in self.projections
            if (trouble := self.troubled.get(name)) is None or trouble.retry_at <= now
        ]
        return sum(await _side_by_side(self._apply(name, stop) for name in due))

    async def _apply(self, name: str, stop: asyncio.Event | None) -> int:
        try:
            applied = await self._drain(name, stop, self.troubled.get(name))
        except Exception as e:  # whatever it is, the batch stays unapplied
            self._failed(name, e)
            return 0
        if not (stop and stop.is_set()):  # drained to the end: healthy again
            self.troubled.pop(name, None)
        return applied

    async def _drain(self, name: str, stop: asyncio.Event | None, trouble: Trouble | None) -> int:
        total = 0
        while not (stop and stop.is_set()):
            careful = trouble is not None and trouble.careful > 0
            applied = await self.step(name, 1 if careful else None)
            if not applied:
                break
            total += applied
            if careful:
                assert trouble is not None
                trouble.careful -= 1
        return total

    def _failed(self, name: str, error: Exception) -> None:
        trouble = self.troubled.setdefault(name, Trouble(f"{type(error).__name__}: {error}"))
        trouble.failures += 1
        trouble.error = f"{type(error).__name__}: {error}"
        # The failed batch is retried one event at a time, for as many events as it held.
        trouble.careful = self.batch_size
        pause = min(MAX_BACKOFF, FAILURE_BACKOFF * 2 ** min(trouble.failures, 10))
        trouble.retry_at = asyncio.get_running_loop().time() + pause
        log.exception("projection %s: batch failed; retrying in %.1f s", name, pause)

    @property
    def failure(self) -> str | None:
        """What keeps failing, while any projection's batches do; None when all apply."""
        if not self.troubled:
            return None
        return "; ".join(f"{name}: {t.error}" for name, t in self.troubled.items())

    async def checkpoint(self, name: str) -> LogPosition:
        """Where a projection stands in the log."""
        row = await self.pool.fetchrow(READ_CHECKPOINT, name)
        return LogPosition(row["transaction_id"], row["position"]) if row else LogPosition()

    async def run(self, stop: asyncio.Event, idle_poll: float = 1.0) -> None:
        """Catch up, then wait for NOTIFY (or a slow poll, in case one is missed)."""
        woken = asyncio.Event()

        def wake(*_: object) -> None:
            woken.set()

        listener = await self.pool.acquire()
        try:
            await listener.add_listener(CHANNEL, wake)
            while not stop.is_set():
                woken.clear()
                await self.apply_available(stop)
                pause = idle_poll
                try:
                    # Committed events withheld behind an older open transaction send no
                    # second NOTIFY when it ends: poll briefly until they are readable.
                    if await self._behind():
                        pause = WITHHELD_POLL
                except Exception:
                    log.exception("could not tell whether events are withheld")
                if self.troubled:
                    now = asyncio.get_running_loop().time()
                    soonest = min(t.retry_at for t in self.troubled.values())
                    pause = max(0.0, min(pause, soonest - now))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(_first(woken, stop), pause)
        finally:
            with contextlib.suppress(asyncpg.PostgresError, OSError):
                await listener.remove_listener(CHANNEL, wake)
            await self.pool.release(listener)

    async def _behind(self) -> bool:
        head = await self.store.committed_head()
        behind = await self.pool.fetchval(
            BEHIND, list(self.projections), str(head.transaction_id), head.position
        )
        return bool(behind)

    async def status(self) -> list[ProjectionStatus]:
        """Each projection's checkpoint and how many events it has still to apply."""
        rows = await self.pool.fetch(STATUS)
        return [
            ProjectionStatus(r["name"], r["position"], r["events_applied"], r["lag"]) for r in rows
        ]

    async def caught_up_to(self, position: int, names: Sequence[str] | None = None) -> bool:
        """Whether the projections have applied every committed event up to this position."""
        wanted = list(names or self.projections)
        return bool(await self.pool.fetchval(CAUGHT_UP_TO, position, wanted))

    async def wait_for(self, position: int, within: float) -> bool:
        """Wait until projections have applied position, at most `within` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while not await self.caught_up_to(position):
            if loop.time() >= deadline:
                return False
            await asyncio.sleep(0.01)
        return True


async def use_schema(conn: Connection, schema: str) -> None:
    # Rebuilds write the same SQL into a shadow schema, found first on the search path.
    await conn.execute(f"SET LOCAL search_path TO {ident(schema)}, public")


def ident(name: str) -> str:
    if not name.replace("_", "").isalnum():
        raise ValueError(f"bad schema name {name!r}")
    return f'"{name}"'


async def _first(*events: asyncio.Event) -> None:
    waits = [asyncio.ensure_future(e.wait()) for e in events]
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waits:
            w.cancel()


async def _side_by_side(work: Iterable[Coroutine[Any, Any, int]]) -> list[int]:
    """Run each projection's work at once: one's Python runs while another waits on the
    database (each has its own tables, checkpoint and transaction), so both cores work.
    At the first failure the others are cancelled; it is raised, and any other logged."""
    tasks = [asyncio.create_task(w) for w in work]
    if not tasks:
        return []
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    failures = [e for t in tasks if not t.cancelled() and (e := t.exception()) is not None]
    for also in failures[1:]:
        log.error("another projection failed too", exc_info=also)
    if failures:
        raise failures[0]
    return [t.result() for t in tasks]
