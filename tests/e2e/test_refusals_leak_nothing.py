"""A refused request in production learns nothing: no hidden names, no library internals."""

from __future__ import annotations

import base64

import httpx
import pytest

from schema.build import create_schema
from service.access.auth import Role
from service.settings import Settings
from tests.scenarios.graphql import Client, token

pytestmark = pytest.mark.e2e

NOBODY = "00000000-0000-0000-0000-000000000000"


async def messages(client: Client, query: str, **variables: object) -> str:
    response = await client.post(query, **variables)
    return " ".join(e["message"] for e in response.json()["errors"])


async def test_a_misspelt_name_gets_no_suggestion_of_the_hidden_schema(
    http: httpx.AsyncClient, server_settings: Settings
) -> None:
    counsel = Client(http, token(server_settings, Role.COUNSEL, "cy.counsel"))
    field = await messages(counsel, f'{{ parent(id: "{NOBODY}") {{ credible }} }}')
    assert "credible" in field and "credibleFear" not in field and "Did you mean" not in field
    argument = await messages(counsel, f'{{ family(idd: "{NOBODY}") {{ caseNumber }} }}')
    assert "idd" in argument and "Did you mean" not in argument
    type_name = await messages(counsel, "query($x: Stringg) { __typename }")
    assert "Stringg" in type_name and "Did you mean" not in type_name
    enum_value = await messages(
        counsel,
        "mutation($input: AddMemberInput!) { addMember(input: $input) { __typename } }",
        input={
            "familyId": NOBODY,
            "role": "PARNT",
            "sex": "FEMALE",
            "name": "Ana",
            "occurredAt": "2018-05-20T09:00:00+00:00",
        },
    )
    assert "PARNT" in enum_value and "PARENT" not in enum_value, enum_value


@pytest.mark.parametrize(
    "bearer",
    [
        "abc",
        "a.b.c",
        "eyJhbGciOiJIUzI1NiJ9.e30.x",
        base64.urlsafe_b64encode(b"\xff\xfe").decode() + ".e30.x",
    ],
)
async def test_a_malformed_token_gets_401_without_the_libraries_reason(
    http: httpx.AsyncClient, bearer: str
) -> None:
    response = await http.post(
        "/graphql", json={"query": "{ __typename }"}, headers={"Authorization": f"Bearer {bearer}"}
    )
    assert response.status_code == 401
    assert response.json()["errors"] == [
        {"message": "invalid token", "extensions": {"code": "UNAUTHENTICATED"}}
    ]


async def test_a_body_nested_too_deeply_is_a_bad_request_not_a_server_error(
    http: httpx.AsyncClient, server_settings: Settings
) -> None:
    counsel = Client(http, token(server_settings, Role.COUNSEL, "cy.counsel"))
    response = await http.post(
        "/graphql",
        content=b"[" * 100_000 + b"]" * 100_000,
        headers={**counsel.headers, "content-type": "application/json"},
    )
    assert response.status_code == 400
    assert "Traceback" not in response.text and "Recursion" not in response.text


async def test_development_keeps_its_suggestions() -> None:
    query = f'{{ parent(id: "{NOBODY}") {{ credible }} }}'
    development = await create_schema(dev=True).execute(query)
    production = await create_schema(dev=False).execute(query)
    assert development.errors and "Did you mean 'credibleFear'?" in development.errors[0].message
    assert production.errors and "credibleFear" not in production.errors[0].message
