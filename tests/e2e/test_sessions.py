"""Websocket sessions on a production-mode server: they end when their token does, and
neither a connection nor a caller holds more than its share."""

from __future__ import annotations

import json
import time
from contextlib import AsyncExitStack
from typing import Any
from uuid import uuid4

import httpx
import pytest
import websockets

from service.access.auth import Authenticator, Role
from service.entrypoints.app import create_app
from service.settings import Settings
from tests.scenarios.graphql import ADD, OPEN, WHEN, Client, ok
from tests.scenarios.websocket import PROTOCOL, bearer, close_code, message, session, subscribe

pytestmark = pytest.mark.e2e

EVENTS = """subscription($id: UUID!, $after: Int) {
  familyEvents(familyId: $id, afterVersion: $after) { version eventType } }"""
DEFAULTS = Settings()


async def test_a_subscription_ends_when_its_token_expires_and_resumes_with_a_fresh_one(
    server: str, server_settings: Settings, caseworker: Client
) -> None:
    opened = await ok(
        caseworker, OPEN, input={"caseNumber": "C-EXP", "occurredAt": WHEN, "source": "intake"}
    )
    fid = opened["familyId"]
    parent = {"familyId": fid, "role": "PARENT", "sex": "FEMALE", "occurredAt": WHEN}
    began = time.time()
    async with session(server, bearer(server_settings, "short.lived", ttl=2)) as ws:
        await subscribe(ws, "1", EVENTS, id=fid, after=1)
        await ok(caseworker, ADD, input={**parent, "name": "Ana"})
        assert (await message(ws))["payload"]["data"]["familyEvents"]["version"] == 2
        # The graphql-transport-ws close code graphql-ws clients retry with fresh params.
        assert await close_code(ws, within=10) == 4403
    assert 1.0 < time.time() - began < 8.0
    # Missed while away; a new session with a fresh token picks up after the last seen.
    await ok(caseworker, ADD, input={**parent, "name": "Berta"})
    async with session(server, bearer(server_settings, "short.lived")) as ws:
        await subscribe(ws, "1", EVENTS, id=fid, after=2)
        event = (await message(ws))["payload"]["data"]["familyEvents"]
    assert (event["version"], event["eventType"]) == (3, "MemberAdded")


async def test_a_connection_holds_at_most_its_share_of_subscriptions(
    server: str, server_settings: Settings
) -> None:
    limit = DEFAULTS.max_subscriptions_per_connection
    async with session(server, bearer(server_settings, "many.subscriptions")) as ws:
        for n in range(limit):
            await subscribe(ws, str(n), EVENTS, id=str(uuid4()))
        await subscribe(ws, "one-too-many", EVENTS, id=str(uuid4()))
        refused = await message(ws)
        assert (refused["id"], refused["type"]) == ("one-too-many", "error")
        assert refused["payload"][0]["extensions"] == {"code": "TOO_MANY_SUBSCRIPTIONS"}
        # Completing one makes room again.
        await ws.send(json.dumps({"id": "0", "type": "complete"}))
        await subscribe(ws, "room-again", EVENTS, id=str(uuid4()))
        await ws.send(json.dumps({"type": "ping"}))
        assert (await message(ws))["type"] == "pong"  # and no error before it


async def test_a_caller_holds_at_most_its_share_of_connections(
    server: str, server_settings: Settings
) -> None:
    limit = DEFAULTS.max_connections_per_subject
    async with AsyncExitStack() as held:
        for _ in range(limit):
            await held.enter_async_context(session(server, bearer(server_settings, "many.tabs")))
        url = server.replace("http", "ws") + "/graphql"
        async with websockets.connect(url, subprotocols=[PROTOCOL]) as ws:  # type: ignore[list-item]
            init = {"authorization": bearer(server_settings, "many.tabs")}
            await ws.send(json.dumps({"type": "connection_init", "payload": init}))
            assert await close_code(ws, within=10) == 4403
        # Another caller is not held back by this one.
        async with session(server, bearer(server_settings, "someone.else")):
            pass
    # Closed connections are given back.
    async with session(server, bearer(server_settings, "many.tabs")):
        pass


async def test_only_the_protocol_that_ends_sessions_is_spoken(server: str) -> None:
    url = server.replace("http", "ws") + "/graphql"
    # The legacy subscriptions-transport-ws ("graphql-ws") would keep a session alive.
    async with websockets.connect(url, subprotocols=["graphql-ws"]) as ws:  # type: ignore[list-item]
        assert await close_code(ws, within=10) == 4406


async def test_a_production_app_refuses_tokens_signed_with_its_generated_secret(
    server_settings: Settings, tmp_path: Any
) -> None:
    production = Settings(database_url=server_settings.database_url, data_dir=tmp_path)
    forged = Authenticator(Settings(data_dir=tmp_path, dev=True)).mint("eve", Role.ADMIN)
    transport = httpx.ASGITransport(app=create_app(production))
    async with httpx.AsyncClient(transport=transport, base_url="http://reunite") as http:
        response = await http.post(
            "/graphql",
            json={"query": "{ __typename }"},
            headers={"Authorization": f"Bearer {forged}"},
        )
    assert response.status_code == 401
    assert "not in development mode" in response.text
