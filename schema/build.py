"""The strawberry schema with production settings: caches, limits, masked errors."""

from __future__ import annotations

from collections.abc import Callable

import strawberry
from graphql import GraphQLError
from graphql.validation import NoSchemaIntrospectionCustomRule, ValidationRule
from strawberry import Schema
from strawberry.extensions import (
    AddValidationRules,
    MaskErrors,
    MaxTokensLimiter,
    ParserCache,
    SchemaExtension,
    ValidationCache,
)
from strawberry.extensions.max_aliases import create_validator as max_aliases_rule
from strawberry.extensions.query_depth_limiter import create_validator as max_depth_rule

from schema.case_queries import CaseQueries
from schema.errors import PublicError
from schema.mutations import Mutation
from schema.queries import FamilyQueries
from schema.subscriptions import Subscription

MAX_DEPTH = 10
MAX_TOKENS = 2000
MAX_ALIASES = 15
CACHE_SIZE = 1000

# Rule classes are built once: the validation cache is keyed by the rules themselves, so a
# limiter constructed per request (a new class each time) would never hit the cache.
LIMIT_RULES: tuple[type[ValidationRule], ...] = (
    max_depth_rule(MAX_DEPTH, None),
    max_aliases_rule(MAX_ALIASES),
)
PRODUCTION_RULES = (*LIMIT_RULES, NoSchemaIntrospectionCustomRule)


@strawberry.type
class Query(FamilyQueries, CaseQueries):
    """Everything the read side answers."""


def _expected(error: GraphQLError) -> bool:
    """Errors the caller should read: ours, and GraphQL's own (parse, validation, permission)."""
    original = error.original_error
    if original is None or isinstance(original, PublicError):
        return True
    return bool(error.extensions and error.extensions.get("code") == "FORBIDDEN")


def create_schema(dev: bool = False) -> Schema:
    """One schema per process; introspection only in development."""
    rules = list(LIMIT_RULES if dev else PRODUCTION_RULES)
    extensions: list[Callable[[], SchemaExtension]] = [
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        lambda: ParserCache(maxsize=CACHE_SIZE),
        lambda: AddValidationRules(rules),
        lambda: ValidationCache(maxsize=CACHE_SIZE),
        lambda: MaskErrors(should_mask_error=lambda e: not _expected(e)),
    ]
    return Schema(query=Query, mutation=Mutation, subscription=Subscription, extensions=extensions)
