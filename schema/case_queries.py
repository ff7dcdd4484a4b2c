"""Queries over the case read models: children, parents, the court report, facilities."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any
from uuid import UUID

import strawberry

from domain.values import CredibleFearOutcome
from projections import case_queries as sql
from schema.audit import reads
from schema.audit_trail import time_travel
from schema.case_pages import (
    ChildFilter,
    ChildOrder,
    ParentFilter,
    children_page,
    listed_parents_page,
    parents_page,
    reinterview_narrowing,
)
from schema.context import Info
from schema.disclosure import CellKeys, month_end, on_calendar, on_vintage
from schema.errors import PublicError
from schema.paging import (
    Before,
    Last,
    MinPosition,
    Window,
    fresh,
    window,
)
from schema.permissions import ASYLUM_LISTS, CASE_LISTS, CASE_READERS, REPORT_READERS
from schema.policy import Fact
from schema.read_types import (
    Child,
    CourtReport,
    FacilityStats,
    Parent,
    ReinterviewStance,
    children_from_rows,
)
from schema.report import build_report, facility_figures
from schema.scoping import scope_of
from schema.time_travel import aware
from schema.types import Connection, connection
from service.access.auth import Role
from service.access.cell_key_secret import cell_key_secret

KnownAt = Annotated[
    datetime | None,
    strawberry.argument(
        description="The report as the system knew it then, replayed from the events recorded "
        "by this moment, so figures given to a court can be reproduced after corrections."
    ),
]


@strawberry.type
class CaseQueries:
    """What courts, counsel and caseworkers ask about children and parents."""

    @strawberry.field(permission_classes=[CASE_READERS])
    async def child(self, info: Info, id: UUID, min_position: MinPosition = None) -> Child | None:
        await fresh(info, min_position)
        row = await info.context.container.database.read_pool.fetchrow(sql.CHILD_BY_ID, id)
        if row is None:
            return None
        reads(info, [row["family_id"]])
        return (await children_from_rows(info.context.loaders, [row], scope_of(info)))[0]

    @strawberry.field(permission_classes=[CASE_READERS])
    async def parent(self, info: Info, id: UUID, min_position: MinPosition = None) -> Parent | None:
        await fresh(info, min_position)
        row = await info.context.container.database.read_pool.fetchrow(sql.PARENT_BY_ID, id)
        if row is None:
            return None
        reads(info, [row["family_id"]])
        return Parent.from_row(row, scope_of(info))

    @strawberry.field(permission_classes=[CASE_LISTS])
    async def children(
        self,
        info: Info,
        filter: ChildFilter | None = None,
        order_by: ChildOrder = ChildOrder.CHILD_ID,
        first: int = 50,
        after: str | None = None,
        last: Last = None,
        before: Before = None,
        min_position: MinPosition = None,
    ) -> Connection[Child]:
        await fresh(info, min_position)
        asked = window(info, first, after, last, before)
        scope = scope_of(info)
        page, count = await children_page(info, filter, order_by, asked)
        reads(info, [r["family_id"] for r in page.rows])
        return connection(
            await children_from_rows(info.context.loaders, page.rows, scope),
            page.cursors,
            page.has_next,
            count,
            page.has_previous,
        )

    @strawberry.field(permission_classes=[CASE_LISTS])
    async def parents(
        self,
        info: Info,
        filter: ParentFilter | None = None,
        first: int = 50,
        after: str | None = None,
        last: Last = None,
        before: Before = None,
        min_position: MinPosition = None,
    ) -> Connection[Parent]:
        """Parents by where they stand: removed (and where to), in custody, located."""
        await fresh(info, min_position)
        asked = window(info, first, after, last, before)
        page, count = await parents_page(info, filter, asked)
        reads(info, [r["family_id"] for r in page.rows])
        scope = scope_of(info)
        return connection(
            [Parent.from_row(r, scope) for r in page.rows],
            page.cursors,
            page.has_next,
            count,
            page.has_previous,
        )

    @strawberry.field(permission_classes=[ASYLUM_LISTS])
    async def reinterview_eligible(
        self,
        info: Info,
        first: int = 50,
        after: str | None = None,
        last: Last = None,
        before: Before = None,
        min_position: MinPosition = None,
        stance: Annotated[
            ReinterviewStance | None,
            strawberry.argument(description="Only the parents who stand so."),
        ] = None,
        outcome: Annotated[
            CredibleFearOutcome | None,
            strawberry.argument(description="Only the parents re-interviewed with this outcome."),
        ] = None,
    ) -> Connection[Parent]:
        """Separated parents whose negative credible-fear decision was made while separated
        (the settlement's class), red-flagged or ineligible for none of their children, each
        with where they stand (reinterviewStance). Made of asylum facts: for counsel, its
        clients who consented to their disclosure only, and so is totalCount."""
        narrowing = reinterview_narrowing(stance, outcome)
        asked = window(info, first, after, last, before)
        return await _parents(
            info, sql.REINTERVIEW_ELIGIBLE, asked, min_position, narrowing, Fact.ASYLUM
        )

    @strawberry.field(permission_classes=[CASE_LISTS])
    async def removals_without_documented_choice(
        self,
        info: Info,
        first: int = 50,
        after: str | None = None,
        last: Last = None,
        before: Before = None,
        min_position: MinPosition = None,
    ) -> Connection[Parent]:
        """Removed parents whose child stayed and who signed no removal election."""
        asked = window(info, first, after, last, before)
        return await _parents(
            info, sql.REMOVALS_WITHOUT_CHOICE, asked, min_position, sql.Narrowing()
        )

    @strawberry.field(permission_classes=[REPORT_READERS])
    async def court_report(
        self, info: Info, as_of: date, known_at: KnownAt = None, min_position: MinPosition = None
    ) -> CourtReport:
        keys = analyst_keys(info, as_of, "asOf")
        await fresh(info, min_position)
        if known_at is None:
            pool = info.context.container.database.read_pool
            rows = await sql.court_report(pool, as_of, fingerprints=keys is not None)
        else:  # replayed with the fingerprints, whoever asks (service.history.time_travel)
            moment = aware(known_at, "knownAt")
            if keys is not None:
                analyst_vintage(moment)
            rows = await known_report(info, as_of, moment)
        return build_report(as_of, rows, keys)

    @strawberry.field(permission_classes=[REPORT_READERS])
    async def facilities(
        self, info: Info, on: date, min_position: MinPosition = None
    ) -> list[FacilityStats]:
        keys = analyst_keys(info, on, "on")
        await fresh(info, min_position)
        pool = info.context.container.database.read_pool
        rows = await sql.facilities(pool, on, fingerprints=keys is not None)
        return facility_figures(rows, keys)


async def known_report(info: Info, as_of: date, known_at: datetime) -> list[Any]:
    """The report's rows as known then: kept when sealed (schema.cost), else replayed."""
    reports = info.context.reports
    if reports is None:
        return await time_travel(info).court_report(as_of, known_at)
    return await reports.court_report(time_travel(info), as_of, known_at)


def analyst_keys(info: Info, day: date, argument: str) -> CellKeys | None:
    """The cell keys that round an analyst's figures (schema.disclosure; ADR 0013), after
    refusing a day off the calendar; None for every other role, who see exact figures."""
    identity = info.context.identity
    if identity is None or identity.role is not Role.ANALYST:
        return None
    if not on_calendar(day):
        end = month_end(day)
        raise PublicError(
            f"{argument}: analysts' figures are published for the last day of a month only;"
            f" ask for {end - timedelta(days=end.day)} or {end}",
            "OFF_CALENDAR",
        )
    return CellKeys(cell_key_secret(info.context.container.settings))


def analyst_vintage(moment: datetime) -> None:
    """Refuse an analyst a report as known at any moment but a month's start: figures as
    known at every moment would round every change to the log afresh (ADR 0013)."""
    if not on_vintage(moment):
        first = month_end(moment.astimezone(UTC).date()) + timedelta(days=1)
        raise PublicError(
            "knownAt: analysts' figures are published as known at the start of a month only"
            f" (00:00 UTC on its first day), e.g. {first.isoformat()}T00:00:00Z",
            "OFF_CALENDAR",
        )


async def _parents(
    info: Info,
    where: str,
    asked: Window,
    min_position: int | None,
    narrowing: sql.Narrowing,
    made_of: Fact = Fact.STATUS,
) -> Connection[Parent]:
    """A page of the parents a fixed condition lists (see projections.case_queries), as
    narrowed, with its count narrowed alike; a condition `made_of` a fact the caller reaches
    only in part lists only the parents whose fact it may read (schema/policy.py)."""
    await fresh(info, min_position)  # and the caller's reach as of then
    page, count = await listed_parents_page(info, where, asked, narrowing, made_of)
    reads(info, [r["family_id"] for r in page.rows])
    scope = scope_of(info)
    return connection(
        [Parent.from_row(r, scope) for r in page.rows],
        page.cursors,
        page.has_next,
        count,
        page.has_previous,
    )
