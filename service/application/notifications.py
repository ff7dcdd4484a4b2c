"""One LISTEN connection per process, fanned out to in-process subscribers."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import asyncpg
from asyncpg.pool import PoolConnectionProxy

PROJECTED = "reunite_projected"


class Notifications:
    """Delivers 'a projection applied a batch' to every subscriber of this process."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self._listener: PoolConnectionProxy[asyncpg.Record] | None = None
        self._queues: set[asyncio.Queue[str]] = set()
        # Batches heard so far, and whether every later one will be heard: what lets the
        # response cache know when to forget.
        self.generation = 0
        self.listening = False

    async def start(self) -> None:
        """Take a connection and LISTEN; NOTIFY from any process then reaches us."""
        self._listener = await self.pool.acquire()
        await self._listener.add_listener(PROJECTED, self._dispatch)
        self._listener.add_termination_listener(self._lost)
        self.listening = True

    async def stop(self) -> None:
        """Stop listening and give the connection back."""
        self.listening = False
        if self._listener is not None:
            # A lost connection is already back in the pool: nothing left to remove.
            with contextlib.suppress(asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
                self._listener.remove_termination_listener(self._lost)
                await self._listener.remove_listener(PROJECTED, self._dispatch)
            await self.pool.release(self._listener)
            self._listener = None

    def _lost(self, _conn: object) -> None:
        self.listening = False

    def _dispatch(self, _conn: object, _pid: int, _channel: str, payload: object) -> None:
        self.generation += 1
        for queue in self._queues:
            # A slow subscriber only needs to know 'something changed'; one pending is enough.
            if queue.empty():
                queue.put_nowait(str(payload))

    @contextlib.asynccontextmanager
    async def subscribe(self) -> AsyncIterator[asyncio.Queue[str]]:
        """A queue that receives 'projection:position' after each applied batch."""
        queue: asyncio.Queue[str] = asyncio.Queue(maxsize=1)
        self._queues.add(queue)
        try:
            yield queue
        finally:
            self._queues.discard(queue)
