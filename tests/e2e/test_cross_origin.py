"""A browser app on another origin: CORS preflights and answers, and the websocket's origin
check, on a production server that lists one origin (REUNITE_CORS_ORIGINS)."""

from __future__ import annotations

import asyncio
import dataclasses
import json

import httpx
import pytest
import websockets

from service.access.auth import Role
from service.settings import Settings
from tests.scenarios.graphql import SECRET, free_port, token

pytestmark = pytest.mark.e2e

APP = "https://app.example.org"
ELSEWHERE = "https://evil.example.net"
PROTOCOL = "graphql-transport-ws"


@pytest.fixture(scope="module")
async def server_settings(settings: Settings) -> Settings:
    return dataclasses.replace(
        settings, jwt_secret=SECRET, port=free_port(), cors_origins=(APP,), dev=False
    )


def preflight_headers(origin: str, headers: str = "authorization, content-type") -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": headers,
    }


def cors_headers(response: httpx.Response) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k.startswith("access-control-")}


async def test_a_preflight_from_a_listed_origin_says_what_it_may_send(
    http: httpx.AsyncClient,
) -> None:
    response = await http.options(
        "/graphql",
        headers=preflight_headers(APP, "authorization, content-type, apollographql-client-name"),
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == APP
    assert response.headers["access-control-allow-methods"] == "POST"
    allowed = {
        h.strip().lower() for h in response.headers["access-control-allow-headers"].split(",")
    }
    assert {"authorization", "content-type", "accept", "apollographql-client-name"} <= allowed
    assert response.headers["access-control-max-age"] == "600"
    assert "access-control-allow-credentials" not in response.headers  # bearer tokens, no cookies
    assert "origin" in response.headers["vary"].lower()


@pytest.mark.parametrize(
    "headers",
    [
        preflight_headers(ELSEWHERE),
        preflight_headers("null"),
        preflight_headers(APP + ".evil.example.net"),
        preflight_headers("http://localhost:3000"),  # production: no localhost
        preflight_headers(APP, "authorization, x-forwarded-for"),
        {**preflight_headers(APP), "Access-Control-Request-Method": "PUT"},
    ],
)
async def test_any_other_preflight_is_refused_and_gets_no_cors_header(
    http: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    response = await http.options("/graphql", headers=headers)
    assert response.status_code == 403
    assert cors_headers(response) == {}
    assert response.json()["errors"][0]["extensions"]["code"] == "CORS_REFUSED"


async def test_answers_to_the_listed_origin_are_readable_by_its_page(
    http: httpx.AsyncClient, server_settings: Settings
) -> None:
    bearer = {"Authorization": f"Bearer {token(server_settings, Role.CASEWORKER)}"}
    ok = await http.post(
        "/graphql", json={"query": "{ __typename }"}, headers={**bearer, "Origin": APP}
    )
    assert ok.json() == {"data": {"__typename": "Query"}}
    assert cors_headers(ok) == {
        "access-control-allow-origin": APP,
        "access-control-expose-headers": "Retry-After, X-Request-Id",
    }
    # Refusals too: the app can show why (401 here).
    refused = await http.post("/graphql", json={"query": "{ __typename }"}, headers={"Origin": APP})
    assert refused.status_code == 401
    assert refused.headers["access-control-allow-origin"] == APP


async def test_answers_to_another_origin_carry_no_cors_header(
    http: httpx.AsyncClient, server_settings: Settings
) -> None:
    bearer = {"Authorization": f"Bearer {token(server_settings, Role.CASEWORKER)}"}
    response = await http.post(
        "/graphql", json={"query": "{ __typename }"}, headers={**bearer, "Origin": ELSEWHERE}
    )
    assert cors_headers(response) == {}
    assert "origin" in response.headers["vary"].lower()


async def handshake(server: str, origin: str | None, bearer: str) -> str:
    """The first message after connection_init, from a page on `origin`."""
    url = server.replace("http", "ws") + "/graphql"
    async with websockets.connect(
        url,
        subprotocols=[PROTOCOL],  # type: ignore[list-item]
        origin=origin,  # type: ignore[arg-type]
    ) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {"authorization": bearer}}))
        kind: str = json.loads(await asyncio.wait_for(ws.recv(), 10))["type"]
        return kind


async def test_the_websocket_admits_the_listed_origin_and_clients_without_one(
    server: str, server_settings: Settings
) -> None:
    bearer = f"Bearer {token(server_settings, Role.CASEWORKER, 'ws.origin')}"
    assert await handshake(server, APP, bearer) == "connection_ack"
    assert await handshake(server, None, bearer) == "connection_ack"
    assert await handshake(server, server, bearer) == "connection_ack"  # same origin


@pytest.mark.parametrize("origin", [ELSEWHERE, "http://localhost:3000", "null"])
async def test_the_websocket_refuses_a_handshake_from_another_origin(
    server: str, server_settings: Settings, origin: str
) -> None:
    bearer = f"Bearer {token(server_settings, Role.CASEWORKER, 'ws.origin')}"
    with pytest.raises(websockets.InvalidStatus) as refused:
        await handshake(server, origin, bearer)
    assert refused.value.response.status_code == 403
