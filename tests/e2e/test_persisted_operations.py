"""Trusted documents, as production is recommended to run: a manifest of the client's
operations (REUNITE_PERSISTED_DOCUMENTS) and only those served (REUNITE_PERSISTED_ONLY),
over HTTP and the websocket alike."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from typing import Any

import httpx
import pytest
import websockets

from schema.persisted import document_id
from service.access.auth import Role
from service.settings import Settings
from tests.scenarios.graphql import SECRET, free_port, token

pytestmark = pytest.mark.e2e

TYPENAME = "query Typename { __typename }"
FAMILY = "query Family($id: UUID!) { family(id: $id) { caseNumber } }"
EVENTS = "subscription Events($id: UUID!) { familyEvents(familyId: $id) { version } }"
UNREGISTERED = "query Other { __typename }"
NOBODY = "00000000-0000-0000-0000-000000000000"
GRAPHQL_RESPONSE = "application/graphql-response+json"


@pytest.fixture(scope="module")
async def server_settings(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    manifest = tmp_path_factory.mktemp("client") / "persisted-documents.json"
    # GraphQL Codegen's client preset: {sha256 of the document: the document}.
    manifest.write_text(json.dumps({document_id(d): d for d in (TYPENAME, FAMILY, EVENTS)}))
    return dataclasses.replace(
        settings,
        jwt_secret=SECRET,
        port=free_port(),
        persisted_documents=manifest,
        persisted_only=True,
    )


async def send(
    http: httpx.AsyncClient, settings: Settings, body: dict[str, Any], accept: str | None = None
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token(settings, Role.CASEWORKER)}"}
    if accept:
        headers["Accept"] = accept
    return await http.post("/graphql", json=body, headers=headers)


def by_hash(document: str) -> dict[str, Any]:
    """What Apollo's persisted-query link sends: the hash, no text."""
    return {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": document_id(document)}}}


def refused_with(response: httpx.Response, code: str) -> None:
    body = response.json()
    assert "data" not in body, body
    assert [e["extensions"]["code"] for e in body["errors"]] == [code]


async def test_a_registered_operation_runs_by_its_hash_its_document_id_or_its_text(
    http: httpx.AsyncClient, server_settings: Settings
) -> None:
    expected = {"data": {"__typename": "Query"}}
    assert (await send(http, server_settings, by_hash(TYPENAME))).json() == expected
    document = {"documentId": f"sha256:{document_id(TYPENAME)}"}
    assert (await send(http, server_settings, document)).json() == expected
    assert (await send(http, server_settings, {"query": TYPENAME})).json() == expected
    both = {"query": TYPENAME, **by_hash(TYPENAME)}  # Apollo's retry after NOT_FOUND
    assert (await send(http, server_settings, both)).json() == expected
    family = {**by_hash(FAMILY), "variables": {"id": NOBODY}}
    assert (await send(http, server_settings, family)).json() == {"data": {"family": None}}


async def test_any_other_document_is_refused_before_it_is_parsed(
    http: httpx.AsyncClient, server_settings: Settings
) -> None:
    as_json = await send(http, server_settings, {"query": UNREGISTERED})
    assert as_json.status_code == 200
    refused_with(as_json, "PERSISTED_QUERY_REQUIRED")
    as_graphql = await send(http, server_settings, {"query": "{"}, GRAPHQL_RESPONSE)
    assert as_graphql.status_code == 400
    refused_with(as_graphql, "PERSISTED_QUERY_REQUIRED")  # not a parse error: never parsed
    unknown = await send(http, server_settings, by_hash(UNREGISTERED))
    refused_with(unknown, "PERSISTED_QUERY_NOT_FOUND")
    retried = await send(http, server_settings, {"query": UNREGISTERED, **by_hash(UNREGISTERED)})
    refused_with(retried, "PERSISTED_QUERY_REQUIRED")
    mismatch = await send(http, server_settings, {"query": UNREGISTERED, **by_hash(TYPENAME)})
    refused_with(mismatch, "PERSISTED_QUERY_MISMATCH")


async def test_the_websocket_runs_registered_documents_only(
    server: str, server_settings: Settings
) -> None:
    url = server.replace("http", "ws") + "/graphql"
    bearer = f"Bearer {token(server_settings, Role.CASEWORKER, 'ws.persisted')}"
    async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        await ws.send(json.dumps({"type": "connection_init", "payload": {"authorization": bearer}}))
        assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "connection_ack"
        await ws.send(
            json.dumps({"id": "1", "type": "subscribe", "payload": {"query": UNREGISTERED}})
        )
        refused = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert refused["type"] == "error"
        assert refused["payload"][0]["extensions"]["code"] == "PERSISTED_QUERY_REQUIRED"
        payload = {"query": TYPENAME}
        await ws.send(json.dumps({"id": "2", "type": "subscribe", "payload": payload}))
        answered = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert answered["payload"] == {"data": {"__typename": "Query"}}
