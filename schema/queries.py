"""Queries read the read models only; each may wait to be as fresh as a given position."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import strawberry

from projections import family_summary, timeline
from schema.context import Info
from schema.errors import PublicError
from schema.permissions import CASE_READERS, OPERATORS
from schema.types import (
    Connection,
    Family,
    ProjectionState,
    TimelineEntry,
    connection,
    decode_cursor,
    encode_cursor,
)

MinPosition = Annotated[
    int | None,
    strawberry.argument(
        description="Wait (bounded) until the read models include this global position."
    ),
]


async def fresh(info: Info, min_position: int | None) -> None:
    """Read-your-writes: wait until the projections have applied min_position."""
    if min_position is None:
        return
    container = info.context.container
    if not await container.runner.wait_for(min_position, container.settings.freshness_timeout):
        raise PublicError(
            f"read models have not reached position {min_position} yet; retry shortly",
            "NOT_FRESH",
        )


def page_size(info: Info, first: int) -> int:
    """The requested page size, refused above the configured cap."""
    cap = info.context.container.settings.max_page_size
    if not 1 <= first <= cap:
        raise PublicError(f"first must be between 1 and {cap}", "BAD_PAGE_SIZE")
    return first


def cursor_parts(cursor: str | None, count: int) -> list[str] | None:
    """Decode a cursor into its keyset values, or refuse it clearly."""
    if cursor is None:
        return None
    try:
        parts = decode_cursor(cursor)
    except ValueError as e:
        raise PublicError(str(e), "BAD_CURSOR") from None
    if len(parts) != count:
        raise PublicError(f"invalid cursor {cursor!r}", "BAD_CURSOR")
    return parts


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
        row = await family_summary.get_family(info.context.container.database.pool, id)
        return Family.from_row(row) if row else None

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
        rows = await family_summary.page_families(pool, keyset, limit + 1)
        nodes = [Family.from_row(r) for r in rows[:limit]]
        cursors = [encode_cursor(r["opened_at"], r["family_id"]) for r in rows[:limit]]
        return connection(nodes, cursors, len(rows) > limit)

    @strawberry.field(permission_classes=[CASE_READERS])
    async def timeline(
        self,
        info: Info,
        family_id: UUID,
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
        rows = await timeline.page(pool, family_id, after_version, limit + 1)
        nodes = [TimelineEntry.from_row(r) for r in rows[:limit]]
        return connection(
            nodes, [encode_cursor(r["version"]) for r in rows[:limit]], len(rows) > limit
        )

    @strawberry.field(permission_classes=[OPERATORS])
    async def projection_status(self, info: Info) -> list[ProjectionState]:
        states = await info.context.container.runner.status()
        return [
            ProjectionState(
                name=s.name, position=s.position, events_applied=s.events_applied, lag=s.lag
            )
            for s in states
        ]
