"""Live updates over graphql-transport-ws, woken by NOTIFY after projections apply events."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Collection
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

LAST_VERSION = "SELECT coalesce(max(version), 0) FROM timeline WHERE family_id = $1"
BATCH = 100
LAST_CHILD = UUID(int=(1 << 128) - 1)


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
        query, args = sql.status_changes_sql((filter or ChildFilter()).to_sql())
        async with container.notifications.subscribe() as woken:
            start = await container.runner.checkpoint("cases")
            # Past every change the read models held when the subscription began.
            cursor = (start.transaction_id, start.position, LAST_CHILD)
            while True:
                rows = await pool.fetch(query, *cursor, *args)
                if rows:
                    last = rows[-1]
                    cursor = (last["transaction_id"], last["position"], last["child_id"])
                passing = [r for r in rows if r["passes"]]
                if passing:
                    await _record(
                        info, "subscription caseStatusChanged", {r["family_id"] for r in passing}
                    )
                    # A connection lives long: parents are loaded afresh for each batch,
                    # never from a DataLoader cache filled when the subscription started.
                    children = await children_from_rows(Loaders.create(pool), passing)
                    for row, child in zip(passing, children, strict=True):
                        yield _change(row, child)
                if len(rows) < sql.STATUS_CHANGE_BATCH:
                    await woken.get()


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
