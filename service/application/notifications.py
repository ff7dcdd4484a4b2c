"""One LISTEN connection per process, fanned out to in-process subscribers, kept alive."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from uuid import UUID

import asyncpg

from projections.announced import PROJECTED_CHANNEL, Announced, heard
from service.postgres.listener import Listener, ListenerState

# A connection to a frozen server or across a dropped network is never reported lost:
# it must answer a probe this often.
POLL_WHILE_DEAF = 0.5  # how often subscribers look for themselves while nothing is heard


class Notifications:
    """Delivers 'a projection applied a batch' to every subscriber of this process."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self.listener = Listener(pool, PROJECTED_CHANNEL, self._heard)
        # Each subscriber's queue, and the projection and family it waits for (None: any).
        self._queues: dict[asyncio.Queue[str], tuple[str | None, UUID | None]] = {}
        # Batches heard so far (and losses and returns of hearing, after which anything
        # may have changed), and whether every later one will be heard: what lets the
        # response cache know when to forget.
        self.generation = 0

    @property
    def listening(self) -> bool:
        return self.listener.connected

    @property
    def state(self) -> ListenerState:
        """Whether NOTIFY is heard now, since when, and why not."""
        return self.listener.state

    async def start(self) -> None:
        """Listen, and keep listening (service/postgres/listener.py)."""
        await self.listener.start()

    async def stop(self) -> None:
        """Stop listening and give the connection back."""
        await self.listener.stop()

    def _heard(self, payload: str | None) -> None:
        """A batch was announced (its subscribers look again), or hearing was lost or came
        back (everyone does)."""
        self.generation += 1
        said: Announced = heard(payload)
        for queue, (projection, family) in self._queues.items():
            # A slow subscriber only needs to know 'something changed'; one pending is enough.
            if queue.empty() and said.concerns(projection, family):
                queue.put_nowait("changed")

    @contextlib.asynccontextmanager
    async def subscribe(
        self, projection: str | None = None, family: UUID | None = None
    ) -> AsyncIterator[asyncio.Queue[str]]:
        """A queue that receives a wake-up after each batch `projection` (any, when None)
        applies to `family` (any, when None)."""
        queue: asyncio.Queue[str] = asyncio.Queue(maxsize=1)
        self._queues[queue] = (projection, family)
        try:
            yield queue
        finally:
            self._queues.pop(queue, None)

    async def woken(self, queue: asyncio.Queue[str]) -> None:
        """Wait for the next batch; while nothing can be heard, poll instead."""
        if self.listening:
            await queue.get()
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(queue.get(), POLL_WHILE_DEAF)
