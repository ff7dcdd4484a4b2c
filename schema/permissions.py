"""Role-based permission classes: the gates of the root fields, derived from the policy."""

from __future__ import annotations

from typing import Any

from strawberry.permission import BasePermission

from schema.policy import Fact, Use, roles_for
from service.access.auth import Role


def allow(*roles: Role) -> type[BasePermission]:
    """A permission class admitting callers whose token carries one of these roles."""
    allowed = frozenset(roles)
    names = ", ".join(sorted(r.value for r in allowed))

    class Allowed(BasePermission):
        message = f"forbidden: this field needs one of the roles {names}"
        error_extensions = {"code": "FORBIDDEN"}  # noqa: RUF012

        def has_permission(self, source: Any, info: Any, **kwargs: Any) -> bool:
            identity = info.context.identity
            return identity is not None and identity.role in allowed

    Allowed.__name__ = f"Allow_{'_'.join(sorted(r.value for r in allowed))}"
    return Allowed


def gate(fact: Fact, use: Use) -> type[BasePermission]:
    """The permission class of a root field answering this use of this fact: the roles the
    policy lets use it over anyone at all (schema/policy.py)."""
    return allow(*roles_for(fact, use))


# The gates of the root fields, each derived from the policy table (schema/policy.py says
# which root is which); what a caller admitted sees is scoped further (schema/scoping.py).
RECORDERS = gate(Fact.STATUS, Use.RECORD)
CASE_READERS = gate(Fact.STATUS, Use.READ)
CASE_LISTS = gate(Fact.STATUS, Use.LIST)
HISTORY_READERS = gate(Fact.IDENTITY, Use.LIST)
ASYLUM_LISTS = gate(Fact.ASYLUM, Use.LIST)
REPORT_READERS = gate(Fact.STATUS, Use.STATISTICS)
AUDITORS = gate(Fact.AUDIT, Use.READ)
OPERATORS = gate(Fact.OPERATIONS, Use.READ)
