"""The policy applied to one request: the caller's scope, loaded once, and what it masks.

schema/policy.py says what each role may do with each fact; this module resolves it against
whom the caller represents (counsel_clients, one query per counsel request) and applies it
to the objects answered: a field the caller may not read is null, and an object the caller
may not read at all is refused.
"""

from __future__ import annotations

import typing
from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

import asyncpg
from strawberry.extensions import SchemaExtension
from strawberry.types.private import is_private
from strawberry.utils.str_converters import to_camel_case

from projections import family_queries
from schema.context import Info
from schema.errors import PublicError
from schema.policy import FIELDS, NO_CLIENTS, PARTIAL, POLICY, Clients, Fact, Reach, Scope, Use
from service.access.auth import Identity


def needs_clients(identity: Identity | None) -> bool:
    """Whether what this caller may see depends on whom it represents."""
    if identity is None:
        return False
    return any(
        found in PARTIAL for uses in POLICY[identity.role].values() for found in uses.values()
    )


async def load_scope(pool: asyncpg.Pool, identity: Identity | None) -> Scope:
    """The caller's scope as the read models hold its representations now."""
    if identity is None:
        return Scope(None)
    if not needs_clients(identity):
        return Scope(identity.role)
    rows = await family_queries.clients_of(pool, identity.subject)
    return Scope(
        identity.role,
        Clients(
            families=frozenset(r["family_id"] for r in rows),
            consenting=frozenset(r["person_id"] for r in rows if r["consent_to_disclosure"]),
        ),
    )


def scope_of(info: Info) -> Scope:
    """The request's scope; before it is loaded, a caller represents no one (fail closed)."""
    context = info.context
    if context.scope is not None:
        return context.scope
    identity = context.identity
    return Scope(identity.role if identity else None, NO_CLIENTS)


async def rescope(info: Info) -> Scope:
    """Load the caller's scope afresh (a subscription does before each delivery: a
    representation may end while it runs)."""
    context = info.context
    context.scope = await load_scope(context.container.database.pool, context.identity)
    return context.scope


class Scoping(SchemaExtension):
    """Loads the caller's scope before an operation executes (not for an answer kept by the
    response cache, which executes nothing)."""

    async def on_execute(self) -> AsyncIterator[None]:
        execution = self.execution_context
        context = execution.context
        if execution.result is None and context.scope is None and needs_clients(context.identity):
            context.scope = await load_scope(context.container.database.pool, context.identity)
        yield


def forbidden(what: str) -> PublicError:
    return PublicError(f"forbidden: {what}", "FORBIDDEN")


def require(
    scope: Scope, fact: Fact, use: Use, family_id: UUID | None, person_id: UUID | None = None
) -> None:
    """Refuse, naming the rule, what the caller may not use at all."""
    if not scope.allows(fact, use, family_id, person_id):
        found = scope.reach(fact, use)
        raise forbidden(f"{fact.value} facts reach {found.value} for this role ({use.value})")


# The facts some role reads of some people only: a field holding one is masked per object.
_MASKABLE = frozenset(
    fact
    for facts in POLICY.values()
    for fact, uses in facts.items()
    if uses.get(Use.READ) in PARTIAL
)


_MASKED: dict[type[Any], tuple[tuple[str, Fact], ...]] = {}


def _masked(cls: type[Any]) -> tuple[tuple[str, Fact], ...]:
    """The attributes of a schema type whose fact a scope may withhold, with that fact.
    A field the tables do not classify is not withheld here: it fails the policy's tests
    (schema.policy.classified) instead of every request."""
    if (known := _MASKED.get(cls)) is not None:
        return known
    given = FIELDS[cls.__strawberry_definition__.name]
    hints = typing.get_type_hints(cls, include_extras=True)
    found = []
    for strawberry_field in cls.__strawberry_definition__.fields:
        name = strawberry_field.python_name
        if name in hints and is_private(hints[name]):
            continue  # not in the schema: the object's own bookkeeping
        fact = given.get(strawberry_field.graphql_name or to_camel_case(name))
        if fact in _MASKABLE:
            found.append((name, fact))
    _MASKED[cls] = tuple(found)
    return _MASKED[cls]


def shown(
    cls: type[Any],
    values: dict[str, Any],
    scope: Scope,
    family_id: UUID | None,
    person_id: UUID | None = None,
) -> dict[str, Any]:
    """The values of an object of `cls` about this family (and person), each the caller may
    not read set to None."""
    masked = _masked(cls)
    if all(scope.reach(fact, Use.READ) is Reach.ALL for _, fact in masked):
        return values  # a caseworker's or auditor's: nothing to withhold from anyone
    for name, fact in masked:
        if not scope.allows(fact, Use.READ, family_id, person_id):
            values[name] = None
    return values
