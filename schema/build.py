"""The strawberry schema with production settings: caches, limits, masked errors."""

from __future__ import annotations

from collections.abc import Callable

import strawberry
from graphql import GraphQLError, VariableDefinitionNode
from graphql.validation import ASTValidationRule, NoSchemaIntrospectionCustomRule
from strawberry import Schema
from strawberry.extensions import (
    AddValidationRules,
    MaxTokensLimiter,
    SchemaExtension,
)

from schema.asylum_mutations import AsylumMutations
from schema.audit import AuditQueries, ReadAudit
from schema.audit_trail import AuditTrailQueries
from schema.case_mutations import CaseMutations
from schema.case_queries import CaseQueries
from schema.child_mutations import ChildMutations
from schema.correction_mutations import CorrectionMutations
from schema.cost import cost_limits
from schema.counsel_mutations import CounselMutations
from schema.documents import DocumentCache
from schema.erasure_mutations import ErasureMutations
from schema.errors import (
    INTROSPECTION_DISABLED,
    CodedErrors,
    PublicError,
    coded_rule,
)
from schema.execution import Executor
from schema.limits import RoleLimits
from schema.node_queries import NodeQueries
from schema.outage import OperatorSchema, OutageErrors
from schema.parent_mutations import ParentMutations
from schema.persisted import PersistedDocuments, PersistedOnly
from schema.queries import FamilyQueries
from schema.read_plans import PlanCache, read_plans
from schema.response_cache import ResponseCaching
from schema.scoping import Scoping
from schema.subscriptions import Subscription
from schema.suggestions import HideSuggestions
from schema.tracing import Tracing

MAX_TOKENS = 2000

PRODUCTION_RULES: tuple[type[ASTValidationRule], ...] = (
    coded_rule(NoSchemaIntrospectionCustomRule, INTROSPECTION_DISABLED),
)


@strawberry.type
class Query(FamilyQueries, CaseQueries, AuditQueries, AuditTrailQueries, NodeQueries):
    """Everything the read side answers."""


@strawberry.type
class Mutation(
    CaseMutations,
    CorrectionMutations,
    ChildMutations,
    ParentMutations,
    AsylumMutations,
    CounselMutations,
    ErasureMutations,
):
    """Every command, each answering with a success or a typed error."""


def _expected(error: GraphQLError) -> bool:
    """Errors the caller should read: ours, and GraphQL's own (parse, validation, variable
    values, permission)."""
    original = error.original_error
    if original is None or isinstance(original, PublicError):
        return True
    # A variable value that cannot be coerced: the error points at the variable, and when
    # the refusal is GraphQL's or strawberry's own (a GraphQLError) it names the bad value,
    # never server state. Any other exception from a scalar stays masked.
    if error.nodes and isinstance(error.nodes[0], VariableDefinitionNode):
        return isinstance(original, GraphQLError)
    return bool(error.extensions and error.extensions.get("code") == "FORBIDDEN")


def create_schema(
    dev: bool = False,
    persisted: PersistedDocuments | None = None,
    tracing: bool = False,
    plans: PlanCache | None = None,
) -> Schema:
    """One schema per process; introspection only in development; with a persisted-only
    manifest, registered documents only; with tracing, OpenTelemetry spans (schema/tracing.py;
    without it no tracing extension runs at all)."""
    rules: list[type[ASTValidationRule]] = [] if dev else list(PRODUCTION_RULES)
    only = persisted if persisted is not None and persisted.only else None
    extensions: list[Callable[[], SchemaExtension]] = [
        *([Tracing] if tracing else []),  # first: its operation span holds every other step
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        lambda: AddValidationRules(rules),
        RoleLimits,
        DocumentCache,  # after the extensions that add validation rules
        *([lambda: PersistedOnly(only)] if only is not None else []),
        cost_limits(),  # budgets and throttles, before anything runs or is answered kept
        ResponseCaching,  # before ReadAudit, so kept answers are audited too
        Scoping,  # after ResponseCaching: a kept answer needs no scope
        # After Scoping (a plan is scoped), before ReadAudit (a planned answer is audited).
        read_plans(plans if plans is not None else PlanCache()),
        ReadAudit,
        OutageErrors,  # before MaskErrors: an outage is answered retryable, not masked
        # Masks what the caller should not read, then codes every error (schema/errors.py).
        lambda: CodedErrors(should_mask_error=lambda e: not _expected(e)),
        *([] if dev else [HideSuggestions]),  # "Did you mean" only where introspection is on
    ]
    return OperatorSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=extensions,
        execution_context_class=Executor,  # a subscription's memory stays flat (execution.py)
    )
