"""The statistics roots a compiled plan answers: `courtReport(asOf)` and `facilities(on)`.

Each runs its resolver's own statement and builds its resolver's own figures (exact, or
rounded for analysts by schema/disclosure.py's keyed rounding, which SQL does not do),
then lays them out by the compiled selection, each value serialised by the schema's own
scalar, instead of graphql-core's field-by-field execution. Neither reads a family's
personal data, so neither adds to the read audit (as executed). Executed instead:
`knownAt` (a replay of the log), `minPosition`, a field with a resolver, an argument, a
list or an abstract type below the root, and any value execution would answer with an
error (a null in a non-null field, a value its scalar refuses).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

from graphql import (
    FieldNode,
    GraphQLEnumType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    SelectionSetNode,
)

from projections import case_queries as sql
from schema.case_queries import analyst_keys
from schema.context import Context, Info
from schema.disclosure import CellKeys
from schema.plan_fields import NotCovered, ObjectSql, collect, subselections
from schema.plan_roots import Fallback, as_info
from schema.report import build_report, facility_figures

Serialize = Callable[[Any], Any]


@dataclass(frozen=True)
class Shape:
    """A selection on an object type, compiled: per response key, the attribute it reads,
    whether it may be null, and how its value is answered (None: __typename)."""

    type_name: str
    fields: tuple[tuple[str, str, bool, Shape | Serialize | None], ...]

    def lay_out(self, found: Any) -> dict[str, Any]:
        """The object's answer as execution gives it; Fallback where execution errs."""
        value: dict[str, Any] = {}
        for key, attribute, nullable, how in self.fields:
            if how is None:
                value[key] = self.type_name
                continue
            held = getattr(found, attribute)
            if held is None:
                if not nullable:
                    raise Fallback("a null in a non-null field: execution answers an error")
                value[key] = None
            elif isinstance(how, Shape):
                value[key] = how.lay_out(held)
            else:
                value[key] = serialized(how, held)
        return value


def serialized(serialize: Serialize, held: Any) -> Any:
    """A leaf as graphql-core completes it: its scalar's serialisation, never None."""
    try:
        value = serialize(held)
    except Exception:  # the scalar refuses it: execution answers an error
        raise Fallback("a value its scalar refuses") from None
    if value is None:
        raise Fallback("a value serialised as null")
    return value


def shape(compiler: ObjectSql, type_name: str, selections: list[SelectionSetNode]) -> Shape:
    """Compile a selection on a plain object type of the statistics' (no resolvers)."""
    object_type = compiler.schema.type_map[type_name]
    assert isinstance(object_type, GraphQLObjectType)
    fields: list[tuple[str, str, bool, Shape | Serialize | None]] = []
    for key, nodes in collect(compiler.schema, compiler.fragments, object_type, selections).items():
        name = nodes[0].name.value
        if name == "__typename":
            fields.append((key, name, False, None))
            continue
        definition = object_type.fields.get(name)
        if definition is None or any(n.arguments for n in nodes):
            raise NotCovered(f"{type_name}.{name}")
        field = definition.extensions.get("strawberry-definition")
        if field is None or field.base_resolver is not None or field.permission_classes:
            raise NotCovered("a field with a resolver")
        field_type, nullable = definition.type, True
        if isinstance(field_type, GraphQLNonNull):
            field_type, nullable = field_type.of_type, False
        how: Shape | Serialize
        if isinstance(field_type, GraphQLObjectType):
            how = shape(compiler, field_type.name, subselections(nodes))
        elif isinstance(field_type, GraphQLScalarType | GraphQLEnumType):
            how = field_type.serialize
        else:
            raise NotCovered(f"a {field_type} below a statistics root")
        fields.append((key, field.python_name, nullable, how))
    return Shape(type_name, tuple(fields))


Figures = Callable[[Info, dict[str, Any], CellKeys | None], Awaitable[Any]]


async def _court_report(info: Info, kwargs: dict[str, Any], keys: CellKeys | None) -> Any:
    pool = info.context.container.database.read_pool
    rows = await sql.court_report(pool, kwargs["as_of"], fingerprints=keys is not None)
    return build_report(kwargs["as_of"], rows, keys)


async def _facilities(info: Info, kwargs: dict[str, Any], keys: CellKeys | None) -> Any:
    pool = info.context.container.database.read_pool
    rows = await sql.facilities(pool, kwargs["on"], fingerprints=keys is not None)
    return facility_figures(rows, keys)


@dataclass(frozen=True)
class ReportRoot:
    """A statistics root: the object type it answers, its day's argument, its figures."""

    type_name: str
    day: str  # the argument's python name
    argument: str  # and its GraphQL name, as analyst_keys names it in a refusal
    figures: Figures


REPORT_ROOTS = {
    "courtReport": ReportRoot("CourtReport", "as_of", "asOf", _court_report),
    "facilities": ReportRoot("FacilityStats", "on", "on", _facilities),
}


@dataclass(frozen=True)
class ReportPlan:
    """A statistics root compiled: its figures laid out by the selection (a list for
    `facilities`)."""

    root: ReportRoot
    shape: Shape
    listed: bool

    async def answer(self, context: Context, kwargs: dict[str, Any]) -> tuple[Any, list[UUID]]:
        """The root's value, in the resolver's order of refusals; no family read."""
        if kwargs.get("known_at") is not None:
            raise Fallback("knownAt replays the log: executed")
        if kwargs.get("min_position") is not None:
            raise Fallback("minPosition waits: executed")
        info = as_info(context)
        day: date = kwargs[self.root.day]
        keys = analyst_keys(info, day, self.root.argument)  # OFF_CALENDAR: executed
        found = await self.root.figures(info, kwargs, keys)
        if self.listed:
            return [self.shape.lay_out(f) for f in found], []
        return self.shape.lay_out(found), []


def compile_report(compiler: ObjectSql, name: str, nodes: list[FieldNode]) -> ReportPlan:
    """Compile a statistics root's selection."""
    root = REPORT_ROOTS[name]
    return ReportPlan(
        root, shape(compiler, root.type_name, subselections(nodes)), name == "facilities"
    )
