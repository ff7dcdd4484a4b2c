"""Commands on one family take turns in this process, so each finds the family kept."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from uuid import UUID

# Longer than a command normally takes (tens of ms), short enough that a command stuck on a
# frozen database holds the next ones back only this long: they then go ahead without the
# turn, and the store's version check orders them as it orders writers in other processes.
TURN_WAIT = 1.0


class FamilyTurns:
    """One asyncio lock per family that a command is running on or waiting for.

    Without turns, a second command on a family another is deciding finds it taken from
    the cache, loads the whole stream, and then loses the append race anyway. Bounded: a
    family's entry lives only while commands on it are in flight.
    """

    def __init__(self, wait: float = TURN_WAIT) -> None:
        self.wait = wait
        self._locks: dict[UUID, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def turn(self, family_id: UUID) -> AsyncIterator[bool]:
        """Hold the family's turn (first come, first served); yields whether it was had
        within `wait` seconds (False: going ahead without it)."""
        held = self._locks.get(family_id)
        lock, users = held if held is not None else (asyncio.Lock(), 0)
        self._locks[family_id] = (lock, users + 1)
        had = False
        try:
            try:
                async with asyncio.timeout(self.wait):
                    had = await lock.acquire()
            except TimeoutError:
                pass
            yield had
        finally:
            if had:
                lock.release()
            users = self._locks[family_id][1] - 1
            if users:
                self._locks[family_id] = (lock, users)
            else:
                del self._locks[family_id]

    def __len__(self) -> int:
        return len(self._locks)
