"""Queries read the read models only; each may wait to be as fresh as a given position."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import strawberry

from projections import family_queries, timeline
from schema.audit import reads
from schema.context import Info
from schema.errors import PublicError
from schema.paging import MinPosition, cursor_parts, fresh, page_size
from schema.permissions import CASE_READERS, OPERATORS
from schema.time_travel import TimelineFilter
from schema.types import (
    Connection,
    Family,
    ProjectionState,
    TimelineEntry,
    connection,
    encode_cursor,
)


@strawberry.type
class FamilyQueries:
    """Family cases and their timelines."""

    @strawberry.field(permission_classes=[CASE_READERS])
    async def family(
        self,
        info: Info,
        id: UUID,
        min_position: MinPosition = None,
    ) -> Family | None:
        await fresh(info, min_position)
        row = await family_queries.get_family(info.context.container.database.pool, id)
        if row is None:
            return None
        reads(info, [id])
        return Family.from_row(row)

    @strawberry.field(permission_classes=[CASE_READERS])
    async def families(
        self,
        info: Info,
        first: int = 20,
        after: str | None = None,
        min_position: MinPosition = None,
    ) -> Connection[Family]:
        await fresh(info, min_position)
        limit = page_size(info, first)
        parts = cursor_parts(after, 2)
        try:
            keyset = (datetime.fromisoformat(parts[0]), UUID(parts[1])) if parts else None
        except ValueError:
            raise PublicError(f"invalid cursor {after!r}", "BAD_CURSOR") from None
        pool = info.context.container.database.pool
        rows = await family_queries.page_families(pool, keyset, limit + 1)
        nodes = [Family.from_row(r) for r in rows[:limit]]
        reads(info, [n.family_id for n in nodes])
        cursors = [encode_cursor(r["opened_at"], r["family_id"]) for r in rows[:limit]]
        return connection(nodes, cursors, len(rows) > limit)

    @strawberry.field(permission_classes=[CASE_READERS])
    async def timeline(
        self,
        info: Info,
        family_id: UUID,
        filter: TimelineFilter | None = None,
        first: int = 50,
        after: str | None = None,
        min_position: MinPosition = None,
    ) -> Connection[TimelineEntry]:
        await fresh(info, min_position)
        limit = page_size(info, first)
        parts = cursor_parts(after, 1)
        if parts and not parts[0].isdigit():
            raise PublicError(f"invalid cursor {after!r}", "BAD_CURSOR")
        after_version = int(parts[0]) if parts else 0
        pool = info.context.container.database.pool
        flt = filter or TimelineFilter()
        rows = await timeline.page(
            pool, family_id, after_version, limit + 1, flt.member_id, flt.checked_types()
        )
        nodes = [TimelineEntry.from_row(r) for r in rows[:limit]]
        if nodes:
            reads(info, [family_id])
        return connection(
            nodes, [encode_cursor(r["version"]) for r in rows[:limit]], len(rows) > limit
        )

    @strawberry.field(permission_classes=[OPERATORS])
    async def projection_status(self, info: Info) -> list[ProjectionState]:
        runner = info.context.container.runner
        troubled = runner.troubled
        return [
            ProjectionState(
                name=s.name,
                position=s.position,
                events_applied=s.events_applied,
                lag=s.lag,
                parked_events=s.parked.events,
                parked_streams=s.parked.streams,
                last_failure=s.parked.last_error,
                last_failure_at=s.parked.last_error_at,
                failing=t.error if (t := troubled.get(s.name)) else None,
            )
            for s in await runner.status()
        ]
