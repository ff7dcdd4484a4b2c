"""Answers to repeated read-model queries, kept until a projection applies its next batch.

Only queries whose root fields read nothing but the read models are kept: those tables
change only in the projections' transactions, each of which ends with a NOTIFY that every
process hears (service.application.notifications), and the first one heard empties the cache. A
query that waits for a position (minPosition) or reads the log as known at a time
(knownAt) is always executed: a client reading its own writes never gets an older answer.
Answers are kept per caller (subject and role), so permissions, page caps and
analysts' rounding stay the caller's own; the read audit records every answer, kept or not.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from graphql import (
    DocumentNode,
    ExecutionResult,
    FieldNode,
    NullValueNode,
    OperationDefinitionNode,
    OperationType,
    VariableNode,
)
from strawberry.extensions import SchemaExtension

from service.application.notifications import Notifications

# Root fields that read only read-model tables (projections/*_queries.py), never the log,
# the access log, checkpoints or the clock.
READ_MODEL_ROOTS = frozenset(
    {
        "__typename",
        "family",
        "families",
        "timeline",
        "child",
        "parent",
        "children",
        "parents",
        "reinterviewEligible",
        "removalsWithoutDocumentedChoice",
        "courtReport",
        "facilities",
        "node",  # through the roots above (schema/node_queries.py)
        "nodes",
    }
)
# Arguments that make such a field wait for the log or read it as known at a time.
LOG_ARGUMENTS = frozenset({"minPosition", "knownAt"})


def read_model_query(
    document: DocumentNode | None,
    operation_name: str | None,
    variables: Mapping[str, Any] | None = None,
) -> bool:
    """Whether the operation to run is a query of read-model root fields only."""
    operations = [
        d
        for d in (document.definitions if document else ())
        if isinstance(d, OperationDefinitionNode)
        and (operation_name is None or (d.name is not None and d.name.value == operation_name))
    ]
    if len(operations) != 1 or operations[0].operation is not OperationType.QUERY:
        return False
    operation = operations[0]
    sent = dict(variables or {})
    for definition in operation.variable_definitions or ():
        name = definition.variable.name.value
        if name not in sent and definition.default_value is not None:
            sent[name] = definition.default_value  # GraphQL runs with the default
    for selection in operation.selection_set.selections:
        # Fragments at the root are rare; they are executed rather than inspected.
        if not isinstance(selection, FieldNode) or selection.name.value not in READ_MODEL_ROOTS:
            return False
        for argument in selection.arguments or ():
            if argument.name.value in LOG_ARGUMENTS and not _null(argument.value, sent):
                return False
    return True


def _null(value: object, variables: Mapping[str, Any]) -> bool:
    """An argument given as null, or as a variable whose value (sent or default) is null."""
    if isinstance(value, VariableNode):
        value = variables.get(value.name.value)
    return value is None or isinstance(value, NullValueNode)


@dataclass(frozen=True)
class Kept:
    """One answer and the families whose data it carries (for the read audit)."""

    result: ExecutionResult
    families: frozenset[UUID]


class ResponseCache:
    """A bounded LRU of answers, emptied whenever a projection batch is announced."""

    def __init__(self, notifications: Notifications, size: int) -> None:
        self.notifications = notifications
        self.size = size
        self.generation = notifications.generation
        self.kept: OrderedDict[tuple[Any, ...], Kept] = OrderedDict()
        self.hits = 0
        self.misses = 0  # looked up and not kept (metrics)

    @property
    def usable(self) -> bool:
        """Only while this process hears every batch announced (else it could not forget)."""
        return self.size > 0 and self.notifications.listening

    def get(self, key: tuple[Any, ...]) -> Kept | None:
        """The answer kept for key since the last batch, if any."""
        self._forget_if_stale()
        kept = self.kept.get(key)
        if kept is not None:
            self.kept.move_to_end(key)
            self.hits += 1
        else:
            self.misses += 1
        return kept

    def put(self, key: tuple[Any, ...], generation: int, kept: Kept) -> None:
        """Keep an answer computed entirely within `generation`."""
        self._forget_if_stale()
        if generation != self.generation or not self.usable:
            return  # a batch was announced while it ran: it may mix before and after
        self.kept[key] = kept
        if len(self.kept) > self.size:
            self.kept.popitem(last=False)

    def _forget_if_stale(self) -> None:
        if self.generation != self.notifications.generation:
            self.kept.clear()
            self.generation = self.notifications.generation


def cache_key(
    subject: str,
    role: str,
    query: str | None,
    operation_name: str | None,
    variables: Mapping[str, Any] | None,
) -> tuple[Any, ...] | None:
    """The caller and the request as sent; None when the variables are not plain JSON."""
    try:
        canonical = json.dumps(variables or {}, sort_keys=True, separators=(",", ":"))
    except (TypeError, ValueError):
        return None
    return (subject, role, query, operation_name, canonical)


class ResponseCaching(SchemaExtension):
    """Answers a repeated read-model query from the cache; keeps new answers."""

    def on_execute(self) -> Iterator[None]:
        execution = self.execution_context
        context = execution.context
        cache: ResponseCache | None = context.response_cache
        identity = context.identity
        key = None
        if (
            cache is not None
            and identity is not None
            and cache.usable
            and read_model_query(
                execution.graphql_document, execution.operation_name, execution.variables
            )
        ):
            key = cache_key(
                identity.subject,
                identity.role.value,
                execution.query,
                execution.operation_name,
                execution.variables,
            )
        if cache is None or key is None:
            yield
            return
        kept = cache.get(key)
        if kept is not None:
            execution.result = kept.result  # strawberry then skips execution
            context.read_families.update(kept.families)
        generation = cache.generation
        yield
        result = execution.result
        if kept is None and isinstance(result, ExecutionResult) and not result.errors:
            cache.put(key, generation, Kept(result, frozenset(context.read_families)))
