"""Role-based permission classes: the one place access is decided."""

from __future__ import annotations

from typing import Any

from strawberry.permission import BasePermission

from service.auth import Role


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


RECORDERS = allow(Role.CASEWORKER)
CASE_READERS = allow(Role.CASEWORKER, Role.COUNSEL, Role.AUDITOR)
AUDITORS = allow(Role.AUDITOR)
REPORT_READERS = allow(Role.CASEWORKER, Role.COUNSEL, Role.AUDITOR, Role.ANALYST)
OPERATORS = allow(Role.ADMIN, Role.AUDITOR)
