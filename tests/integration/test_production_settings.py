"""Production settings: introspection off, unexpected errors masked, typed ones shown."""

from __future__ import annotations

from uuid import uuid4

import pytest

from projections import family_queries
from schema.build import create_schema
from service.access.auth import Role
from service.application.container import Container
from tests.scenarios.graphql import context

pytestmark = pytest.mark.integration


async def test_introspection_is_off_unless_development(container: Container) -> None:
    query = "{ __schema { queryType { name } } }"
    production = await create_schema().execute(query, context_value=context(container))
    assert production.errors and "introspection" in production.errors[0].message.lower()
    development = await create_schema(dev=True).execute(query, context_value=context(container))
    assert development.errors is None


async def test_unexpected_errors_are_masked(
    container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*_: object) -> None:
        raise RuntimeError("connection string with a password in it")

    monkeypatch.setattr(family_queries, "get_family", broken)
    result = await create_schema().execute(
        "query($id: UUID!) { family(id: $id) { caseNumber } }",
        variable_values={"id": str(uuid4())},
        context_value=context(container),
    )
    assert result.errors is not None
    assert [e.message for e in result.errors] == ["Unexpected error."]


async def test_expected_errors_keep_their_message_and_code(container: Container) -> None:
    schema = create_schema()
    big = await schema.execute(
        "{ families(first: 1000) { edges { cursor } } }", context_value=context(container)
    )
    assert big.errors and big.errors[0].extensions == {"code": "BAD_PAGE_SIZE"}
    refused = await schema.execute(
        "{ projectionStatus { name } }", context_value=context(container)
    )
    assert refused.errors and refused.errors[0].extensions == {"code": "FORBIDDEN"}
    bad = await schema.execute(
        '{ families(after: "not-a-cursor") { edges { cursor } } }', context_value=context(container)
    )
    assert bad.errors and bad.errors[0].extensions == {"code": "BAD_CURSOR"}


async def test_depth_tokens_and_aliases_are_limited(container: Container) -> None:
    schema = create_schema()
    deep = "{ families { edges { node { members { name } } } } }"
    analyst = await schema.execute(deep, context_value=context(container, Role.ANALYST))
    assert analyst.errors and "depth" in analyst.errors[0].message
    many = "{ " + " ".join(f"a{n}: __typename" for n in range(30)) + " }"
    aliases = await schema.execute(many, context_value=context(container))
    assert aliases.errors and "aliases" in aliases.errors[0].message
    huge = "{ " + " ".join("__typename" for _ in range(3000)) + " }"
    tokens = await schema.execute(huge, context_value=context(container))
    assert tokens.errors and "token" in tokens.errors[0].message.lower()
