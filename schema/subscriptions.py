"""Live updates over graphql-transport-ws, woken by NOTIFY after projections apply events."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, Awaitable, Callable, Collection
from datetime import datetime
from functools import partial
from typing import TypeVar
from uuid import UUID

import asyncpg
import strawberry

from projections import case_queries as sql
from projections import timeline
from schema.case_pages import ChildFilter
from schema.context import Info
from schema.loaders import Loaders
from schema.outage import DatabaseUnavailable
from schema.permissions import CASE_LISTS, HISTORY_READERS
from schema.policy import Fact, Scope, Use
from schema.read_types import Child, ChildStatus, children_from_rows
from schema.scoping import require, rescope
from schema.types import TimelineEntry
from service.postgres.database import unavailable

LAST_VERSION = "SELECT coalesce(max(version), 0) FROM timeline WHERE family_id = $1"
BATCH = 100
LAST_CHILD = UUID(int=(1 << 128) - 1)
OUTAGE_GRACE = 60.0  # seconds a subscription waits for the database before it closes
RETRY_PAUSE = 0.25  # between reads while the database is out of reach
T = TypeVar("T")


@strawberry.type
class CaseStatusChange:
    """A child's status changed; the child as it stands after the change."""

    from_status: ChildStatus | None
    to_status: ChildStatus
    version: int
    occurred_at: datetime | None
    child: Child


@strawberry.type
class Subscription:
    """Events and status changes as the read models apply them, from any server process.

    Each resumes after the last item it delivered, so an outage of the database neither
    skips nor repeats one; one that outlasts OUTAGE_GRACE closes it with a retryable error.
    """

    @strawberry.subscription(permission_classes=[HISTORY_READERS])
    async def family_events(
        self, info: Info, family_id: UUID, after_version: int | None = None
    ) -> AsyncGenerator[TimelineEntry, None]:
        """Each new event of one family, in order, once the timeline has applied it; for
        counsel, while it represents someone of the family, and an asylum record only where
        it may read that person's asylum facts (checked again before each delivery)."""
        container = info.context.container
        pool = container.database.pool
        require(await rescope(info), Fact.IDENTITY, Use.LIST, family_id)

        async def read(last: int) -> tuple[Scope, list[asyncpg.Record]]:
            scope = await rescope(info)
            require(scope, Fact.IDENTITY, Use.LIST, family_id)
            readable = scope.people(Fact.ASYLUM, Use.LIST)
            return scope, await timeline.page(
                pool, family_id, last, BATCH, asylum_readable=readable
            )

        # Subscribe before reading where we start, so nothing slips in between.
        async with container.notifications.subscribe("timeline", family_id) as woken:
            last = after_version
            if last is None:
                last = int(await pool.fetchval(LAST_VERSION, family_id))
            while True:
                scope, rows = await _outliving_outages(
                    info,
                    woken,
                    f"subscribe again with afterVersion: {last}",
                    partial(read, last),
                    "subscription familyEvents",
                    lambda read: [family_id] if read[1] else [],
                )
                for row in rows:
                    last = row["version"]
                    yield TimelineEntry.from_row(row, scope)
                if len(rows) < BATCH:
                    await container.notifications.woken(woken)

    @strawberry.subscription(permission_classes=[CASE_LISTS])
    async def case_status_changed(
        self, info: Info, filter: ChildFilter | None = None
    ) -> AsyncGenerator[CaseStatusChange, None]:
        """Children whose status changes from now on, narrowed by the filter.

        A change a retried parked event makes (`reunite projections retry`) is dated where
        that event stands in the log, behind every open subscription's cursor: it is not
        delivered live, though the child's status and the family's timeline show it.
        """
        container = info.context.container
        pool = container.database.pool
        wanted = filter or ChildFilter()
        async with container.notifications.subscribe("cases") as woken:
            start = await container.runner.checkpoint("cases")
            # Past every change the read models held when the subscription began.
            cursor = (start.transaction_id, start.position, LAST_CHILD)
            while True:
                rows, children = await _outliving_outages(
                    info,
                    woken,
                    "subscribe again; the children query has their statuses as they stand",
                    partial(_status_changes, info, pool, wanted, cursor),
                    "subscription caseStatusChanged",
                    lambda read: {child.family_id for child in read[1]},
                )
                if rows:
                    last = rows[-1]
                    cursor = (last["transaction_id"], last["position"], last["child_id"])
                for row, child in zip([r for r in rows if r["passes"]], children, strict=True):
                    yield _change(row, child)
                if len(rows) < sql.STATUS_CHANGE_BATCH:
                    await container.notifications.woken(woken)


async def _status_changes(
    info: Info, pool: asyncpg.Pool, wanted: ChildFilter, cursor: tuple[object, ...]
) -> tuple[list[asyncpg.Record], list[Child]]:
    """The next status changes, and the children that pass the filter as they stand, as the
    caller's reach stands now (a representation may end while the subscription runs)."""
    scope = await rescope(info)
    query, args = sql.status_changes_sql(wanted.to_sql(scope))
    rows = await pool.fetch(query, *cursor, *args)
    passing = [r for r in rows if r["passes"]]
    # A connection lives long: parents are loaded afresh for each batch, never from a
    # DataLoader cache filled when the subscription started.
    loaders = Loaders.create(pool)
    children = await children_from_rows(loaders, passing, scope) if passing else []
    return rows, children


async def _outliving_outages(
    info: Info,
    woken: asyncio.Queue[str],
    resume: str,
    read: Callable[[], Awaitable[T]],
    operation: str,
    families: Callable[[T], Collection[UUID]],
) -> T:
    """The next rows, and their reads audited; while the database is out of reach, wait
    and read again (nothing was delivered from a failed read), up to OUTAGE_GRACE."""
    loop = asyncio.get_running_loop()
    down_since: float | None = None
    while True:
        try:
            result = await read()
            await _record(info, operation, families(result))
            return result
        except Exception as e:
            if not unavailable(e):
                raise
            now = loop.time()
            down_since = now if down_since is None else down_since
            if now - down_since > OUTAGE_GRACE:
                raise DatabaseUnavailable(
                    f"the database has been unreachable for {OUTAGE_GRACE:.0f} s; {resume}"
                ) from None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(woken.get(), RETRY_PAUSE)


async def _record(info: Info, operation: str, family_ids: Collection[UUID]) -> None:
    """Subscriptions have no end of execution: each delivery is audited as it goes."""
    identity = info.context.identity
    if identity is not None:
        await info.context.container.access_log.record(identity, operation, family_ids)


def _change(row: asyncpg.Record, child: Child) -> CaseStatusChange:
    """From a status_changes row and the child as it stands now."""
    return CaseStatusChange(
        from_status=ChildStatus(row["from_status"]) if row["from_status"] else None,
        to_status=ChildStatus(row["to_status"]),
        version=row["version"],
        occurred_at=row["occurred_at"],
        child=child,
    )
