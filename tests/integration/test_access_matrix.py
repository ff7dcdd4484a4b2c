"""Every role against every query, mutation and subscription: allowed and refused answers.

The gates are derived from the policy table (schema/policy.py); QUERIES restates what that
table must give, independently, and the runs check that the schema does as the table says.
What an admitted caller sees of whom: tests/integration/test_access_policy.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
    GraphQLType,
    get_named_type,
)
from strawberry import Schema

from domain.values import CredibleFearOutcome
from schema import policy
from schema.build import create_schema
from schema.context import Context
from schema.loaders import Loaders
from service.access.auth import Identity, Role
from service.application.container import Container
from tests.scenarios.family import at, ctx, open_separated_family

pytestmark = pytest.mark.integration

C, N, A, Y, D = Role.CASEWORKER, Role.COUNSEL, Role.AUDITOR, Role.ANALYST, Role.ADMIN
READERS = {C, N, A}

# The gates as the test states them, independently of schema/policy.py.
QUERIES: dict[str, set[Role]] = {
    "family": READERS,
    "families": READERS,
    "timeline": READERS,
    "child": READERS,
    "parent": READERS,
    "node": READERS,
    "nodes": READERS,
    "parents": READERS,
    "children": READERS,
    "reinterviewEligible": READERS,
    "removalsWithoutDocumentedChoice": READERS,
    "courtReport": READERS | {Y},
    "facilities": READERS | {Y},
    "projectionStatus": {D, A},
    "accessLog": {A},
    "accessLogArchivedMonths": {A},
    "familyAsOf": {A},
    "familyDiff": {A},
    "verifyFamily": {A},
    "familyBundle": {A},
}
SUBSCRIPTIONS: dict[str, set[Role]] = {"familyEvents": READERS, "caseStatusChanged": READERS}
MUTATION_ROLES = {C}
# An admin erases a person's personal data by order (and records nothing else).
ERASURE_ROLES = {D}


def mutation_roles(name: str) -> set[Role]:
    return ERASURE_ROLES if name == "erasePersonalData" else MUTATION_ROLES


SCALARS = {
    "String": "x",
    "ID": "x",
    "Int": 1,
    "Float": 1.0,
    "Boolean": False,
    "UUID": "00000000-0000-4000-8000-000000000001",
    "Date": "2018-06-20",
    "DateTime": "2018-06-20T09:00:00+00:00",
    "JSON": "x",
}


def sample(kind: GraphQLType) -> Any:
    """A minimal value of the right shape: required fields only."""
    if isinstance(kind, GraphQLNonNull):
        return sample(kind.of_type)
    if isinstance(kind, GraphQLList):
        return [sample(kind.of_type)]
    if isinstance(kind, GraphQLEnumType):
        return next(iter(kind.values))
    if isinstance(kind, GraphQLInputObjectType):
        return {
            name: sample(f.type)
            for name, f in kind.fields.items()
            if isinstance(f.type, GraphQLNonNull)
        }
    assert isinstance(kind, GraphQLScalarType)
    return SCALARS[kind.name]


def literal(value: Any) -> str:
    """A GraphQL literal for a sample (enum names unquoted)."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and value.isupper() and value.replace("_", "").isalpha():
        return value
    return repr(value).replace("'", '"') if isinstance(value, str) else str(value)


def operation(kind: str, name: str, field: GraphQLField) -> str:
    args = ", ".join(
        f"{a}: {literal(sample(arg.type))}"
        for a, arg in field.args.items()
        if isinstance(arg.type, GraphQLNonNull)
    )
    call = f"{name}({args})" if args else name
    return (
        f"{kind} {{ {call} {{ __typename }} }}"
        if not isinstance(get_named_type(field.type), GraphQLScalarType)
        else f"{kind} {{ {call} }}"
    )


def context(container: Container, role: Role) -> Context:
    return Context(
        container,
        None,
        None,
        Identity(f"{role.value}-1", role),
        Loaders.create(container.database.pool),
    )


def forbidden(errors: Any) -> bool:
    """Refused at the gate, by role (not by whom the caller represents: a counsel admitted
    to `timeline` is refused a family it has no client in, which test_access_policy checks)."""
    return any(
        (e.extensions or {}).get("code") == "FORBIDDEN" and "needs one of the roles" in e.message
        for e in errors or []
    )


@pytest.fixture(scope="module")
def schema() -> Schema:
    return create_schema(dev=True)


@pytest.fixture
async def matrix_container(container: Container) -> AsyncIterator[Container]:
    yield container


def test_the_policy_covers_every_field(schema: Schema) -> None:
    s = schema._schema
    assert set(s.query_type.fields) == set(QUERIES)  # type: ignore[union-attr]
    assert set(s.subscription_type.fields) == set(SUBSCRIPTIONS)  # type: ignore[union-attr]
    assert len(s.mutation_type.fields) >= 6  # type: ignore[union-attr]
    policy.classified(s)  # every field and argument, or Unclassified naming them


def test_the_policy_table_gives_these_gates() -> None:
    for kind, expected in (("Query", QUERIES), ("Subscription", SUBSCRIPTIONS)):
        for name, (fact, use) in policy.ROOTS[kind].items():
            assert set(policy.roles_for(fact, use)) == expected[name], (kind, name)
    for name, (fact, use) in policy.MUTATIONS.items():
        assert set(policy.roles_for(fact, use)) == mutation_roles(name), name


@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
async def test_queries_admit_exactly_their_roles(
    schema: Schema, matrix_container: Container, role: Role
) -> None:
    for name, field in schema._schema.query_type.fields.items():  # type: ignore[union-attr]
        result = await schema.execute(
            operation("query", name, field), context_value=context(matrix_container, role)
        )
        allowed = role in QUERIES[name]
        assert forbidden(result.errors) is not allowed, (name, role, result.errors)


@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
async def test_mutations_admit_only_caseworkers_and_erasure_only_admins(
    schema: Schema, matrix_container: Container, role: Role
) -> None:
    for name, field in schema._schema.mutation_type.fields.items():  # type: ignore[union-attr]
        result = await schema.execute(
            operation("mutation", name, field), context_value=context(matrix_container, role)
        )
        allowed = role in mutation_roles(name)
        assert forbidden(result.errors) is not allowed, (name, role, result.errors)
        if not allowed:
            assert result.data is None
    events = await matrix_container.database.pool.fetchval("SELECT count(*) FROM events")
    assert role in MUTATION_ROLES or events == 0


@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
async def test_subscriptions_admit_exactly_their_roles(
    schema: Schema, matrix_container: Container, role: Role
) -> None:
    sub_type = schema._schema.subscription_type
    for name, field in sub_type.fields.items():  # type: ignore[union-attr]
        stream = await schema.subscribe(
            operation("subscription", name, field), context_value=context(matrix_container, role)
        )
        if role in SUBSCRIPTIONS[name]:
            assert not hasattr(stream, "errors"), (name, role)
            await stream.aclose()
        else:
            first = await anext(stream) if hasattr(stream, "__anext__") else stream
            assert forbidden(first.errors), (name, role)  # type: ignore[union-attr]


async def test_counsel_sees_null_where_contents_are_confidential(
    schema: Schema, container: Container
) -> None:
    family_id, mother, _, _ = await open_separated_family(container.commands)
    await container.commands.execute(
        family_id,
        lambda f: f.decide_credible_fear(
            mother, CredibleFearOutcome.NEGATIVE, "Spanish", True, at(5)
        ),
        ctx(),
    )
    await container.commands.execute(
        family_id, lambda f: f.reinterview(mother, CredibleFearOutcome.POSITIVE, at(90)), ctx()
    )
    await container.runner.catch_up()
    query = "query($id: UUID!) { parent(id: $id) { credibleFear reinterviewOutcome } }"
    seen = {}
    for role in (C, N, A):
        result = await schema.execute(
            query, variable_values={"id": str(mother)}, context_value=context(container, role)
        )
        assert result.errors is None and result.data is not None
        seen[role] = result.data["parent"]
    assert seen[C] == seen[A] == {"credibleFear": "negative", "reinterviewOutcome": "positive"}
    assert seen[N] == {"credibleFear": None, "reinterviewOutcome": None}
