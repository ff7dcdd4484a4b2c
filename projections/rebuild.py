"""Rebuild one read model into a shadow schema, then swap it in without downtime."""

from __future__ import annotations

import asyncio

from projections.announced import PROJECTED_CHANNEL, announcement
from projections.parking import ParkingInMemory
from projections.runner import (
    LIVE_SCHEMA,
    NOTIFY_PROJECTED,
    WITHHELD_POLL,
    ProjectionRunner,
    digest,
    ident,
    lock_checkpoint,
    use_schema,
)
from service.eventstore.records import Connection, LogPosition

REBUILD_WAITS = 1200  # a minute of WITHHELD_POLL


class Rebuilder:
    """Rebuilds one read model into a shadow schema, then swaps it in without downtime."""

    def __init__(self, runner: ProjectionRunner, name: str) -> None:
        self.runner = runner
        self.projection = runner.projections[name]
        self.schema = f"rebuild_{name}"
        self.position = LogPosition()
        self.applied = 0
        # What the fresh tables could not take: the live parked events once swapped in.
        self.parked = ParkingInMemory()

    async def run(self) -> int:
        """Replay the whole log into fresh tables and switch the live ones over."""
        pool = self.runner.pool
        await pool.execute(f"DROP SCHEMA IF EXISTS {ident(self.schema)} CASCADE")
        await pool.execute(f"CREATE SCHEMA {ident(self.schema)}")
        await self.runner.setup(self.schema, only=self.projection.name)
        await self._replay_up_to(await self.runner.store.committed_head())
        async with pool.acquire() as conn, conn.transaction():
            # Holding the projection's turn (its advisory lock) pauses the live runner meanwhile.
            await lock_checkpoint(conn, self.projection.name)
            while await self._apply(conn):
                pass
            await self._swap(conn)
        await pool.execute(f"DROP SCHEMA IF EXISTS {ident(self.schema)} CASCADE")
        return self.applied

    async def _replay_up_to(self, target: LogPosition) -> None:
        """Replay batches until the shadow tables hold every event committed at the start."""
        for _ in range(REBUILD_WAITS):
            while await self._step():
                pass
            if self.position >= target:
                return
            await asyncio.sleep(WITHHELD_POLL)  # withheld behind an older open transaction
        raise TimeoutError(f"rebuild of {self.projection.name} could not reach {target}")

    async def _step(self) -> bool:
        async with self.runner.pool.acquire() as conn, conn.transaction():
            return await self._apply(conn)

    async def _apply(self, conn: Connection) -> bool:
        await use_schema(conn, self.schema)
        batch = await self.runner.apply_next(conn, self.projection, self.position, self.parked)
        await use_schema(conn, LIVE_SCHEMA)
        if batch is None:
            return False
        self.position = batch.last
        self.applied += batch.applied
        return True

    async def _swap(self, conn: Connection) -> None:
        for table in self.projection.tables:
            await conn.execute(f"DROP TABLE IF EXISTS public.{ident(table)} CASCADE")
            await conn.execute(f"ALTER TABLE {ident(self.schema)}.{ident(table)} SET SCHEMA public")
        await conn.execute(
            "UPDATE projection_checkpoints SET transaction_id = $2::text::xid8, position = $3,"
            " events_applied = $4, ddl_digest = $5, updated_at = clock_timestamp()"
            " WHERE name = $1",
            self.projection.name,
            str(self.position.transaction_id),
            self.position.position,
            self.applied,
            digest(self.projection),
        )
        await self.parked.replace(conn, self.projection.name)
        # Every process's response cache forgets what it read from the old tables.
        said = announcement(self.projection.name, self.position.position)
        await conn.execute(NOTIFY_PROJECTED, PROJECTED_CHANNEL, said)
