"""Feeds read models from the log: batch and checkpoint in one transaction, then LISTEN."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from collections.abc import Coroutine, Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg
from opentelemetry import trace
from opentelemetry.trace import StatusCode

from projections import parking
from projections.announced import PROJECTED_CHANNEL, announcement
from projections.isolation import apply_isolating, is_outage
from projections.ownership import RELEASED, Ownership
from projections.parking import Parking, ParkingTable
from projections.progress import READ_CHECKPOINT, Progress
from projections.projection import Projection
from service.eventstore.records import Connection, LogPosition
from service.eventstore.store import EventStore
from service.postgres.listener import Listener, ListenerState

log = logging.getLogger(__name__)
# A no-op unless a tracer provider is installed (service/entrypoints/tracing.py).
TRACER = trace.get_tracer(__name__)

LIVE_SCHEMA = "public"
CHANNEL = "reunite_events"

WITHHELD_POLL = 0.05
# Batches that fail for a reason not about one event (the database is down) are retried
# after FAILURE_BACKOFF, doubled per consecutive failure, up to MAX_BACKOFF; listening
# again after an outage retries at once.
FAILURE_BACKOFF = 0.05
MAX_BACKOFF = 2.0
# How often a process that runs projections tries to take those no process owns (a standby
# takes over from an owner that died within about this long; ownership.py).
CLAIM_POLL = 1.0
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
# Workers on one projection take turns, batch by batch, on a transaction-level advisory
# lock, not the checkpoint's row lock: a row lock gives the batch's transaction an id from
# its start, and an open transaction id holds back every reader's gap-safe horizon. Taken
# this way, a batch has an id only while it writes, so one projection's batch hides newer
# events from the others for milliseconds, not for the whole fold.
LOCK_CHECKPOINT = "SELECT pg_advisory_xact_lock(hashtext('reunite.projection:' || $1))"


# Only from where the batch began: a checkpoint moved meanwhile fails the batch. Every
# writer of this code takes the projection's turn first, so it guards against writers that
# do not (a process of an older version, mid-upgrade, that locks the row instead).
SAVE_CHECKPOINT = """
UPDATE projection_checkpoints
   SET transaction_id = $2::text::xid8, position = $3,
       events_applied = events_applied + $4, updated_at = clock_timestamp()
 WHERE name = $1 AND transaction_id = $5::text::xid8 AND position = $6
"""
NOTIFY_PROJECTED = "SELECT pg_notify($1, $2)"


@dataclass
class Trouble:
    """A projection whose batches fail, not for one event (the database is down, say):
    why, how often, and when to retry."""

    error: str
    failures: int = 0
    retry_at: float = 0.0


@dataclass(frozen=True)
class Batch:
    """One batch read from the log: where it ends, how many events it held and applied."""

    last: LogPosition
    read: int
    applied: int
    families: list[UUID]


def digest(projection: Projection) -> str:
    """What a read model was built by: its table definitions and its fold's version."""
    return hashlib.sha256(f"{projection.version}\0{projection.ddl}".encode()).hexdigest()


class ProjectionRunner(Progress):
    """Keeps every registered projection caught up with the log."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        store: EventStore,
        projections: Sequence[Projection],
        batch_size: int = 5000,
    ) -> None:
        self.projections = {p.name: p for p in projections}
        self._digests = {p.name: digest(p) for p in projections}  # once, not per batch
        super().__init__(pool, self.projections)
        self.store = store
        self.batch_size = batch_size
        self.troubled: dict[str, Trouble] = {}  # projections whose batches fail
        self._woken = {name: asyncio.Event() for name in self.projections}
        self._heard = asyncio.Event()  # the listener's own loop: a loss wakes it too
        self.listener = Listener(pool, CHANNEL, self._wake)
        self.ownership = Ownership(pool, self.projections, CHANNEL)
        self._released = asyncio.Event()  # another process let projections go: claim now
        self.exclusive = False  # run() with owners: only owned projections are applied
        self.running = False

    @property
    def listening(self) -> ListenerState:
        """Whether run() hears new events now (connected, since when, why not)."""
        return self.listener.state

    async def setup(
        self, schema: str = LIVE_SCHEMA, only: str | None = None, owner: asyncpg.Pool | None = None
    ) -> None:
        """Create each projection's tables (if missing) and its checkpoint, as `owner` when
        the runner's own pool acts as a role that may not (Database.as_owner)."""
        async with (owner or self.pool).acquire() as conn, conn.transaction():
            # Two processes starting together would race on CREATE TABLE IF NOT EXISTS.
            await conn.execute(SETUP_LOCK)
            await use_schema(conn, schema)
            for projection in self.projections.values():
                if only is not None and projection.name != only:
                    continue
                await conn.execute(projection.ddl)
                if schema == LIVE_SCHEMA:
                    await conn.execute(ENSURE_CHECKPOINT, projection.name, digest(projection))

    async def renew_changed(self, owner: asyncpg.Pool | None = None) -> list[str]:
        """Empty each read model built by other definitions or another fold than this code's,
        to be replayed from the log, as `owner` like setup(); return their names.

        Only a process that runs the projections calls this, at start-up: a command-line
        tool or a reader must never drop what a running server is serving.
        """
        renewed = []
        async with (owner or self.pool).acquire() as conn, conn.transaction():
            await conn.execute(SETUP_LOCK)
            for projection in self.projections.values():
                await conn.execute(LOCK_CHECKPOINT, projection.name)  # no batch meanwhile
                wanted = digest(projection)
                if await conn.fetchval(READ_DDL_DIGEST, projection.name) == wanted:
                    continue
                # Read models are disposable: rebuilt from the log, never altered in place.
                log.warning("read model %s changed: replaying the log into it", projection.name)
                for table in projection.tables:
                    await conn.execute(f"DROP TABLE IF EXISTS {ident(table)} CASCADE")
                await conn.execute(projection.ddl)
                await conn.execute(RENEW_CHECKPOINT, projection.name, wanted)
                # The replay meets the events this code could not apply again, and parks anew.
                await conn.execute(parking.FORGET, projection.name)
                await conn.execute(
                    NOTIFY_PROJECTED, PROJECTED_CHANNEL, announcement(projection.name, 0)
                )
                renewed.append(projection.name)
        return renewed

    async def step(self, name: str, limit: int | None = None) -> int:
        """Apply the next batch to one projection; return how many events it held.

        With tracing on, a batch that held events, or failed, is a `reunite.project` span
        (the projection, events read and applied, families, the last position); a look
        that found nothing new is none, so an idle runner sends no spans."""
        began = time.time_ns()
        try:
            batch = await self._step(name, limit)
        except Exception as e:
            span = TRACER.start_span("reunite.project", start_time=began)
            span.set_attribute("reunite.projection", name)
            span.record_exception(e)
            span.set_status(StatusCode.ERROR, type(e).__name__)
            span.end()
            raise
        if batch is None:
            return 0
        span = TRACER.start_span("reunite.project", start_time=began)
        if span.is_recording():
            span.set_attribute("reunite.projection", name)
            span.set_attribute("reunite.events_read", batch.read)
            span.set_attribute("reunite.events_applied", batch.applied)
            span.set_attribute("reunite.families", len(batch.families))
            span.set_attribute("reunite.last_position", batch.last.position)
        span.end()
        return batch.read

    async def _step(self, name: str, limit: int | None) -> Batch | None:
        projection = self.projections[name]
        async with self.pool.acquire() as conn, conn.transaction():
            after, built_by = await take_turn(conn, name)
            # Tables rebuilt by another version's code (a rollout's `projections rebuild`)
            # are not this code's to write: the batch fails, and keeps failing until a
            # process of that version takes over (docs/deploy.md). Read with the checkpoint:
            # no query of its own per batch.
            if built_by != (wanted := self._digests[name]):
                raise ReadModelReplaced(
                    f"projection {name}'s tables were built by other code (digest"
                    f" {str(built_by)[:12]}, this code's {wanted[:12]}): stop this"
                    " process and run the version that built them"
                )
            batch = await self.apply_next(conn, projection, after, ParkingTable(), limit)
            if batch is None:
                return None
            # Past parked events too: they wait in parked_events, not in front of the others.
            last, began = batch.last, (str(after.transaction_id), after.position)
            saved = await conn.execute(
                SAVE_CHECKPOINT,
                name,
                str(last.transaction_id),
                last.position,
                batch.applied,
                *began,
            )
            if saved != "UPDATE 1":
                raise CheckpointMoved(f"projection {name}'s checkpoint moved during its batch")
            said = announcement(name, last.position, batch.families)
            await conn.execute(NOTIFY_PROJECTED, PROJECTED_CHANNEL, said)
            return batch

    async def apply_next(
        self,
        conn: Connection,
        projection: Projection,
        after: LogPosition,
        parked: Parking,
        limit: int | None = None,
    ) -> Batch | None:
        """Fold the next batch after `after` into the tables on the search path; an event
        the projection cannot decode or apply is parked, and its family behind it."""
        recorded = await self.store.read_log(after, limit or self.batch_size, conn)
        if not recorded:
            return None
        families = list(dict.fromkeys(r.stream_id for r in recorded))
        waiting = await parked.families(conn, projection.name, families)
        held = await apply_isolating(conn, projection, self.store.decode, recorded, waiting)
        if held:
            await parked.park(conn, held)
            for p in held:
                if p.error is not None:
                    log.error(
                        "projection %s parked family %s at version %d (position %d): %s",
                        projection.name, p.stream_id, p.version, p.position, p.error,
                    )  # fmt: skip
        last = LogPosition(recorded[-1].transaction_id, recorded[-1].position)
        return Batch(last, len(recorded), len(recorded) - len(held), families)

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

    async def _apply(self, name: str, stop: asyncio.Event | None) -> int:
        """Apply what one projection can read now, giving way to `stop` between batches
        (each is its own transaction); an event it cannot apply is parked (step), and a
        batch that fails otherwise (the database is down) is retried after a back-off."""
        total = 0
        try:
            while (
                not (stop and stop.is_set())
                and self._may_apply(name)
                and (applied := await self.step(name))
            ):
                total += applied
        except Exception as e:  # whatever it is, the batch stays unapplied
            self._failed(name, e)
            return total
        if not (stop and stop.is_set()) and self._may_apply(name):  # drained: healthy again
            self.troubled.pop(name, None)
        return total

    def _failed(self, name: str, error: Exception) -> None:
        trouble = self.troubled.setdefault(name, Trouble(""))
        trouble.failures += 1
        trouble.error = f"{type(error).__name__}: {error}"
        pause = min(MAX_BACKOFF, FAILURE_BACKOFF * 2 ** min(trouble.failures, 10))
        trouble.retry_at = asyncio.get_running_loop().time() + pause
        if is_outage(error):  # one line per retry while the database is away, not a trace
            log.warning("projection %s: %s; retrying in %.1f s", name, trouble.error, pause)
        else:
            log.exception("projection %s: batch failed; retrying in %.1f s", name, pause)

    @property
    def failure(self) -> str | None:
        """What keeps failing, while any projection's batches do; None when all apply."""
        if not self.troubled:
            return None
        return "; ".join(f"{name}: {t.error}" for name, t in self.troubled.items())

    async def run(
        self,
        stop: asyncio.Event,
        idle_poll: float = 1.0,
        exclusive: bool = True,
        claim_poll: float = CLAIM_POLL,
    ) -> None:
        """Listen for NOTIFY (again, with back-off, whenever the connection is lost) while
        each projection follows the log on its own.

        With `exclusive`, only the projections this process owns (ownership.py) are
        applied; the others are claimed every `claim_poll` seconds, so this process stands
        by for them, and all are released when the run ends.

        Each on its own, because a projection's open transaction holds back the gap-safe
        horizon: one that found nothing readable behind another's transaction must look
        again soon, not wait until every other projection has drained.
        """
        self.exclusive, self.running = exclusive, True
        loops = [asyncio.create_task(self._listen(stop, idle_poll))]
        if exclusive:
            loops.append(asyncio.create_task(self._own(stop, claim_poll)))
        loops += [asyncio.create_task(self._follow(n, stop, idle_poll)) for n in self.projections]
        try:
            done, _ = await asyncio.wait(loops, return_when=asyncio.FIRST_COMPLETED)
            for loop in done:
                loop.result()  # one loop failed or was cancelled: the run ends with it
            await asyncio.gather(*loops)  # stop is set: the others finish their batch
        finally:
            for loop in loops:
                loop.cancel()
            await asyncio.gather(*loops, return_exceptions=True)
            self.running = False
            await self.ownership.release()  # every batch has ended: a standby goes on
            await self.listener.close()

    def _may_apply(self, name: str) -> bool:
        return not self.exclusive or self.ownership.owns(name)

    def runs(self, name: str) -> bool:
        """Whether this process applies the projection now (run() under way, and owned)."""
        return self.running and self._may_apply(name)

    async def _own(self, stop: asyncio.Event, poll: float) -> None:
        """Claim the projections no process owns, and notice a lost connection, each poll."""
        while not stop.is_set():
            self._released.clear()  # a release said from now on is heard by the wait below
            try:
                taken = await self.ownership.claim()
            except Exception:  # never let a claim end the run; try again next poll
                log.exception("claiming projections failed")
                taken = set()
            for name in taken:
                self._woken[name].set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(_first(self._released, stop), poll)

    def _wake(self, payload: str | None) -> None:
        if payload == RELEASED:
            self._released.set()
            return
        self._heard.set()
        for woken in self._woken.values():
            woken.set()

    async def _listen(self, stop: asyncio.Event, idle_poll: float) -> None:
        """Keep the listener connected; when nothing was heard for a poll interval, check
        the connection still answers."""
        while not stop.is_set():
            self._heard.clear()
            if not self.listener.connected and await self.listener.ensure():
                self._retry_now()  # the database is back: no need to sit out a back-off
            pause = idle_poll if self.listener.connected else self.listener.retry_in()
            try:
                await asyncio.wait_for(_first(self._heard, stop), max(pause, FAILURE_BACKOFF))
            except TimeoutError:
                await self.listener.probe()

    async def _follow(self, name: str, stop: asyncio.Event, idle_poll: float) -> None:
        """Apply what one projection can read, then wait for a NOTIFY or a poll."""
        woken = self._woken[name]
        while not stop.is_set():
            woken.clear()
            if not self._may_apply(name):  # another process owns it: stand by
                self.troubled.pop(name, None)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(_first(woken, stop), idle_poll)
                continue
            trouble = self.troubled.get(name)
            if trouble is None or trouble.retry_at <= asyncio.get_running_loop().time():
                await self._apply(name, stop)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(_first(woken, stop), await self._pause(name, idle_poll))

    async def _pause(self, name: str, idle_poll: float) -> float:
        """How long one projection waits for a NOTIFY before looking again anyway."""
        pause = idle_poll
        try:
            # Committed events withheld behind an older open transaction send no
            # second NOTIFY when it ends: poll briefly until they are readable.
            if await self.behind([name]):
                pause = WITHHELD_POLL
        except Exception as e:
            log.warning("could not tell whether events are withheld: %s", e)
        if not self.listener.connected:
            pause = min(pause, max(self.listener.retry_in(), WITHHELD_POLL))
        if (trouble := self.troubled.get(name)) is not None:
            pause = min(pause, trouble.retry_at - asyncio.get_running_loop().time())
        return max(0.0, pause)

    def _retry_now(self) -> None:
        for trouble in self.troubled.values():
            trouble.retry_at = 0.0


class CheckpointMoved(Exception):
    """Another worker renewed the checkpoint while a batch was applied; nothing was saved."""


class ReadModelReplaced(Exception):
    """A read model's tables were rebuilt by code of another version; nothing was applied."""


async def lock_checkpoint(conn: Connection, name: str) -> LogPosition:
    """Take one projection's turn for this transaction; where its checkpoint stands."""
    return (await take_turn(conn, name))[0]


async def take_turn(conn: Connection, name: str) -> tuple[LogPosition, str | None]:
    """lock_checkpoint, and the digest of the code that built the projection's tables."""
    await conn.execute(LOCK_CHECKPOINT, name)
    row = await conn.fetchrow(READ_CHECKPOINT, name)
    assert row is not None, f"projection {name} has no checkpoint; run setup()"
    return LogPosition(row["transaction_id"], row["position"]), row["ddl_digest"]


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
