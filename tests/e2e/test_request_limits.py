"""Request sizes are refused before GraphQL runs, over HTTP and the websocket, and the read
audit stores what ran."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any
from uuid import uuid4

import httpx
import pytest
import websockets

from service.access.auth import Role
from service.settings import Settings
from tests.scenarios.graphql import Client, open_family, token
from tests.scenarios.websocket import PROTOCOL, bearer, close_code, message, session, subscribe

pytestmark = pytest.mark.e2e

MARKER = "flood-marker"


def refused_as_too_large(response: httpx.Response) -> None:
    """A JSON GraphQL error with its code, and nothing of what was sent."""
    assert response.status_code == 413, response.text[:300]
    body: dict[str, Any] = response.json()
    assert body["errors"][0]["extensions"]["code"] == "REQUEST_TOO_LARGE"
    assert MARKER not in response.text and len(response.content) < 500


def caller(http: httpx.AsyncClient, settings: Settings, role: Role, sub: str) -> Client:
    return Client(http, token(settings, role, sub))


async def test_a_five_megabyte_body_is_refused_whether_or_not_its_length_is_declared(
    http: httpx.AsyncClient, server_settings: Settings
) -> None:
    counsel = caller(http, server_settings, Role.COUNSEL, "cy.counsel")
    padding = MARKER * (5 * 1024 * 1024 // len(MARKER))
    declared = await http.post(
        "/graphql",
        json={"query": "{ __typename }", "variables": {"pad": padding}},
        headers=counsel.headers,
    )
    refused_as_too_large(declared)

    async def streamed() -> AsyncIterator[bytes]:
        yield b'{"query": "{ __typename }", "variables": {"pad": "'
        for _ in range(80):  # 5 MB in 64 KiB chunks, no Content-Length
            yield MARKER.encode() * 4096
        yield b'"}}'

    chunked = await http.post(
        "/graphql",
        content=streamed(),
        headers={**counsel.headers, "content-type": "application/json"},
    )
    refused_as_too_large(chunked)


async def test_a_huge_operation_name_is_refused_and_never_echoed(
    http: httpx.AsyncClient, server_settings: Settings
) -> None:
    counsel = caller(http, server_settings, Role.COUNSEL, "cy.counsel")
    response = await http.post(
        "/graphql",
        json={"query": "{ __typename }", "operationName": MARKER * 10_000},
        headers=counsel.headers,
    )
    refused_as_too_large(response)
    assert "operationName" in response.json()["errors"][0]["message"]


async def test_query_text_and_variables_over_their_limits_are_refused(
    http: httpx.AsyncClient, server_settings: Settings
) -> None:
    counsel = caller(http, server_settings, Role.COUNSEL, "cy.counsel")
    # One comment is one token: only the text limit stops it.
    long_query = "{ __typename }\n# " + MARKER * 2_000
    refused_as_too_large(await counsel.post(long_query))
    refused_as_too_large(await counsel.post("{ __typename }", pad=MARKER * 7_000))
    assert await counsel.run("{ __typename }", pad=MARKER * 100) == {"__typename": "Query"}


async def test_the_read_audit_records_what_ran_not_what_the_caller_called_it(
    http: httpx.AsyncClient, server_settings: Settings
) -> None:
    caseworker = caller(http, server_settings, Role.CASEWORKER, "jo.caseworker")
    fid, _, _, position = await open_family(caseworker)
    counsel = caller(http, server_settings, Role.COUNSEL, "spoofing.counsel")
    family = "family(id: $id, minPosition: $pos) { caseNumber }"
    spoofed = f"""query courtReportOnly($id: UUID!, $pos: Int) {{ ...courtReport }}
        fragment courtReport on Query {{ {family} }}"""
    await counsel.run(spoofed, id=fid, pos=position)
    blank = f"query($id: UUID!, $pos: Int) {{ ... on Query {{ a: {family} b: {family} }} }}"
    await counsel.run(blank, id=fid, pos=position)
    two = f"""query facilities {{ __typename }}
        query chosen($id: UUID!, $pos: Int) {{ __typename {family} }}"""
    chose = await http.post(
        "/graphql",
        json={"query": two, "operationName": "chosen", "variables": {"id": fid, "pos": position}},
        headers=counsel.headers,
    )
    assert "errors" not in chose.json()
    auditor = caller(http, server_settings, Role.AUDITOR, "al.auditor")
    log = await auditor.run(
        """query($id: UUID!) { accessLog(familyId: $id, subject: "spoofing.counsel") {
        edges { node { operation } } } }""",
        id=fid,
    )
    operations = [e["node"]["operation"] for e in log["accessLog"]["edges"]]
    assert operations == ["query:__typename,family", "query:family", "query:family"]


def test_each_limit_is_read_from_the_environment() -> None:
    settings = Settings.from_env(
        {
            "REUNITE_MAX_BODY_BYTES": "1024",
            "REUNITE_MAX_QUERY_CHARS": "512",
            "REUNITE_MAX_VARIABLES_BYTES": "256",
            "REUNITE_MAX_OPERATION_NAME_CHARS": "32",
        }
    )
    limits = (
        settings.max_body_bytes,
        settings.max_query_chars,
        settings.max_variables_bytes,
        settings.max_operation_name_chars,
    )
    assert limits == (1024, 512, 256, 32)


EVENTS = "subscription($id: UUID!) { familyEvents(familyId: $id) { version } }"


@pytest.mark.parametrize(
    "part, payload, says",
    [
        ("query", {"query": EVENTS + "\n# " + MARKER * 2_000}, "query text exceeds 20000"),
        ("variables", {"query": EVENTS, "variables": {"pad": MARKER * 7_000}}, "variables"),
        (
            "operationName",
            {"query": EVENTS, "operationName": MARKER * 10},
            "operationName must be a string of at most 100",
        ),
    ],
)
async def test_a_websocket_subscribe_over_a_limit_is_refused_with_a_code_and_never_echoed(
    server: str, server_settings: Settings, part: str, payload: dict[str, Any], says: str
) -> None:
    async with session(server, bearer(server_settings, "ws.flooder")) as ws:
        payload.setdefault("variables", {}).setdefault("id", str(uuid4()))
        await ws.send(json.dumps({"id": part, "type": "subscribe", "payload": payload}))
        raw = await asyncio.wait_for(ws.recv(), 10)
        assert MARKER not in raw and len(raw) < 500
        refused = json.loads(raw)
        assert (refused["id"], refused["type"]) == (part, "error")
        assert refused["payload"][0]["extensions"] == {"code": "REQUEST_TOO_LARGE"}
        assert says in refused["payload"][0]["message"]
        # The connection goes on: an operation within the limits is taken.
        await subscribe(ws, "within", EVENTS, id=str(uuid4()))
        await ws.send(json.dumps({"type": "ping"}))
        assert (await message(ws))["type"] == "pong"


async def test_a_websocket_message_over_the_body_limit_closes_the_connection_with_1009(
    server: str, server_settings: Settings
) -> None:
    big = {"query": EVENTS, "variables": {"id": str(uuid4()), "pad": MARKER * 30_000}}
    async with session(server, bearer(server_settings, "ws.flooder")) as ws:
        await ws.send(json.dumps({"id": "big", "type": "subscribe", "payload": big}))
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 10)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1009
    assert closed.value.rcvd.reason == f"message exceeds {Settings().max_body_bytes} bytes"
    # Before connection_init too: nothing is decoded first.
    url = server.replace("http", "ws") + "/graphql"
    async with websockets.connect(url, subprotocols=[PROTOCOL]) as ws:  # type: ignore[list-item]
        await ws.send(json.dumps({"type": "connection_init", "payload": {"pad": MARKER * 30_000}}))
        assert await close_code(ws, within=10) == 1009


async def test_a_websocket_operation_id_too_long_to_repeat_is_refused(
    server: str, server_settings: Settings
) -> None:
    async with session(server, bearer(server_settings, "ws.flooder")) as ws:
        await subscribe(ws, MARKER * 10, EVENTS, id=str(uuid4()))
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 10)
    assert closed.value.rcvd is not None
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (
        4400,
        "ids are at most 64 characters",
    )
