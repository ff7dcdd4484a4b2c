"""Demand limits per role: page size, depth and aliases, checked before execution."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from graphql.validation import ValidationRule
from strawberry.extensions import SchemaExtension
from strawberry.extensions.max_aliases import create_validator as max_aliases_rule
from strawberry.extensions.query_depth_limiter import create_validator as max_depth_rule

from schema.errors import QUERY_TOO_DEEP, TOO_MANY_ALIASES, coded_rule
from service.access.auth import Role


@dataclass(frozen=True)
class Demand:
    """How much one request of a role may ask for."""

    max_page: int
    max_depth: int
    max_aliases: int


DEMAND = {
    Role.CASEWORKER: Demand(max_page=100, max_depth=10, max_aliases=15),
    Role.COUNSEL: Demand(max_page=100, max_depth=10, max_aliases=15),
    Role.AUDITOR: Demand(max_page=500, max_depth=12, max_aliases=20),
    Role.ANALYST: Demand(max_page=50, max_depth=3, max_aliases=5),
    Role.ADMIN: Demand(max_page=50, max_depth=2, max_aliases=5),
}
UNKNOWN = Demand(max_page=1, max_depth=3, max_aliases=0)

# Rule classes are built once per role: the validation cache is keyed by the rules, so a
# limiter built per request (a new class each time) would never hit it.
# Each rule's errors carry their own code (QUERY_TOO_DEEP, TOO_MANY_ALIASES).
RULES: dict[Role | None, tuple[type[ValidationRule], ...]] = {
    role: (
        coded_rule(max_depth_rule(d.max_depth, None), QUERY_TOO_DEEP),
        coded_rule(max_aliases_rule(d.max_aliases), TOO_MANY_ALIASES),
    )
    for role, d in [*DEMAND.items(), (None, UNKNOWN)]
}


def demand_of(role: Role | None) -> Demand:
    """The limits that apply to a role (the tightest for an unknown caller)."""
    return DEMAND.get(role, UNKNOWN) if role else UNKNOWN


class RoleLimits(SchemaExtension):
    """Adds the caller's role's depth and alias rules to validation."""

    def on_validate(self) -> Iterator[None]:
        identity = getattr(self.execution_context.context, "identity", None)
        role = identity.role if identity else None
        rules = self.execution_context.validation_rules
        self.execution_context.validation_rules = (*rules, *RULES[role])
        yield
