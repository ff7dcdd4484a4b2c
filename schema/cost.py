"""Cost limits: a static cost per field, a budget per role, and limits on expensive work.

A field answering an object costs 1 and one answering a value 0; a field with `first`
(or `last`, or `ids`) multiplies what it selects by that many (a page of 100 children with
their parents and facility: 1 + 100 x 4); fields that read more than a row add their
weight, and a court report as known at a time (a replay of the whole log) costs
KNOWN_AT_REPORT. A request over its role's budget is refused before anything runs
(TOO_COSTLY, naming both).

Requests for expensive work (a report as known at a time, a replay, a verification) are
limited per subject: so many at once and so many a minute (RATE_LIMITED, with retryAfter
seconds and a Retry-After header). A sealed report is replayed once and then kept
(service.history.kept_reports), so within the allowance reproducing it is cheap; the
allowance counts requests, kept or not, since even a kept answer costs the process a
request's work, and four analysts asking back to back would otherwise crowd out others.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from graphql import (
    DocumentNode,
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLNamedType,
    GraphQLSchema,
    InlineFragmentNode,
    SelectionSetNode,
    get_named_type,
    get_operation_ast,
    is_leaf_type,
)
from graphql.execution.values import VariableValues, get_argument_values, get_variable_values
from starlette.responses import Response
from strawberry.extensions import SchemaExtension

from schema.documents import KEPT_QUERY_CHARS, variables_key
from schema.errors import PublicError
from schema.throttle import Throttle
from service.access.auth import Role
from service.application.container import Container
from service.history.kept_reports import KeptReports

KNOWN_AT_REPORT = 1000  # every family's events folded again: seconds, not milliseconds
# What a root field adds to the 1 of its object: SQL over many rows, or a stream replayed.
WEIGHTS = {
    "courtReport": 20,
    "facilities": 20,
    "familyAsOf": 200,
    "familyDiff": 400,
    "verifyFamily": 200,
    "familyBundle": 400,
}
REPLAYS = frozenset({"familyAsOf", "familyDiff", "verifyFamily", "familyBundle"})
BUDGETS = {
    Role.CASEWORKER: 3000,
    Role.COUNSEL: 3000,
    Role.AUDITOR: 5000,
    Role.ANALYST: 1500,
    Role.ADMIN: 500,
}
UNKNOWN_BUDGET = 100
ESTIMATES_KEPT = 512  # cost estimates kept per schema (Limits.estimate)


@dataclass(frozen=True)
class Estimate:
    """A request's static cost, and the reports as known at a time it asks for."""

    cost: int
    replays: int
    reports: tuple[tuple[date, datetime], ...]


def budget_of(role: Role | None, overrides: tuple[tuple[str, int], ...] = ()) -> int:
    """The role's budget per request, as configured (REUNITE_COST_BUDGETS) or by default."""
    if role is None:
        return UNKNOWN_BUDGET
    return dict(overrides).get(role.value, BUDGETS[role])


class _Walk:
    """Adds up one operation's fields, fragments expanded, arguments coerced."""

    def __init__(
        self, schema: GraphQLSchema, document: DocumentNode, variables: VariableValues
    ) -> None:
        self.schema = schema
        self.variables = variables
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self.replays = 0
        self.reports: list[tuple[date, datetime]] = []

    def selections(self, selection_set: SelectionSetNode, parent: GraphQLNamedType) -> int:
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total += self.field(selection, parent)
                continue
            if isinstance(selection, FragmentSpreadNode):
                fragment: FragmentDefinitionNode | InlineFragmentNode = self.fragments[
                    selection.name.value
                ]
            else:
                assert isinstance(selection, InlineFragmentNode)
                fragment = selection
            condition = fragment.type_condition
            target = self.schema.get_type(condition.name.value) if condition else parent
            total += self.selections(fragment.selection_set, target or parent)
        return total

    def field(self, node: FieldNode, parent: GraphQLNamedType) -> int:
        definition = getattr(parent, "fields", {}).get(node.name.value)
        if definition is None:  # __typename and the introspection fields (dev only)
            return 0
        named = get_named_type(definition.type)
        own = 0 if is_leaf_type(named) else 1
        args = get_argument_values(definition, node, self.variables, hide_suggestions=True)
        if parent is self.schema.query_type:
            own += WEIGHTS.get(node.name.value, 0)
            if node.name.value in REPLAYS:
                self.replays += 1
            if node.name.value == "courtReport" and args.get("knownAt") is not None:
                own += KNOWN_AT_REPORT
                self.reports.append((args["asOf"], args["knownAt"]))
        below = self.selections(node.selection_set, named) if node.selection_set else 0
        return own + _rows(args) * below


def _rows(args: dict[str, Any]) -> int:
    """How many objects a field answers at most: a page's `last` or `first`, the number of
    `ids` asked for (nodes), else one."""
    ids, last, first = args.get("ids"), args.get("last"), args.get("first")
    if isinstance(ids, list):
        return max(len(ids), 1)
    size = last if isinstance(last, int) else first
    return max(size, 1) if isinstance(size, int) else 1


def estimate(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: Mapping[str, Any] | None,
) -> Estimate | None:
    """The operation's cost; None when GraphQL will refuse it anyway (bad variables)."""
    operation = get_operation_ast(document, operation_name)
    root = schema.get_root_type(operation.operation) if operation else None
    if operation is None or root is None:
        return None
    coerced = get_variable_values(
        schema, operation.variable_definitions or (), dict(variables or {}), hide_suggestions=True
    )
    if not isinstance(coerced, VariableValues):
        return None
    walk = _Walk(schema, document, coerced)
    try:
        cost = walk.selections(operation.selection_set, root)
    except GraphQLError:  # an argument GraphQL will refuse with its own message
        return None
    return Estimate(cost, walk.replays, tuple(walk.reports))


class TooCostly(PublicError):
    """The request asks for more than the caller's role may in one request."""

    def __init__(self, cost: int, budget: int) -> None:
        super().__init__(
            f"this request costs {cost}, over this role's budget of {budget} per request; "
            "ask for fewer rows, aliases or reports as known at a time",
            "TOO_COSTLY",
        )
        self.extensions = {"code": "TOO_COSTLY", "cost": cost, "budget": budget}


class RateLimited(PublicError):
    """The caller has too much expensive work under way or recently; retry later."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            "too many expensive requests (reports as known at a time, replays, "
            f"verifications) from this caller; retry in {retry_after} s",
            "RATE_LIMITED",
        )
        self.extensions = {"code": "RATE_LIMITED", "retryAfter": retry_after}


class Limits:
    """The throttle and the kept reports of one container, shared by all its requests."""

    def __init__(self) -> None:
        self.container: Container | None = None
        self.throttle = Throttle(0, 0)
        self.reports = KeptReports(0)
        # Estimates by query text, operation and variables: the walk costs a request
        # about a tenth of a cheap answer's CPU, and its result depends on nothing else.
        self.estimates: OrderedDict[tuple[str, str | None, bytes], Estimate | None] = OrderedDict()

    def estimate(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        query: str | None,
        operation_name: str | None,
        variables: Mapping[str, Any] | None,
    ) -> Estimate | None:
        """estimate(), kept for ESTIMATES_KEPT operations of known text and JSON variables."""
        encoded = variables_key(variables)
        key = None  # kept small, whatever callers send (documents are kept by text already)
        if query is not None and len(query) <= KEPT_QUERY_CHARS and encoded is not None:
            key = (query, operation_name, encoded)
        if key is not None and key in self.estimates:
            self.estimates.move_to_end(key)
            return self.estimates[key]
        found = estimate(schema, document, operation_name, variables)
        if key is not None:
            self.estimates[key] = found
            if len(self.estimates) > ESTIMATES_KEPT:
                self.estimates.popitem(last=False)
        return found

    def of(self, container: Container) -> Limits:
        if container is not self.container:  # a schema serves one container in production
            settings = container.settings
            self.container = container
            self.throttle = Throttle(settings.expensive_concurrency, settings.expensive_per_minute)
            self.reports = KeptReports(settings.report_cache_size)
        return self


class CostLimits(SchemaExtension):
    """Refuses a request over its budget, or expensive work over the subject's allowance."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits

    async def on_execute(self) -> AsyncIterator[None]:
        execution = self.execution_context
        context = execution.context
        limits = self.limits.of(context.container)
        context.reports = limits.reports
        found = None
        if execution.graphql_document is not None:
            found = self.limits.estimate(
                execution.schema._schema,
                execution.graphql_document,
                execution.query,
                execution.operation_name,
                execution.variables,
            )
        identity = context.identity
        role = identity.role if identity else None
        budget = budget_of(role, context.container.settings.cost_budgets)
        if found is not None and found.cost > budget:
            execution.result = ExecutionResult(None, [TooCostly(found.cost, budget)])
            yield
            return
        if found is None or identity is None or not (found.replays or found.reports):
            yield
            return
        throttle = limits.throttle  # the one it entered, whatever a test swaps meanwhile
        retry_after = throttle.enter(identity.subject)
        if retry_after is not None:
            execution.result = ExecutionResult(None, [RateLimited(retry_after)])
            if isinstance(context.response, Response):
                context.response.headers["Retry-After"] = str(retry_after)
            yield
            return
        started = time.monotonic()
        try:
            yield
        finally:
            throttle.leave(identity.subject, time.monotonic() - started)


def cost_limits() -> Callable[[], CostLimits]:
    """The extension, with one throttle and one report cache for every request it sees."""
    limits = Limits()
    return lambda: CostLimits(limits)
