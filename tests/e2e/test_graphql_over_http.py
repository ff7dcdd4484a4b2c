"""GraphQL over HTTP as the spec has it, on a production-mode server: the media type
answered, status codes by media type, a JSON body with a code for every refusal, and a
code on every error."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
import websockets

from service.access.auth import Role
from service.settings import Settings
from tests.scenarios.graphql import Client, token

pytestmark = pytest.mark.e2e

JSON = "application/json"
GRAPHQL_RESPONSE = "application/graphql-response+json"
NOBODY = "00000000-0000-0000-0000-000000000000"


def caseworker_headers(settings: Settings, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(settings, Role.CASEWORKER)}", **extra}


async def post(
    http: httpx.AsyncClient, settings: Settings, body: Any, accept: str | None = None
) -> httpx.Response:
    headers = caseworker_headers(settings)
    if accept is not None:
        headers["Accept"] = accept
    return await http.post("/graphql", json=body, headers=headers)


def only_code(response: httpx.Response) -> str:
    """The code of the one error of a response that ran nothing (no data entry)."""
    body: dict[str, Any] = response.json()
    assert "data" not in body, body
    [error] = body["errors"]
    code: str = error["extensions"]["code"]
    return code


@pytest.mark.parametrize(
    ("accept", "media"),
    [
        (GRAPHQL_RESPONSE, GRAPHQL_RESPONSE),
        (f"{GRAPHQL_RESPONSE}, {JSON};q=0.9", GRAPHQL_RESPONSE),  # Apollo Client 4
        (JSON, JSON),
        ("*/*", JSON),
        (None, JSON),
        (f"{JSON}, {GRAPHQL_RESPONSE};q=0.5", JSON),
        ("text/html", JSON),
    ],
)
async def test_the_media_type_answered_is_the_one_accepted(
    http: httpx.AsyncClient, server_settings: Settings, accept: str | None, media: str
) -> None:
    response = await post(http, server_settings, {"query": "{ __typename }"}, accept)
    assert response.status_code == 200
    assert response.headers["content-type"] == media
    assert response.json() == {"data": {"__typename": "Query"}}


REQUEST_ERRORS = [
    ({"query": "{"}, "GRAPHQL_PARSE_FAILED"),
    ({"query": "{ " + "a " * 2100 + "}"}, "GRAPHQL_PARSE_FAILED"),  # over 2000 tokens
    ({"query": "{ noSuchField }"}, "GRAPHQL_VALIDATION_FAILED"),
    ({"query": '{ family(id: "not-a-uuid") { caseNumber } }'}, "GRAPHQL_VALIDATION_FAILED"),
    ({"query": "{ __schema { types { name } } }"}, "INTROSPECTION_DISABLED"),
    ({"query": "{ " + " ".join(f"a{n}: __typename" for n in range(20)) + " }"}, "TOO_MANY_ALIASES"),
    (
        {
            "query": "query($id: UUID!) { family(id: $id) { caseNumber } }",
            "variables": {"id": "not-a-uuid"},
        },
        "BAD_USER_INPUT",
    ),
    ({"query": "query($id: UUID!) { family(id: $id) { caseNumber } }"}, "BAD_USER_INPUT"),
    ({"query": "query CoerceFailure($id: ID!) { __typename }", "variables": {"id": None}}, None),
    ({"query": "query A { __typename }", "operationName": "B"}, "OPERATION_RESOLUTION_FAILURE"),
    # Two operations and no operationName: which to run is not the server's to guess.
    ({"query": "query A { __typename } query B { __typename }"}, "OPERATION_RESOLUTION_FAILURE"),
    (
        {"query": f'subscription {{ familyEvents(familyId: "{NOBODY}") {{ version }} }}'},
        "OPERATION_NOT_SUPPORTED",
    ),
]


@pytest.mark.parametrize(("body", "code"), REQUEST_ERRORS)
async def test_a_document_that_does_not_run_is_200_in_json_and_400_in_graphql_response_json(
    http: httpx.AsyncClient, server_settings: Settings, body: dict[str, Any], code: str | None
) -> None:
    as_json = await post(http, server_settings, body, JSON)
    assert as_json.status_code == 200 and as_json.headers["content-type"] == JSON
    as_graphql = await post(http, server_settings, body, GRAPHQL_RESPONSE)
    assert as_graphql.status_code == 400, as_graphql.text
    assert as_graphql.headers["content-type"] == GRAPHQL_RESPONSE
    for response in (as_json, as_graphql):
        body_out: dict[str, Any] = response.json()
        assert "data" not in body_out, body_out
        codes = {e["extensions"]["code"] for e in body_out["errors"]}
        assert codes == {code} if code else codes <= {"GRAPHQL_VALIDATION_FAILED", "BAD_USER_INPUT"}


async def test_a_variable_that_is_not_its_type_is_bad_user_input_naming_the_variable(
    http: httpx.AsyncClient, server_settings: Settings
) -> None:
    query = "query($id: UUID!) { family(id: $id) { caseNumber } }"
    response = await post(http, server_settings, {"query": query, "variables": {"id": "x1"}})
    [error] = response.json()["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT"}
    assert "$id" in error["message"]


async def test_a_depth_over_the_roles_limit_is_query_too_deep(
    http: httpx.AsyncClient, server_settings: Settings
) -> None:
    analyst = Client(http, token(server_settings, Role.ANALYST))
    response = await analyst.post("{ families { edges { node { members { name } } } } }")
    assert response.status_code == 200
    assert {e["extensions"]["code"] for e in response.json()["errors"]} == {"QUERY_TOO_DEEP"}


async def test_an_operation_that_ran_is_200_in_either_media_type_with_its_data_entry(
    http: httpx.AsyncClient, server_settings: Settings
) -> None:
    """A field error (here the caller's role) leaves the data entry: it ran, so 200."""
    admin = {"Authorization": f"Bearer {token(server_settings, Role.COUNSEL)}"}
    for accept in (JSON, GRAPHQL_RESPONSE):
        response = await http.post(
            "/graphql",
            json={"query": "{ projectionStatus { name } }"},
            headers={**admin, "Accept": accept},
        )
        assert response.status_code == 200
        body = response.json()
        assert "data" in body and body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        assert body["errors"][0]["path"] == ["projectionStatus"]


async def test_a_typed_error_says_its_code_through_the_error_interface(
    http: httpx.AsyncClient, server_settings: Settings
) -> None:
    mutation = """mutation($input: AddMemberInput!) { addMember(input: $input) {
        __typename ... on Error { message code } } }"""
    member = {
        "familyId": NOBODY,
        "role": "PARENT",
        "sex": "FEMALE",
        "name": "Ana",
        "occurredAt": "2018-05-20T09:00:00+00:00",
    }
    caseworker = Client(http, token(server_settings, Role.CASEWORKER))
    result = (await caseworker.run(mutation, input=member))["addMember"]
    assert result["__typename"] == "NotFound" and result["code"] == "NOT_FOUND"


TRANSPORT_ERRORS = [
    # (content type, body, status, code)
    (JSON, b'{ "not a JSON', 400, "BAD_REQUEST"),
    (JSON, b"", 400, "BAD_REQUEST"),
    (JSON, b'"a string"', 400, "BAD_REQUEST"),
    (JSON, b'{"notquery": "{ __typename }"}', 400, "BAD_REQUEST"),
    (JSON, b'{"query": ""}', 400, "BAD_REQUEST"),
    (JSON, b'{"query": 7}', 400, "BAD_REQUEST"),
    (JSON, b'{"query": ["{ __typename }"]}', 400, "BAD_REQUEST"),
    (JSON, b'{"query": "{ __typename }", "variables": "{}"}', 400, "BAD_REQUEST"),
    (JSON, b'{"query": "{ __typename }", "variables": []}', 400, "BAD_REQUEST"),
    (JSON, b'{"query": "{ __typename }", "operationName": 0}', 400, "BAD_REQUEST"),
    (JSON, b'{"query": "{ __typename }", "extensions": false}', 400, "BAD_REQUEST"),
    (JSON, b'[{"query": "{ __typename }"}]', 400, "BATCHING_NOT_SUPPORTED"),
    (JSON, b'{"extensions": {"persistedQuery": {"sha256Hash": 1}}}', 400, "BAD_REQUEST"),
    ("text/plain", b'{"query": "{ __typename }"}', 415, "UNSUPPORTED_MEDIA_TYPE"),
    ("application/graphql", b"{ __typename }", 415, "UNSUPPORTED_MEDIA_TYPE"),
    ("application/x-www-form-urlencoded", b"query=%7B__typename%7D", 415, "UNSUPPORTED_MEDIA_TYPE"),
    ("multipart/form-data; boundary=x", b"--x--", 415, "UNSUPPORTED_MEDIA_TYPE"),
    (f"{JSON}; charset=latin-1", b'{"query": "{ __typename }"}', 415, "UNSUPPORTED_MEDIA_TYPE"),
    (None, b'{"query": "{ __typename }"}', 415, "UNSUPPORTED_MEDIA_TYPE"),
]


@pytest.mark.parametrize(("content_type", "content", "status", "code"), TRANSPORT_ERRORS)
@pytest.mark.parametrize("accept", [JSON, GRAPHQL_RESPONSE])
async def test_every_transport_refusal_is_a_graphql_error_body_with_a_code(
    http: httpx.AsyncClient,
    server_settings: Settings,
    content_type: str | None,
    content: bytes,
    status: int,
    code: str,
    accept: str,
) -> None:
    headers = caseworker_headers(server_settings, Accept=accept)
    if content_type is not None:
        headers["Content-Type"] = content_type
    response = await http.post("/graphql", content=content, headers=headers)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == accept
    assert only_code(response) == code
    assert "{ __typename }" not in response.text  # nothing sent is echoed


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
async def test_other_methods_are_405_naming_post(
    http: httpx.AsyncClient, server_settings: Settings, method: str
) -> None:
    response = await http.request(
        method, "/graphql?query=%7B__typename%7D", headers=caseworker_headers(server_settings)
    )
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert only_code(response) == "METHOD_NOT_ALLOWED"


async def test_a_mutation_over_get_runs_nothing(
    http: httpx.AsyncClient, server_settings: Settings
) -> None:
    response = await http.get(
        "/graphql",
        params={"query": 'mutation { openCase(input: {caseNumber: "G"}) { __typename } }'},
        headers=caseworker_headers(server_settings, Accept=GRAPHQL_RESPONSE),
    )
    assert response.status_code == 405 and only_code(response) == "METHOD_NOT_ALLOWED"


async def test_options_without_a_preflight_names_the_method(http: httpx.AsyncClient) -> None:
    response = await http.options("/graphql")
    assert response.status_code == 204 and response.headers["allow"] == "POST"
    assert not any(h.startswith("access-control-") for h in response.headers)


async def test_a_missing_token_is_401_in_the_accepted_media_type(
    http: httpx.AsyncClient,
) -> None:
    response = await http.post(
        "/graphql", json={"query": "{ __typename }"}, headers={"Accept": GRAPHQL_RESPONSE}
    )
    assert response.status_code == 401
    assert response.headers["content-type"] == GRAPHQL_RESPONSE
    assert response.headers["www-authenticate"] == "Bearer"
    assert only_code(response) == "UNAUTHENTICATED"


async def test_a_persisted_id_is_not_supported_without_a_manifest(
    http: httpx.AsyncClient, server_settings: Settings
) -> None:
    body = {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "ab" * 32}}}
    response = await post(http, server_settings, body, JSON)
    assert response.status_code == 200
    assert only_code(response) == "PERSISTED_QUERY_NOT_SUPPORTED"
    response = await post(http, server_settings, body, GRAPHQL_RESPONSE)
    assert response.status_code == 400


async def test_websocket_errors_carry_codes_too(server: str, server_settings: Settings) -> None:
    url = server.replace("http", "ws") + "/graphql"
    bearer = f"Bearer {token(server_settings, Role.CASEWORKER, 'ws.codes')}"
    async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        await ws.send(json.dumps({"type": "connection_init", "payload": {"authorization": bearer}}))
        assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "connection_ack"
        for key, query, code in [
            ("1", "subscription {", "GRAPHQL_PARSE_FAILED"),
            ("2", "subscription { noSuchField }", "GRAPHQL_VALIDATION_FAILED"),
            ("3", "subscription($id: UUID!) { familyEvents(familyId: $id) { version } }", None),
        ]:
            payload = {"query": query, "variables": {"id": "not-a-uuid"} if code is None else {}}
            await ws.send(json.dumps({"id": key, "type": "subscribe", "payload": payload}))
            answer = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert answer["type"] == "error" and answer["id"] == key, answer
            codes = {e["extensions"]["code"] for e in answer["payload"]}
            assert codes == {code or "BAD_USER_INPUT"}, answer
