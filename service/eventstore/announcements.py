"""Telling projection runners in every process that new events have committed."""

from __future__ import annotations

import asyncio
import logging

import asyncpg

log = logging.getLogger(__name__)

# Sent after commit, outside the append: a NOTIFY inside it would make commits serial.
ANNOUNCE = "SELECT pg_notify('reunite_events', '')"
# At most one announcement per interval: the first append after a quiet spell is announced
# at once, later ones share the next (each costs a round trip and a commit).
ANNOUNCE_INTERVAL = 0.02


class Announcements:
    """NOTIFY on reunite_events, now or throttled in the background."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self._pending: asyncio.TimerHandle | None = None
        self._sent_at = float("-inf")
        self._in_flight: set[asyncio.Future[None]] = set()

    async def now(self) -> None:
        """Announce at once (a caller that has just committed a batch of appends)."""
        await self.pool.execute(ANNOUNCE)

    def soon(self) -> None:
        """Announce in the background, at most once per ANNOUNCE_INTERVAL."""
        if self._pending is None:
            loop = asyncio.get_running_loop()
            wait = self._sent_at + ANNOUNCE_INTERVAL - loop.time()
            self._pending = loop.call_later(max(0.0, wait), self._send)

    def _send(self) -> None:
        self._pending = None
        self._sent_at = asyncio.get_running_loop().time()
        task = asyncio.ensure_future(self.now())
        self._in_flight.add(task)
        task.add_done_callback(self._sent)

    def _sent(self, task: asyncio.Future[None]) -> None:
        self._in_flight.discard(task)
        if not task.cancelled() and task.exception() is not None:
            # Runners also poll, so a lost announcement only delays them.
            log.warning("could not announce new events: %s", task.exception())

    async def drain(self) -> None:
        """Send a pending announcement now; before the pool closes."""
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None
            await self.now()
        if self._in_flight:
            await asyncio.gather(*self._in_flight, return_exceptions=True)
