"""Read-model queries answered by compiled plans instead of field-by-field execution.

Once per (document, operation, role) an operation is compiled (schema/plan_roots.py,
schema/plan_fields.py) into a plan that fetches a page with exactly the selected columns,
each node's JSON built by PostgreSQL, and answers it before execution, the way the
response cache answers a kept one. The rules stay where they were: validation (the role's
depth, alias and cost limits) runs first; page caps, cursors, filters and the caller's
scope are the resolvers' own helpers; a refusal falls back to execution, so its error is
the executed one; the read audit records the same families.

Covered: queries whose root fields are `__typename`, `children`, `parents`, `families`,
`timeline`, `reinterviewEligible`, `removalsWithoutDocumentedChoice`, `child`, `parent`
and `family` (without `minPosition`), selecting plain fields
of Child, Parent, Facility, Family, Member and TimelineEntry, Child.parents,
Child.facility, Family.members, `stale`, `parkedSince` and `staleReadModels`, global
ids, `__typename`, cursors, pageInfo and totalCount, through fragments, for every role
the root admits; and `courtReport(asOf)` and `facilities(on)`, their figures laid out
without execution (schema/plan_reports.py). Executed as before: mutations, subscriptions,
any other root field (time travel, `courtReport(knownAt)`, audit, `node`), other fields
with resolvers of their own (`dataQualityFlags`, `counselOfRecord`...), directives,
`minPosition`, and anything else the compiler does not know (schema/plan_fields.NotCovered);
and any request whose resolver would refuse it.

A plan's edges and objects are the JSON PostgreSQL built, left as msgspec.Raw for the
service's encoder (`Context.raw_json`, set for HTTP and websocket requests), which writes
them out as they are; any other caller gets them decoded, as execution gives them.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import msgspec
from graphql import (
    DocumentNode,
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    get_operation_ast,
    located_error,
)
from graphql.execution.values import get_argument_values, get_variable_values
from strawberry import Schema
from strawberry.extensions import SchemaExtension
from strawberry.types.arguments import convert_arguments

from schema.context import Context
from schema.documents import KEPT_QUERY_CHARS, variables_key
from schema.errors import PublicError
from schema.plan_fields import NotCovered, ObjectSql, collect
from schema.plan_objects import OBJECT_ROOTS, ObjectPlan, compile_object
from schema.plan_reports import REPORT_ROOTS, ReportPlan, compile_report
from schema.plan_roots import ROOTS, ConnectionPlan, Fallback, as_info, compile_connection
from schema.tracing import root_span
from service.access.auth import Role
from service.postgres.database import unavailable

log = logging.getLogger(__name__)
PLANS_KEPT = 512  # compiled plans per process, by query text, operation name and role
ARGUMENTS_KEPT = 64  # coerced arguments per plan, by variables


@dataclass(frozen=True)
class RootPlan:
    """One root field of the operation, compiled."""

    key: str
    name: str
    nodes: tuple[FieldNode, ...]  # as merged under the key (arguments: the first's)
    plan: ConnectionPlan | ObjectPlan | ReportPlan | None  # None: __typename


@dataclass(frozen=True)
class Plan:
    """A compiled operation: its roots, in the answer's order."""

    operation: OperationDefinitionNode
    roots: tuple[RootPlan, ...]
    # Arguments coerced, by the variables' JSON: resolvers only read them, never change them.
    coerced: dict[bytes, dict[str, dict[str, Any]]] = field(default_factory=dict, compare=False)

    async def answer(
        self, schema: Schema, context: Context, variables: Mapping[str, Any] | None
    ) -> tuple[ExecutionResult, set[UUID]]:
        """The answer and the families it carries; Fallback when it is to be executed
        instead (decided for every root before any statement runs)."""
        arguments = self.arguments(schema, context, variables)
        data: dict[str, Any] = {}
        families: set[UUID] = set()
        for root in self.roots:
            if root.plan is None:
                data[root.key] = "Query"
                continue
            try:
                with root_span(root.name):
                    value, read = await root.plan.answer(context, arguments[root.key])
            except Exception as e:
                if not unavailable(e):
                    raise
                return self.outage(schema._schema, data, root, e), families
            data[root.key] = value if context.raw_json else materialized(value)
            families.update(read)
        return ExecutionResult(data=data), families

    def arguments(
        self, schema: Schema, context: Context, variables: Mapping[str, Any] | None
    ) -> dict[str, dict[str, Any]]:
        """Each root's arguments as its resolver takes them, coerced as GraphQL coerces
        them; Fallback where GraphQL or the root's gate would refuse."""
        key = variables_key(variables)
        found = self.coerced.get(key) if key is not None else None
        if found is None:
            found = self.coerce(schema, variables)
            if key is not None:
                if len(self.coerced) >= ARGUMENTS_KEPT:
                    self.coerced.pop(next(iter(self.coerced)))
                self.coerced[key] = found
        query_type = schema._schema.query_type
        assert query_type is not None
        for root in self.roots:  # the gates, per request: they read the caller
            if root.plan is None:
                continue
            definition = query_type.fields[root.name].extensions["strawberry-definition"]
            for permission in definition.permission_classes:
                if not permission().has_permission(None, as_info(context), **found[root.key]):
                    raise Fallback("refused: the executed path says so")
        return found

    def coerce(
        self, schema: Schema, variables: Mapping[str, Any] | None
    ) -> dict[str, dict[str, Any]]:
        """Each root's arguments coerced from these variables (the same for every caller)."""
        graphql_schema = schema._schema
        coerced = get_variable_values(
            graphql_schema, self.operation.variable_definitions or (), dict(variables or {})
        )
        if isinstance(coerced, list):
            raise Fallback("variables GraphQL refuses")
        query_type = graphql_schema.query_type
        assert query_type is not None
        found = {}
        for root in self.roots:
            if root.plan is None:
                continue
            root_field = query_type.fields[root.name]
            definition = root_field.extensions["strawberry-definition"]
            try:
                raw = get_argument_values(root_field, root.nodes[0], coerced)
            except GraphQLError:
                raise Fallback("arguments GraphQL refuses") from None
            found[root.key] = convert_arguments(
                raw,
                definition.arguments,
                scalar_registry=schema.schema_converter.scalar_registry,
                config=schema.config,
            )
        return found

    def outage(
        self, schema: GraphQLSchema, data: dict[str, Any], failed: RootPlan, error: Exception
    ) -> ExecutionResult:
        """The answer execution gives when the database is out from this root on: each
        root left is null with the error (schema/outage.py codes it DATABASE_UNAVAILABLE),
        all of data null when one of them may not be. Not executed again: that would wait
        out the database's timeouts twice."""
        query_type = schema.query_type
        assert query_type is not None
        left = self.roots[self.roots.index(failed) :]
        errors = []
        for root in left:
            if root.plan is None:
                data[root.key] = "Query"
                continue
            errors.append(located_error(error, list(root.nodes), [root.key]))
            data[root.key] = None
        required = any(
            isinstance(query_type.fields[r.name].type, GraphQLNonNull)
            for r in left
            if r.plan is not None
        )
        return ExecutionResult(data=None if required else data, errors=errors)


def materialized(value: Any) -> Any:
    """The value with its JSON texts (msgspec.Raw) decoded."""
    if isinstance(value, msgspec.Raw):
        return msgspec.json.decode(value)
    if isinstance(value, dict):
        return {k: materialized(v) for k, v in value.items()}
    if isinstance(value, list):
        return [materialized(v) for v in value]
    return value


def compile_plan(
    schema: GraphQLSchema, document: DocumentNode, operation_name: str | None, role: Role
) -> Plan:
    """The operation's plan for this role; NotCovered when it is executed instead."""
    operation = get_operation_ast(document, operation_name)
    if operation is None or operation.operation is not OperationType.QUERY:
        raise NotCovered("not one query")
    if operation.directives:
        raise NotCovered("a directive")
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    query_type = schema.query_type
    assert query_type is not None
    compiler = ObjectSql(schema, fragments, role)
    roots = []
    for key, nodes in collect(schema, fragments, query_type, [operation.selection_set]).items():
        name = nodes[0].name.value
        if name == "__typename":
            roots.append(RootPlan(key, name, tuple(nodes), None))
            continue
        if name in OBJECT_ROOTS:
            roots.append(RootPlan(key, name, tuple(nodes), compile_object(compiler, name, nodes)))
            continue
        if name in REPORT_ROOTS:
            roots.append(RootPlan(key, name, tuple(nodes), compile_report(compiler, name, nodes)))
            continue
        if name not in ROOTS:
            raise NotCovered(f"the root field {name}")
        connection = get_named(query_type, name)
        roots.append(
            RootPlan(key, name, tuple(nodes), compile_connection(compiler, name, nodes, connection))
        )
    return Plan(operation, tuple(roots))


def get_named(query_type: GraphQLObjectType, name: str) -> GraphQLObjectType:
    """The object type a root field answers."""
    found = query_type.fields[name].type
    while hasattr(found, "of_type"):
        found = found.of_type
    assert isinstance(found, GraphQLObjectType)
    return found


class PlanCache:
    """Compiled plans (or that an operation is not covered), bounded, per process."""

    def __init__(self, size: int = PLANS_KEPT) -> None:
        self.size = size
        self.kept: OrderedDict[tuple[Any, ...], Plan | None] = OrderedDict()
        self.answered = 0  # requests a plan answered (metrics, tests)
        self.executed = 0  # requests looked at and executed instead
        self.failed = 0  # plans that raised: executed instead, and logged

    def plan(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        query: str | None,
        operation_name: str | None,
        role: Role,
    ) -> Plan | None:
        """The plan for this operation and role, compiled on first use; None: executed."""
        key = (query, operation_name, role)
        if key in self.kept:
            self.kept.move_to_end(key)
            return self.kept[key]
        try:
            found: Plan | None = compile_plan(schema, document, operation_name, role)
        except NotCovered:
            found = None
        if query is not None and len(query) <= KEPT_QUERY_CHARS:
            self.kept[key] = found
            if len(self.kept) > self.size:
                self.kept.popitem(last=False)
        return found


def read_plans(cache: PlanCache) -> type[SchemaExtension]:
    """The extension answering covered queries from `cache`'s plans."""

    class ReadPlans(SchemaExtension):
        """Sets the result of a covered read-model query before execution."""

        async def on_execute(self) -> AsyncIterator[None]:
            execution = self.execution_context
            context = execution.context
            if (
                execution.result is None
                and isinstance(context, Context)
                and context.read_plans
                and context.container.settings.read_plans
                and context.identity is not None
                and execution.graphql_document is not None
            ):
                plan = cache.plan(
                    execution.schema._schema,
                    execution.graphql_document,
                    execution.query,
                    execution.operation_name,
                    context.identity.role,
                )
                if plan is not None:
                    try:
                        result, families = await plan.answer(
                            execution.schema, context, execution.variables
                        )
                    except (Fallback, PublicError):  # refused: executed, refused the same
                        cache.executed += 1
                    except Exception:  # a plan's own failure must not fail the request
                        log.exception("a compiled plan failed; the query is executed")
                        cache.failed += 1
                    else:
                        cache.answered += 1
                        execution.result = result
                        context.read_families.update(families)
            yield

    return ReadPlans
