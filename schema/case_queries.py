"""Queries over the case read models: children, parents, the court report, facilities."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from enum import Enum
from typing import Annotated, Any, TypeVar
from uuid import UUID

import strawberry

from domain.values import CredibleFearOutcome, SeparationReason
from projections import case_queries as sql
from schema.audit import reads
from schema.audit_trail import time_travel
from schema.context import Info
from schema.disclosure import CellKeys, month_end, on_calendar, on_vintage
from schema.errors import PublicError
from schema.paging import (
    Before,
    Last,
    MinPosition,
    Window,
    cursor_parts,
    fresh,
    keyset_page,
    window,
)
from schema.permissions import ASYLUM_LISTS, CASE_LISTS, CASE_READERS, REPORT_READERS
from schema.policy import Fact, Scope, Use
from schema.read_types import (
    AgeBand,
    Child,
    ChildStatus,
    CourtReport,
    FacilityStats,
    Parent,
    ParentSituation,
    ReinterviewStance,
    children_from_rows,
)
from schema.report import build_report, facility_figures
from schema.scoping import scope_of
from schema.time_travel import aware
from schema.types import Connection, connection, encode_cursor
from service.access.auth import Role
from service.access.cell_key_secret import cell_key_secret

NO_ID = UUID(int=0)
LAST_ID = UUID(int=2**128 - 1)
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

    def to_sql(self, scope: Scope) -> sql.ChildFilter:
        """The read model's filter, as far as this caller's reach goes (schema/policy.py): a
        flag about an asylum record matches only where that person's asylum facts may be
        read."""
        census, rule = self.in_facility_on, self.data_quality_flag
        readable = scope.people(Fact.ASYLUM, Use.LIST)
        return replace(
            stored(sql.ChildFilter, self),
            in_facility_on=(census.facility_id, census.on) if census else None,
            data_quality_flag=(rule, None if readable is None else list(readable))
            if rule is not None
            else None,
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


def child_after(after: str | None, order: ChildOrder, backward: bool = False) -> tuple[Any, ...]:
    """The keyset values inside a children cursor for this order (none: the end a page
    starts from)."""
    if order is ChildOrder.CHILD_ID:
        return (after_id(after, backward),)
    parts = cursor_parts(after, 2)
    if not parts:
        return (date.max, LAST_ID) if backward else (sql.NO_DATE, NO_ID)
    try:
        return (date.fromisoformat(parts[0]), UUID(parts[1]))
    except ValueError:
        raise PublicError(f"invalid cursor {after!r} for this order", "BAD_CURSOR") from None


def after_id(after: str | None, backward: bool = False) -> UUID:
    """The id inside an id cursor (none: the end a page starts from)."""
    parts = cursor_parts(after, 1)
    if not parts:
        return LAST_ID if backward else NO_ID
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
        pool = info.context.container.database.read_pool
        scope = scope_of(info)
        wanted = (filter or ChildFilter()).to_sql(scope)

        async def fetch(cursor: str | None, backward: bool, limit: int) -> list[Any]:
            keys = child_after(cursor, order_by, backward)
            return await sql.children_page(pool, wanted, keys, limit, order_by.value, backward)

        page = await keyset_page(
            asked, fetch, lambda r: encode_cursor(*sql.child_cursor(r, order_by.value))
        )
        reads(info, [r["family_id"] for r in page.rows])
        return connection(
            await children_from_rows(info.context.loaders, page.rows, scope),
            page.cursors,
            page.has_next,
            lambda: sql.children_count(pool, wanted),
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
        pool = info.context.container.database.read_pool
        wanted = (filter or ParentFilter()).to_sql()

        async def fetch(cursor: str | None, backward: bool, limit: int) -> list[Any]:
            keys = after_id(cursor, backward)
            return await sql.parents_page(pool, wanted, keys, limit, backward)

        page = await keyset_page(asked, fetch, lambda r: encode_cursor(r["parent_id"]))
        reads(info, [r["family_id"] for r in page.rows])
        scope = scope_of(info)
        return connection(
            [Parent.from_row(r, scope) for r in page.rows],
            page.cursors,
            page.has_next,
            lambda: sql.parents_count(pool, wanted),
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
        narrowing = sql.Narrowing(
            stance=str(stance.value) if stance else None,
            outcome=outcome.value if outcome else None,
        )
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


def _only(people: frozenset[UUID] | None) -> list[UUID] | None:
    return None if people is None else sorted(people)


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
    pool = info.context.container.database.read_pool
    readable = scope_of(info).people(made_of, Use.LIST)
    args = replace(narrowing, only=_only(readable)).args()

    async def fetch(cursor: str | None, backward: bool, limit: int) -> list[Any]:
        listed = sql.listed_parents_sql(where, backward)
        return await pool.fetch(listed, after_id(cursor, backward), limit, *args)

    page = await keyset_page(asked, fetch, lambda r: encode_cursor(r["parent_id"]))
    reads(info, [r["family_id"] for r in page.rows])

    async def count() -> int:
        return int(await pool.fetchval(sql.listed_parents_count_sql(where), *args))

    scope = scope_of(info)
    return connection(
        [Parent.from_row(r, scope) for r in page.rows],
        page.cursors,
        page.has_next,
        count,
        page.has_previous,
    )
