"""Queries read the read models only; each may wait to be as fresh as a given position."""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import strawberry

from projections import family_queries, timeline
from schema.audit import reads
from schema.context import Info
from schema.errors import BAD_USER_INPUT, InputInvalid, PublicError
from schema.inputs import maybe_text
from schema.paging import (
    Before,
    Last,
    MinPosition,
    Page,
    Window,
    cursor_parts,
    fresh,
    keyset_page,
    window,
)
from schema.permissions import CASE_LISTS, CASE_READERS, HISTORY_READERS, OPERATORS
from schema.policy import Fact, Use
from schema.scoping import require, scope_of
from schema.time_travel import TimelineFilter
from schema.types import (
    Connection,
    Family,
    ProjectionState,
    TimelineEntry,
    connection,
    encode_cursor,
)

LAST_VERSION = 2**31 - 1  # a stream's versions are PostgreSQL integers


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
        row = await family_queries.get_family(info.context.container.database.read_pool, id)
        if row is None:
            return None
        reads(info, [id])
        return Family.from_row(row)

    @strawberry.field(permission_classes=[CASE_LISTS])
    async def families(
        self,
        info: Info,
        first: int = 20,
        after: str | None = None,
        last: Last = None,
        before: Before = None,
        min_position: MinPosition = None,
        represented_by: Annotated[
            str | None,
            strawberry.argument(
                description="Only the cases where this lawyer (a token's subject) is counsel "
                "of record now; for counsel, among the families of its own clients."
            ),
        ] = None,
        search: Annotated[
            str | None,
            strawberry.argument(
                description="Only the cases with this id, whose case number or a member's "
                "name contains this text (any case), or with a member of this A-number; "
                "for counsel, among the families of its own clients."
            ),
        ] = None,
    ) -> Connection[Family]:
        await fresh(info, min_position)
        asked = window(info, first, after, last, before)
        page = await families_page(info, asked, represented_by, search)
        nodes = [Family.from_row(r) for r in page.rows]
        reads(info, [n.family_id for n in nodes])
        return connection(nodes, page.cursors, page.has_next, has_previous=page.has_previous)

    @strawberry.field(permission_classes=[HISTORY_READERS])
    async def timeline(
        self,
        info: Info,
        family_id: UUID,
        filter: TimelineFilter | None = None,
        first: int = 50,
        after: str | None = None,
        last: Last = None,
        before: Before = None,
        min_position: MinPosition = None,
    ) -> Connection[TimelineEntry]:
        """The case's history, entry by entry; for counsel, of its clients' families only,
        and an asylum record only where it may read that person's asylum facts."""
        await fresh(info, min_position)
        scope = scope_of(info)
        require(scope, Fact.IDENTITY, Use.LIST, family_id)
        asked = window(info, first, after, last, before)
        page = await timeline_page(info, family_id, filter, asked)
        nodes = [TimelineEntry.from_row(r, scope) for r in page.rows]
        if nodes:
            reads(info, [family_id])
        return connection(nodes, page.cursors, page.has_next, has_previous=page.has_previous)

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


async def families_page(
    info: Info,
    asked: Window,
    represented_by: str | None,
    search: str | None,
    columns: str = "*",
    every_cursor: bool = True,
) -> Page[Any]:
    """A page of family_summary rows (`columns`: all for the executed path, those selected
    for a compiled plan, schema/read_plans.py), as `families` filters them."""
    pool = info.context.container.database.read_pool
    # One line of a label's length, no control character (Postgres holds no NUL): coded.
    try:
        search = maybe_text(search, "search")
        represented_by = maybe_text(represented_by, "representedBy")
    except InputInvalid as e:
        raise PublicError(str(e), BAD_USER_INPUT) from None
    # Who represents whom is an identity fact: the filter counts only where it may be read.
    # So are names and A-numbers: a search, too, finds only where they may be read.
    only = scope_of(info).families(Fact.IDENTITY, Use.LIST) if represented_by or search else None
    with contextlib.suppress(ValueError):  # a family's id: that family, by its key
        by_id = UUID(search) if search else None
        if by_id is not None:
            only = frozenset({by_id}) if only is None else frozenset({by_id}) & only
            search = None

    async def fetch(cursor: str | None, backward: bool, limit: int) -> list[Any]:
        parts = cursor_parts(cursor, 2)
        try:
            keyset = (datetime.fromisoformat(parts[0]), UUID(parts[1])) if parts else None
        except ValueError:
            raise PublicError(f"invalid cursor {cursor!r}", "BAD_CURSOR") from None
        return await family_queries.page_families(
            pool, keyset, limit, represented_by, only, backward, search, columns
        )

    return await keyset_page(
        asked, fetch, lambda r: encode_cursor(r["opened_at"], r["family_id"]), every_cursor
    )


async def timeline_page(
    info: Info,
    family_id: UUID,
    filter: TimelineFilter | None,
    asked: Window,
    columns: str = "*",
    every_cursor: bool = True,
) -> Page[Any]:
    """A page of a family's timeline rows (`columns`: all for the executed path, those
    selected for a compiled plan, schema/read_plans.py), for a caller the root admitted."""
    pool = info.context.container.database.read_pool
    flt = filter or TimelineFilter()
    types = flt.checked_types()
    readable = scope_of(info).people(Fact.ASYLUM, Use.LIST)

    async def fetch(cursor: str | None, backward: bool, limit: int) -> list[Any]:
        parts = cursor_parts(cursor, 1)
        if parts and not (parts[0].isdigit() and int(parts[0]) <= LAST_VERSION):
            raise PublicError(f"invalid cursor {cursor!r}", "BAD_CURSOR")
        version = int(parts[0]) if parts else (LAST_VERSION if backward else 0)
        args = (family_id, version, limit, flt.member_id, types, readable, backward)
        if columns == "*":
            return await timeline.page(pool, *args)
        # timeline.page's own statement, selecting only what a plan asks for.
        sql = (timeline.PAGE_BEFORE if backward else timeline.PAGE).replace(
            "SELECT *", f"SELECT {columns}", 1
        )
        listed = list(types) if types is not None else None
        found = list(readable) if readable is not None else None
        return await pool.fetch(sql, family_id, version, limit, flt.member_id, listed, found)

    return await keyset_page(asked, fetch, lambda r: encode_cursor(r["version"]), every_cursor)
