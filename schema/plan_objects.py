"""The root fields a compiled plan answers with one object by its id: `child`, `parent`
and `family`, each its resolver's own statement selecting only the object's JSON (and the
family it carries, for the read audit)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg
from graphql import FieldNode

from projections import case_queries, family_queries
from schema.context import Context
from schema.plan_fields import BROKEN_TEXT, ObjectSql, subselections
from schema.plan_roots import Fallback, client_arrays, compact

Fetch = Callable[[asyncpg.Pool, UUID, str], Awaitable[asyncpg.Record | None]]


def by_id(statement: str) -> Fetch:
    """Its resolver's statement ($1 the id), selecting `columns` instead of every one."""
    if not statement.lstrip().startswith("SELECT * FROM"):
        raise AssertionError("the statement no longer selects every column")

    async def fetch(pool: asyncpg.Pool, id: UUID, columns: str) -> asyncpg.Record | None:
        return await pool.fetchrow(statement.replace("SELECT *", f"SELECT {columns}", 1), id)

    return fetch


@dataclass(frozen=True)
class ObjectRoot:
    """A covered root of one object by id: its table and type, and how its resolver reads
    the row (the same function or statement, selecting the plan's columns)."""

    table: str
    type_name: str
    fetch: Fetch


OBJECT_ROOTS = {
    "child": ObjectRoot("child_case", "Child", by_id(case_queries.CHILD_BY_ID)),
    "parent": ObjectRoot("parent_case", "Parent", by_id(case_queries.PARENT_BY_ID)),
    "family": ObjectRoot(
        "family_summary",
        "Family",
        lambda pool, id, columns: family_queries.get_family(pool, id, columns),
    ),
}


@dataclass(frozen=True)
class ObjectPlan:
    """An object root compiled: its columns, which may hold {families} and {people}."""

    root: ObjectRoot
    columns: str
    flagged: bool = False  # whether its JSON may hold BROKEN_TEXT (a nested list's element)

    async def answer(self, context: Context, kwargs: dict[str, Any]) -> tuple[Any, list[UUID]]:
        """The object (null when there is none) and the family it carries."""
        if kwargs.get("min_position") is not None:
            raise Fallback("minPosition waits: executed")
        pool = context.container.database.read_pool
        columns = self.columns.format(**client_arrays(context))
        row = await self.root.fetch(pool, kwargs["id"], columns)
        if row is None:
            return None, []
        if row.get("plan_broken") or (self.flagged and BROKEN_TEXT in row["plan_json"]):
            raise Fallback("a row execution answers with an error")
        return compact(row["plan_json"]), [row["family_id"]]


def compile_object(compiler: ObjectSql, name: str, nodes: list[FieldNode]) -> ObjectPlan:
    """Compile an object root's selection into the columns its row is read with."""
    root = OBJECT_ROOTS[name]
    built = compiler.object_json(root.type_name, subselections(nodes), root.table)
    columns = f"{root.table}.family_id, {built.sql}::text AS plan_json"
    if built.broken is not None:
        columns += f", ({built.broken}) AS plan_broken"
    return ObjectPlan(root, columns, built.flagged)
