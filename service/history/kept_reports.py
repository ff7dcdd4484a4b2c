"""Court reports as known at a moment behind the log's horizon, kept: they can never change.

A report as known at K counts the events recorded by K; once K is behind the horizon
(service.eventstore.horizon) no such event can still appear, and a correction recorded
later is not known at K, so the figures are final and reproducing them costs a lookup.
What is kept are the exact figures with their fingerprints (COURT_REPORT's rows): analysts'
rounding (schema.disclosure) is applied per caller on every answer, so one replay serves
every role. Callers asking for
a sealed report while it is being replayed share that one replay.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from datetime import UTC, date, datetime

import asyncpg

from service.eventstore.horizon import Horizon
from service.history.time_travel import TimeTravel

Key = tuple[date, datetime]
Rows = list[asyncpg.Record]
REPLAYS_AT_ONCE = 1


def report_key(as_of: date, known_at: datetime) -> Key:
    """The same moment in any time zone is one key."""
    return (as_of, known_at.astimezone(UTC))


class KeptReports:
    """A bounded LRU of sealed court reports, and the replays under way."""

    def __init__(self, size: int, horizon: Horizon | None = None) -> None:
        self.size = size
        self.horizon = horizon or Horizon()
        self.kept: OrderedDict[Key, Rows] = OrderedDict()
        self.running: dict[Key, asyncio.Task[Rows]] = {}
        self.replays = 0
        # One replay at a time per process: each is seconds of CPU on the requests' loop.
        self.replaying = asyncio.Semaphore(REPLAYS_AT_ONCE)

    async def court_report(self, travel: TimeTravel, as_of: date, known_at: datetime) -> Rows:
        """The report's rows: kept, joined to a replay of it under way, or replayed now."""
        key = report_key(as_of, known_at)
        rows = self.kept.get(key)
        if rows is not None:
            self.kept.move_to_end(key)
            return rows
        # Decided before the replay reads the log: what is sealed now is all in its snapshot.
        if key not in self.running and not await self.horizon.passed(travel.store.pool, known_at):
            return await self._replayed(travel, key)  # may still change: not kept
        task = self.running.get(key)
        if task is None and (rows := self.kept.get(key)) is not None:
            return rows  # kept while the horizon was probed
        if task is None:
            task = asyncio.create_task(self._replay(travel, key))
            self.running[key] = task
            task.add_done_callback(lambda done: self._finished(key, done))
        # Shielded: a caller that goes away does not cancel the replay others wait for.
        return await asyncio.shield(task)

    def _finished(self, key: Key, task: asyncio.Task[Rows]) -> None:
        self.running.pop(key, None)
        if not task.cancelled():
            task.exception()  # retrieved: a replay every waiter left fails quietly, not loudly

    async def _replayed(self, travel: TimeTravel, key: Key) -> Rows:
        async with self.replaying:
            self.replays += 1
            return await travel.court_report(*key)

    async def _replay(self, travel: TimeTravel, key: Key) -> Rows:
        rows = await self._replayed(travel, key)
        if self.size > 0:
            self.kept[key] = rows
            if len(self.kept) > self.size:
                self.kept.popitem(last=False)
        return rows
