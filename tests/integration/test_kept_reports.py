"""The log's horizon, and court reports kept once they can no longer change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from service.application.container import Container
from service.eventstore.horizon import Horizon
from service.history.kept_reports import KeptReports
from service.history.time_travel import TimeTravel
from tests.scenarios.court import on, separated


async def test_a_moment_is_behind_the_horizon_only_once_every_append_before_it_ended(
    container: Container,
) -> None:
    pool = container.database.pool
    async with pool.acquire() as writer, writer.transaction():
        # An append under way: the log is locked for writing, its rows not yet visible.
        await writer.execute("LOCK TABLE events IN ROW EXCLUSIVE MODE")
        during = datetime.now(UTC)
        horizon = Horizon()
        assert not await horizon.passed(pool, during)
    assert await horizon.passed(pool, during)
    assert not await horizon.passed(pool, datetime.now(UTC) + timedelta(hours=1))


async def test_a_sealed_report_is_replayed_once_and_a_later_one_every_time(
    container: Container,
) -> None:
    await separated(container, age=4, when=on(6, 1))
    travel, kept = TimeTravel.from_store(container.store), KeptReports(size=8)
    sealed, later = datetime.now(UTC), datetime.now(UTC) + timedelta(hours=1)
    first = await kept.court_report(travel, on(7, 26).date(), sealed)
    again = await kept.court_report(travel, on(7, 26).date(), sealed)
    assert again is first and kept.replays == 1
    await kept.court_report(travel, on(7, 26).date(), later)
    await kept.court_report(travel, on(7, 26).date(), later)
    assert kept.replays == 3 and len(kept.kept) == 1
