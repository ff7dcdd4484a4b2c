"""Queries over the case read models: children, parents, the court report, facilities."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime
from enum import Enum
from typing import Annotated, Any, TypeVar
from uuid import UUID

import strawberry

from domain.values import SeparationReason
from projections import case_queries as sql
from schema.audit import reads
from schema.audit_trail import time_travel
from schema.context import Info
from schema.errors import PublicError
from schema.paging import MinPosition, cursor_parts, fresh, page_size
from schema.permissions import CASE_READERS, REPORT_READERS
from schema.read_types import (
    AgeBand,
    Child,
    ChildStatus,
    CourtReport,
    FacilityStats,
    Parent,
    ParentSituation,
    children_from_rows,
)
from schema.report import build_report, suppress
from schema.time_travel import aware
from schema.types import Connection, connection, encode_cursor
from service.access.auth import Role

NO_ID = UUID(int=0)
F = TypeVar("F")
KnownAt = Annotated[
    datetime | None,
    strawberry.argument(
        description="The report as the system knew it then, replayed from the events recorded "
        "by this moment, so figures given to a court can be reproduced after corrections."
    ),
]


def stored(target: Callable[..., F], given: object) -> F:
    """The read model's filter from a GraphQL one: same field names, enums as values."""
    names = target.__dataclass_fields__  # type: ignore[attr-defined]
    values = {name: getattr(given, name) for name in names}
    return target(**{k: v.value if isinstance(v, Enum) else v for k, v in values.items()})


@strawberry.input
class FacilityDay:
    """A facility and a day: who was in its care then."""

    facility_id: str
    on: date


@strawberry.input
class ChildFilter:
    """Which children to list; every field narrows, none means all."""

    status: ChildStatus | None = None
    age_band: AgeBand | None = None
    facility_id: str | None = None
    parent_situation: ParentSituation | None = None
    removal_country: str | None = None
    separated_from: date | None = None
    separated_to: date | None = None
    separation_reason: SeparationReason | None = None
    data_quality_flag: str | None = None
    family_id: UUID | None = None
    in_facility_on: FacilityDay | None = strawberry.field(
        default=None,
        description="The facility census: children with a stay at this facility that "
        "covers this day (the current facility is facilityId).",
    )

    def to_sql(self) -> sql.ChildFilter:
        census = self.in_facility_on
        return replace(
            stored(sql.ChildFilter, self),
            in_facility_on=(census.facility_id, census.on) if census else None,
        )


@strawberry.enum
class ChildOrder(Enum):
    """How a page of children is ordered (the cursor follows the order)."""

    CHILD_ID = "child_id"
    SEPARATED_AT = "separated_at"


@strawberry.input
class ParentFilter:
    """Which parents to list; every field narrows, none means all."""

    situation: ParentSituation | None = None
    removal_country: str | None = None
    custody: str | None = None
    located: bool | None = None
    family_id: UUID | None = None

    def to_sql(self) -> sql.ParentFilter:
        return stored(sql.ParentFilter, self)


def child_after(after: str | None, order: ChildOrder) -> tuple[Any, ...]:
    """The keyset values inside a children cursor for this order."""
    if order is ChildOrder.CHILD_ID:
        return (after_id(after),)
    parts = cursor_parts(after, 2)
    if not parts:
        return (sql.NO_DATE, NO_ID)
    try:
        return (date.fromisoformat(parts[0]), UUID(parts[1]))
    except ValueError:
        raise PublicError(f"invalid cursor {after!r} for this order", "BAD_CURSOR") from None


def after_id(after: str | None) -> UUID:
    """The id inside an id cursor."""
    parts = cursor_parts(after, 1)
    if not parts:
        return NO_ID
    try:
        return UUID(parts[0])
    except ValueError:
        raise PublicError(f"invalid cursor {after!r}", "BAD_CURSOR") from None


@strawberry.type
class CaseQueries:
    """What courts, counsel and caseworkers ask about children and parents."""

    @strawberry.field(permission_classes=[CASE_READERS])
    async def child(self, info: Info, id: UUID, min_position: MinPosition = None) -> Child | None:
        await fresh(info, min_position)
        row = await info.context.container.database.pool.fetchrow(sql.CHILD_BY_ID, id)
        if row is None:
            return None
        reads(info, [row["family_id"]])
        return (await children_from_rows(info.context.loaders, [row]))[0]

    @strawberry.field(permission_classes=[CASE_READERS])
    async def parent(self, info: Info, id: UUID, min_position: MinPosition = None) -> Parent | None:
        await fresh(info, min_position)
        row = await info.context.container.database.pool.fetchrow(sql.PARENT_BY_ID, id)
        if row is None:
            return None
        reads(info, [row["family_id"]])
        return Parent.from_row(row)

    @strawberry.field(permission_classes=[CASE_READERS])
    async def children(
        self,
        info: Info,
        filter: ChildFilter | None = None,
        order_by: ChildOrder = ChildOrder.CHILD_ID,
        first: int = 50,
        after: str | None = None,
        min_position: MinPosition = None,
    ) -> Connection[Child]:
        await fresh(info, min_position)
        limit = page_size(info, first)
        pool = info.context.container.database.pool
        wanted = (filter or ChildFilter()).to_sql()
        rows = await sql.children_page(
            pool, wanted, child_after(after, order_by), limit + 1, order_by.value
        )
        page = rows[:limit]
        reads(info, [r["family_id"] for r in page])
        return connection(
            await children_from_rows(info.context.loaders, page),
            [encode_cursor(*sql.child_cursor(r, order_by.value)) for r in page],
            len(rows) > limit,
            lambda: sql.children_count(pool, wanted),
        )

    @strawberry.field(permission_classes=[CASE_READERS])
    async def parents(
        self,
        info: Info,
        filter: ParentFilter | None = None,
        first: int = 50,
        after: str | None = None,
        min_position: MinPosition = None,
    ) -> Connection[Parent]:
        """Parents by where they stand: removed (and where to), in custody, located."""
        await fresh(info, min_position)
        limit = page_size(info, first)
        pool = info.context.container.database.pool
        wanted = (filter or ParentFilter()).to_sql()
        rows = await sql.parents_page(pool, wanted, after_id(after), limit + 1)
        page = rows[:limit]
        reads(info, [r["family_id"] for r in page])
        return connection(
            [Parent.from_row(r) for r in page],
            [encode_cursor(r["parent_id"]) for r in page],
            len(rows) > limit,
            lambda: sql.parents_count(pool, wanted),
        )

    @strawberry.field(permission_classes=[CASE_READERS])
    async def reinterview_eligible(
        self,
        info: Info,
        first: int = 50,
        after: str | None = None,
        min_position: MinPosition = None,
    ) -> Connection[Parent]:
        """Separated parents whose negative credible-fear decision was made while separated
        (the settlement's class), red-flagged or ineligible for none of their children."""
        return await _parents(info, sql.REINTERVIEW_ELIGIBLE, first, after, min_position)

    @strawberry.field(permission_classes=[CASE_READERS])
    async def removals_without_documented_choice(
        self,
        info: Info,
        first: int = 50,
        after: str | None = None,
        min_position: MinPosition = None,
    ) -> Connection[Parent]:
        """Removed parents whose child stayed and who signed no removal election."""
        return await _parents(info, sql.REMOVALS_WITHOUT_CHOICE, first, after, min_position)

    @strawberry.field(permission_classes=[REPORT_READERS])
    async def court_report(
        self, info: Info, as_of: date, known_at: KnownAt = None, min_position: MinPosition = None
    ) -> CourtReport:
        await fresh(info, min_position)
        # Small counts are suppressed with a complementary cell within each row (see
        # schema.report.hidden_bands); relations between rows are not suppressed for.
        if known_at is None:
            rows = await sql.court_report(info.context.container.database.pool, as_of)
        else:
            rows = await known_report(info, as_of, aware(known_at, "knownAt"))
        return build_report(as_of, rows, small_counts_hidden(info))

    @strawberry.field(permission_classes=[REPORT_READERS])
    async def facilities(
        self, info: Info, on: date, min_position: MinPosition = None
    ) -> list[FacilityStats]:
        await fresh(info, min_position)
        rows = await sql.facilities(info.context.container.database.pool, on)
        hide = small_counts_hidden(info)
        return [facility_stats(r, hide) for r in rows]


async def known_report(info: Info, as_of: date, known_at: datetime) -> list[Any]:
    """The report's rows as known then: kept when sealed (schema.cost), else replayed."""
    reports = info.context.reports
    if reports is None:
        return await time_travel(info).court_report(as_of, known_at)
    return await reports.court_report(time_travel(info), as_of, known_at)


def facility_stats(row: Any, hide: bool) -> FacilityStats:
    """A facility's figures; a distribution over suppressed stays is suppressed with them
    (the median of one stay is that child's days in care)."""
    stays = suppress(row["stays"], hide)
    hidden = stays is None
    return FacilityStats(
        facility_id=row["facility_id"],
        facility_name=row["facility_name"],
        census=suppress(row["census"], hide),
        stays=stays,
        median_days=None if hidden else row["median_days"],
        p90_days=None if hidden else row["p90_days"],
    )


def small_counts_hidden(info: Info) -> bool:
    """Analysts see aggregates only, with small counts suppressed."""
    identity = info.context.identity
    return identity is not None and identity.role is Role.ANALYST


async def _parents(
    info: Info, where: str, first: int, after: str | None, min_position: int | None
) -> Connection[Parent]:
    """A page of the parents a fixed condition lists (see projections.case_queries)."""
    await fresh(info, min_position)
    limit = page_size(info, first)
    pool = info.context.container.database.pool
    rows = await pool.fetch(sql.listed_parents_sql(where), after_id(after), limit + 1)
    page = rows[:limit]
    reads(info, [r["family_id"] for r in page])

    async def count() -> int:
        return int(await pool.fetchval(sql.listed_parents_count_sql(where)))

    return connection(
        [Parent.from_row(r) for r in page],
        [encode_cursor(r["parent_id"]) for r in page],
        len(rows) > limit,
        count,
    )
