"""Role-based permission classes: the one place access is decided."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.permission import BasePermission, PermissionExtension

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


# The access policy, in one place: which roles each kind of field admits.
RECORDERS = allow(Role.CASEWORKER)
CASE_READERS = allow(Role.CASEWORKER, Role.COUNSEL, Role.AUDITOR)
# Credible-fear and re-interview contents are confidential (8 CFR 208.6): not for counsel.
CONFIDENTIAL_READERS = allow(Role.CASEWORKER, Role.AUDITOR)
REPORT_READERS = allow(Role.CASEWORKER, Role.COUNSEL, Role.AUDITOR, Role.ANALYST)
AUDITORS = allow(Role.AUDITOR)
OPERATORS = allow(Role.ADMIN, Role.AUDITOR)


def confidential() -> Any:
    """A field that reads as null for callers who may not see confidential contents."""
    return strawberry.field(
        extensions=[PermissionExtension(permissions=[CONFIDENTIAL_READERS()], fail_silently=True)]
    )
