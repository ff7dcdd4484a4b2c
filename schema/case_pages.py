"""Filters, orders and keyset pages of children and parents, shared by the executed
resolvers (schema/case_queries.py) and the compiled plans (schema/read_plans.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import date
from enum import Enum
from typing import Any, TypeVar
from uuid import UUID

import strawberry

from domain.values import CredibleFearOutcome, SeparationReason
from projections import case_queries as sql
from schema.context import Info
from schema.errors import PublicError
from schema.paging import Page, Window, cursor_parts, keyset_page
from schema.policy import Fact, Scope, Use
from schema.read_types import AgeBand, ChildStatus, ParentSituation, ReinterviewStance
from schema.scoping import scope_of
from schema.types import encode_cursor

NO_ID = UUID(int=0)
LAST_ID = UUID(int=2**128 - 1)
F = TypeVar("F")


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


Count = Callable[[], Awaitable[int]]


async def children_page(
    info: Info,
    filter: ChildFilter | None,
    order_by: ChildOrder,
    asked: Window,
    columns: str = "*",
    every_cursor: bool = True,
) -> tuple[Page[Any], Count]:
    """A page of children's rows (`columns` of child_case; the executed path takes all,
    a compiled plan only those selected, schema/read_plans.py) and their count."""
    pool = info.context.container.database.read_pool
    wanted = (filter or ChildFilter()).to_sql(scope_of(info))

    async def fetch(cursor: str | None, backward: bool, limit: int) -> list[Any]:
        keys = child_after(cursor, order_by, backward)
        return await sql.children_page(pool, wanted, keys, limit, order_by.value, backward, columns)

    page = await keyset_page(
        asked,
        fetch,
        lambda r: encode_cursor(*sql.child_cursor(r, order_by.value)),
        every_cursor,
    )
    return page, lambda: sql.children_count(pool, wanted)


async def parents_page(
    info: Info,
    filter: ParentFilter | None,
    asked: Window,
    columns: str = "*",
    every_cursor: bool = True,
) -> tuple[Page[Any], Count]:
    """A page of parents' rows (`columns` of parent_case, as children_page) and their count."""
    pool = info.context.container.database.read_pool
    wanted = (filter or ParentFilter()).to_sql()

    async def fetch(cursor: str | None, backward: bool, limit: int) -> list[Any]:
        keys = after_id(cursor, backward)
        return await sql.parents_page(pool, wanted, keys, limit, backward, columns)

    page = await keyset_page(asked, fetch, lambda r: encode_cursor(r["parent_id"]), every_cursor)
    return page, lambda: sql.parents_count(pool, wanted)


def reinterview_narrowing(
    stance: ReinterviewStance | None, outcome: CredibleFearOutcome | None
) -> sql.Narrowing:
    """reinterviewEligible's narrowing by its arguments."""
    return sql.Narrowing(
        stance=str(stance.value) if stance else None,
        outcome=outcome.value if outcome else None,
    )


async def listed_parents_page(
    info: Info,
    where: str,
    asked: Window,
    narrowing: sql.Narrowing,
    made_of: Fact = Fact.STATUS,
    columns: str = "p.*",
    every_cursor: bool = True,
) -> tuple[Page[Any], Count]:
    """A page of the parents a fixed condition lists (see projections.case_queries), as
    narrowed, with its count narrowed alike; a condition `made_of` a fact the caller reaches
    only in part lists only the parents whose fact it may read (schema/policy.py)."""
    pool = info.context.container.database.read_pool
    readable = scope_of(info).people(made_of, Use.LIST)
    only = None if readable is None else sorted(readable)
    args = replace(narrowing, only=only).args()

    async def fetch(cursor: str | None, backward: bool, limit: int) -> list[Any]:
        listed = sql.listed_parents_sql(where, backward, columns)
        return await pool.fetch(listed, after_id(cursor, backward), limit, *args)

    page = await keyset_page(asked, fetch, lambda r: encode_cursor(r["parent_id"]), every_cursor)

    async def count() -> int:
        return int(await pool.fetchval(sql.listed_parents_count_sql(where), *args))

    return page, count
