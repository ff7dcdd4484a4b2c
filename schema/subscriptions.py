"""Live updates over graphql-transport-ws, woken by NOTIFY after projections apply events."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime
from uuid import UUID

import asyncpg
import strawberry

from projections import case_queries as sql
from projections import timeline
from schema.case_queries import ChildFilter
from schema.context import Info
from schema.loaders import Loaders
from schema.permissions import CASE_READERS
from schema.read_types import Child, ChildStatus, children_from_rows
from schema.types import TimelineEntry
from service.access_log import record_reads

LAST_VERSION = "SELECT coalesce(max(version), 0) FROM timeline WHERE family_id = $1"
BATCH = 100


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
    """Events and status changes as the read models apply them, from any server process."""

    @strawberry.subscription(permission_classes=[CASE_READERS])
    async def family_events(
        self, info: Info, family_id: UUID, after_version: int | None = None
    ) -> AsyncGenerator[TimelineEntry, None]:
        """Each new event of one family, in order, once the timeline has applied it."""
        container = info.context.container
        pool = container.database.pool
        # Subscribe before reading where we start, so nothing slips in between.
        async with container.notifications.subscribe() as woken:
            last = after_version
            if last is None:
                last = int(await pool.fetchval(LAST_VERSION, family_id))
            while True:
                rows = await timeline.page(pool, family_id, last, BATCH)
                if rows:
                    await _record(info, "subscription familyEvents", [family_id])
                for row in rows:
                    last = row["version"]
                    yield TimelineEntry.from_row(row)
                if len(rows) < BATCH:
                    await woken.get()

    @strawberry.subscription(permission_classes=[CASE_READERS])
    async def case_status_changed(
        self, info: Info, filter: ChildFilter | None = None
    ) -> AsyncGenerator[CaseStatusChange, None]:
        """Children whose status changes from now on, narrowed by the filter."""
        container = info.context.container
        pool = container.database.pool
        wanted = (filter or ChildFilter()).to_sql()
        async with container.notifications.subscribe() as woken:
            start = await container.runner.checkpoint("cases")
            cursor = (start.transaction_id, start.position)
            while True:
                rows = await pool.fetch(sql.STATUS_CHANGES_AFTER, *cursor)
                for row in rows:
                    cursor = (row["transaction_id"], row["position"])
                    if await _passes(pool, wanted, row):
                        await _record(info, "subscription caseStatusChanged", [row["family_id"]])
                        yield await _change(pool, row)
                if len(rows) < 500:
                    await woken.get()


async def _record(info: Info, operation: str, family_ids: list[UUID]) -> None:
    """Subscriptions have no end of execution: each delivery is audited as it goes."""
    identity = info.context.identity
    if identity is not None:
        await record_reads(info.context.container.database.pool, identity, operation, family_ids)


async def _passes(pool: asyncpg.Pool, wanted: sql.ChildFilter, row: asyncpg.Record) -> bool:
    """The status filter asks what the child changed to; the rest ask where it stands now."""
    if not sql.matches(wanted, {**dict(row), "status": row["to_status"]}):
        return False
    if wanted.data_quality_flag is None:
        return True
    return bool(await pool.fetchval(sql.HAS_FLAG, row["family_id"], wanted.data_quality_flag))


async def _change(pool: asyncpg.Pool, row: asyncpg.Record) -> CaseStatusChange:
    """From a status_changes row joined with the child's current child_case row."""
    return CaseStatusChange(
        from_status=ChildStatus(row["from_status"]) if row["from_status"] else None,
        to_status=ChildStatus(row["to_status"]),
        version=row["version"],
        occurred_at=row["occurred_at"],
        # A connection lives long: load the parents afresh for each delivery, not from a
        # DataLoader cache filled when the subscription started.
        child=(await children_from_rows(Loaders.create(pool), [row]))[0],
    )
