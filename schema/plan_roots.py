"""The root fields a compiled plan answers: each a page of one read-model table, fetched
by the same keyset code as its resolver, with only the selected fields, built by SQL.

`children`, `parents`, `families`, `timeline`, `reinterviewEligible` and
`removalsWithoutDocumentedChoice` are covered here. Each runs its resolver's own page
function (schema/case_pages.py, schema/queries.py) with a select list of the row's keys
and the JSON of each selected node, then assembles edges, cursors and pageInfo as
schema/types.py's `connection` does. What the resolver would refuse (a page size over the
role's cap, a bad cursor, a bad search text) raises Fallback: the operation is executed,
which answers the refusal exactly as before.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, cast
from uuid import UUID

import msgspec
from graphql import FieldNode, GraphQLObjectType

from projections import case_queries as sql
from schema.case_pages import (
    ChildOrder,
    children_page,
    listed_parents_page,
    parents_page,
    reinterview_narrowing,
)
from schema.context import Context, Info
from schema.paging import Page, Window, window
from schema.plan_fields import (
    BROKEN_TEXT,
    NotCovered,
    ObjectSql,
    any_of,
    collect,
    subselections,
)
from schema.policy import Fact, Use
from schema.queries import families_page, timeline_page
from schema.scoping import require, scope_of
from schema.types import Beyond, require_entry

Count = Callable[[], Awaitable[int]]
# Most JSON columns one page fetches (one per `edges { node }` selected under a key).
MAX_NODE_COLUMNS = 4


class Fallback(Exception):
    """This request is answered by executing it (a refusal, an argument not covered)."""


@dataclass(frozen=True)
class PlanInfo:
    """What the resolvers' helpers read of strawberry's Info: the request's context."""

    context: Context


def as_info(context: Context) -> Info:
    """The context in the shape the resolvers' helpers take."""
    return cast(Info, PlanInfo(context))


@dataclass(frozen=True)
class RootTable:
    """A covered list root: its table, the row columns its cursor and audit need, how its
    page is fetched, and its Connection's type names."""

    table: str
    keys: tuple[str, ...]
    node_type: str
    fetch: Callable[[Info, dict[str, Any], Window, str, bool], Awaitable[Paged]]


Paged = tuple[Page[Any], Count | None]


async def _children(
    info: Info, kwargs: dict[str, Any], asked: Window, columns: str, every_cursor: bool
) -> Paged:
    order: ChildOrder = kwargs["order_by"]
    return await children_page(info, kwargs["filter"], order, asked, columns, every_cursor)


async def _parents(
    info: Info, kwargs: dict[str, Any], asked: Window, columns: str, every_cursor: bool
) -> Paged:
    return await parents_page(info, kwargs["filter"], asked, columns, every_cursor)


async def _families(
    info: Info, kwargs: dict[str, Any], asked: Window, columns: str, every_cursor: bool
) -> Paged:
    page = await families_page(
        info, asked, kwargs["represented_by"], kwargs["search"], columns, every_cursor
    )
    return page, None  # families are not counted: totalCount is null


async def _timeline(
    info: Info, kwargs: dict[str, Any], asked: Window, columns: str, every_cursor: bool
) -> Paged:
    """The timeline resolver's rules: the family's history readable at all, and every row
    one the caller may read (else the executed path refuses it: so is the plan)."""
    scope = scope_of(info)
    family_id = kwargs["family_id"]
    require(scope, Fact.IDENTITY, Use.LIST, family_id)
    page = await timeline_page(info, family_id, kwargs["filter"], asked, columns, every_cursor)
    checked: set[tuple[UUID, tuple[UUID, ...] | None]] = set()
    for row in page.rows:  # each distinct (family, people named) checked once: same answer
        seen = (row["family_id"], tuple(row["people"]) if row["asylum"] else None)
        if seen not in checked:
            require_entry(scope, row)
            checked.add(seen)
    return page, None  # a timeline is not counted: totalCount is null


async def _reinterview_eligible(
    info: Info, kwargs: dict[str, Any], asked: Window, columns: str, every_cursor: bool
) -> Paged:
    narrowing = reinterview_narrowing(kwargs["stance"], kwargs["outcome"])
    where = sql.REINTERVIEW_ELIGIBLE
    return await listed_parents_page(
        info, where, asked, narrowing, Fact.ASYLUM, columns, every_cursor
    )


async def _removals(
    info: Info, kwargs: dict[str, Any], asked: Window, columns: str, every_cursor: bool
) -> Paged:
    where = sql.REMOVALS_WITHOUT_CHOICE
    return await listed_parents_page(
        info, where, asked, sql.Narrowing(), Fact.STATUS, columns, every_cursor
    )


ROOTS = {
    "children": RootTable(
        "child_case", ("child_id", "separated_at", "family_id"), "Child", _children
    ),
    "parents": RootTable("parent_case", ("parent_id", "family_id"), "Parent", _parents),
    "families": RootTable("f", ("opened_at", "family_id"), "Family", _families),
    "reinterviewEligible": RootTable(
        "p", ("parent_id", "family_id"), "Parent", _reinterview_eligible
    ),
    "removalsWithoutDocumentedChoice": RootTable(
        "p", ("parent_id", "family_id"), "Parent", _removals
    ),
    "timeline": RootTable(
        "timeline", ("version", "family_id", "asylum", "people"), "TimelineEntry", _timeline
    ),
}


PAGE_INFO = frozenset({"__typename", "startCursor", "endCursor", "hasNextPage", "hasPreviousPage"})
# What a connection's answer is built from: (response key, field name, what is under it).
Layout = list[tuple[str, str, Any]]


@dataclass(frozen=True)
class ConnectionPlan:
    """A list root compiled: its select list and how its answer is laid out."""

    root: RootTable
    columns: str  # may hold {families} and {people}
    layout: Layout
    connection_type: str
    every_cursor: bool  # whether an edge's cursor is selected
    broken: bool  # whether rows say if execution would answer them otherwise (plan_broken)
    flagged: tuple[str, ...] = ()  # node columns whose text may hold BROKEN_TEXT

    async def answer(self, context: Context, kwargs: dict[str, Any]) -> tuple[Any, list[UUID]]:
        """The root field's value and the families its rows carry (for the read audit)."""
        if kwargs.get("min_position") is not None:
            raise Fallback("minPosition waits: executed")
        info = as_info(context)
        asked = window(info, kwargs["first"], kwargs["after"], kwargs["last"], kwargs["before"])
        columns = self.columns.format(**client_arrays(context))
        page, count = await self.root.fetch(info, kwargs, asked, columns, self.every_cursor)
        if self.broken and any(r["plan_broken"] for r in page.rows):
            raise Fallback("a row execution answers with an error")
        if any(BROKEN_TEXT in r[c] for c in self.flagged for r in page.rows):
            raise Fallback("a nested row execution answers with an error")
        value = await build_connection(self.layout, page, count, self.connection_type)
        return value, [r["family_id"] for r in page.rows]


def client_arrays(context: Context) -> dict[str, str]:
    """The caller's clients as SQL array literals (UUIDs only: nothing a caller typed)."""
    scope = scope_of(as_info(context))
    return {
        "families": uuid_array(scope.clients.families),
        "people": uuid_array(scope.clients.consenting),
    }


def uuid_array(ids: frozenset[UUID]) -> str:
    return "'{" + ",".join(str(UUID(str(i))) for i in sorted(ids)) + "}'::uuid[]"


def compile_connection(
    compiler: ObjectSql, name: str, nodes: list[FieldNode], connection_type: GraphQLObjectType
) -> ConnectionPlan:
    """Compile a list root's selection: its Connection, edges, nodes and pageInfo."""
    root = ROOTS[name]
    schema, fragments = compiler.schema, compiler.fragments
    alias = root.table
    layout: Layout = []
    node_columns: list[str] = []
    broken: list[str | None] = []
    flagged: list[str] = []
    for key, found in collect(schema, fragments, connection_type, subselections(nodes)).items():
        field = found[0].name.value
        if field in ("__typename", "totalCount"):
            layout.append((key, field, None))
        elif field == "pageInfo":
            page_info = schema.type_map["PageInfo"]
            assert isinstance(page_info, GraphQLObjectType)
            inner = collect(schema, fragments, page_info, subselections(found))
            fields = [(k, f[0].name.value) for k, f in inner.items()]
            if not {f for _, f in fields} <= PAGE_INFO:
                raise NotCovered("a field of PageInfo")
            layout.append((key, field, fields))
        elif field == "edges":
            edge_type = schema.type_map[f"{root.node_type}Edge"]
            assert isinstance(edge_type, GraphQLObjectType)
            edge: list[tuple[str, str, int | None]] = []
            for edge_key, edge_found in collect(
                schema, fragments, edge_type, subselections(found)
            ).items():
                edge_field = edge_found[0].name.value
                if edge_field == "node":
                    built = compiler.object_json(root.node_type, subselections(edge_found), alias)
                    node_columns.append(f"{built.sql}::text AS plan_json_{len(node_columns)}")
                    broken.append(built.broken)
                    if built.flagged:
                        flagged.append(f"plan_json_{len(node_columns) - 1}")
                    edge.append((edge_key, edge_field, len(node_columns) - 1))
                else:
                    edge.append((edge_key, edge_field, None))
            layout.append((key, field, edge))
        else:
            raise NotCovered(f"{connection_type.name}.{field}")
    if len(node_columns) > MAX_NODE_COLUMNS:
        raise NotCovered("too many node selections")
    keys = [f"{alias}.{k}" for k in root.keys]
    if (check := any_of(broken)) is not None:
        keys.append(f"({check}) AS plan_broken")
    every_cursor = any(
        f == "cursor" for _, kind, edge in layout if kind == "edges" for _, f, _ in edge
    )
    columns = ", ".join([*keys, *node_columns])
    return ConnectionPlan(
        root, columns, layout, connection_type.name, every_cursor, check is not None, tuple(flagged)
    )


async def build_connection(
    layout: Layout, page: Page[Any], count: Count | None, type_name: str
) -> dict[str, Any]:
    """The Connection as schema/types.py answers it, from the page's rows and cursors."""
    value: dict[str, Any] = {}
    for key, field, under in layout:
        if field == "__typename":
            value[key] = type_name
        elif field == "totalCount":
            value[key] = await count() if count is not None else None
        elif field == "pageInfo":
            value[key] = await page_info(under, page)
        else:
            value[key] = edges(under, page, type_name.removesuffix("Connection") + "Edge")
    return value


def edges(
    fields: list[tuple[str, str, int | None]], page: Page[Any], type_name: str
) -> msgspec.Raw:
    """The page's edges, each with the selected fields in order: one JSON text of the nodes'
    JSON as PostgreSQL built it, passed to the answer's encoder as it is (msgspec.Raw)
    rather than decoded into objects only to be encoded again."""
    columns: list[list[str]] = []
    for key, field, index in fields:
        head = f'"{key}":'  # a response key is a GraphQL name: nothing in it to escape
        if field == "cursor":
            columns.append([head + msgspec.json.encode(c).decode() for c in page.cursors])
        elif field == "__typename":
            columns.append([f'{head}"{type_name}"'] * len(page.rows))
        else:
            columns.append([head + r[f"plan_json_{index}"] for r in page.rows])
    if not columns or not page.rows:
        return EMPTY
    text = "},{".join(",".join(values) for values in zip(*columns, strict=True))
    return compact("[{" + text + "}]")


EMPTY = msgspec.Raw("[]")


def compact(text: str) -> msgspec.Raw:
    """JSON PostgreSQL built (`"key" : value`), its whitespace dropped as msgspec would write
    it, strings and numbers left as they are: no objects made to encode it again."""
    return msgspec.Raw(msgspec.json.format(text, indent=-1))


async def page_info(fields: list[tuple[str, str]], page: Page[Any]) -> dict[str, Any]:
    """PageInfo's selected fields, each as schema/types.py's PageInfo answers it."""
    found: dict[str, Any] = {}
    for key, field in fields:
        if field == "__typename":
            found[key] = "PageInfo"
        elif field == "startCursor":
            found[key] = page.cursors[0] if page.cursors else None
        elif field == "endCursor":
            found[key] = page.cursors[-1] if page.cursors else None
        elif field == "hasNextPage":
            found[key] = await beyond(page.has_next)
        else:  # hasPreviousPage (PAGE_INFO)
            found[key] = await beyond(page.has_previous)
    return found


async def beyond(value: Beyond) -> bool:
    return value if isinstance(value, bool) else await value()
