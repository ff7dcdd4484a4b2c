"""Subscriptions across processes: written through one server, seen on another's websocket."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator
from typing import IO, Any
from uuid import UUID

import httpx
import pytest
import websockets

from service.access.auth import Authenticator, Role
from service.postgres.database import Database
from service.settings import Settings
from tests.scenarios.database import reset
from tests.scenarios.graphql import (
    ADD,
    FAMILY,
    OPEN,
    PLACE,
    RESULT,
    SECRET,
    SEPARATE,
    WHEN,
    Client,
    free_port,
    open_family,
)

pytestmark = pytest.mark.e2e

PROTOCOL = "graphql-transport-ws"
RETRACT = f"""mutation($input: RetractEntryInput!) {{
  retractEntry(input: $input) {{ {RESULT} }} }}"""


def start_server(
    database_url: str, port: int, log: IO[bytes], *flags: str
) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DATABASE_URL": database_url, "REUNITE_JWT_SECRET": SECRET}
    return subprocess.Popen(
        [sys.executable, "-m", "service.entrypoints.cli", "serve", "--port", str(port), *flags],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


@pytest.fixture(scope="module")
async def servers(database_url: str, database: Database) -> AsyncIterator[tuple[str, str]]:
    """A writer process running the projections, and a reader process running none."""
    await reset(database.pool)  # whatever earlier tests left in the log is not ours to project
    ports = free_port(), free_port()
    with tempfile.TemporaryFile() as log:
        processes = [
            start_server(database_url, ports[0], log),
            start_server(database_url, ports[1], log, "--no-projections"),
        ]
        bases = f"http://127.0.0.1:{ports[0]}", f"http://127.0.0.1:{ports[1]}"
        try:
            for base, process in zip(bases, processes, strict=True):
                await wait_healthy(base, process, log)
            yield bases
        finally:
            for process in processes:
                process.terminate()
                process.wait(timeout=30)


async def wait_healthy(base: str, process: subprocess.Popen[bytes], log: IO[bytes]) -> None:
    """Poll /health until it answers; fail with the servers' output if one died."""
    async with httpx.AsyncClient() as client:
        for _ in range(300):
            if process.poll() is not None:
                log.seek(0)
                raise RuntimeError(f"server exited: {log.read().decode()}")
            try:
                if (await client.get(f"{base}/health")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise TimeoutError(f"{base} did not answer /health")


def bearer(role: Role = Role.CASEWORKER) -> str:
    return "Bearer " + Authenticator(Settings(jwt_secret=SECRET)).mint("maria.lopez", role)


async def read(base: str, query: str, **variables: Any) -> dict[str, Any]:
    """The data of a request that must answer without errors."""
    async with httpx.AsyncClient(timeout=30) as client:
        response = await client.post(
            f"{base}/graphql",
            headers={"Authorization": bearer()},
            json={"query": query, "variables": variables},
        )
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


async def gql(base: str, query: str, **variables: Any) -> dict[str, Any]:
    """A mutation's result, which must be a success."""
    result: dict[str, Any] = next(iter((await read(base, query, **variables)).values()))
    assert result["__typename"] == "CommandSuccess", result
    return result


async def subscribe(ws: Any, query: str, **variables: Any) -> None:
    await ws.send(json.dumps({"type": "connection_init", "payload": {"authorization": bearer()}}))
    assert json.loads(await ws.recv())["type"] == "connection_ack"
    await ws.send(
        json.dumps(
            {"id": "1", "type": "subscribe", "payload": {"query": query, "variables": variables}}
        )
    )


async def next_data(ws: Any) -> dict[str, Any]:
    message = json.loads(await asyncio.wait_for(ws.recv(), timeout=15))
    assert message["type"] == "next", message
    data: dict[str, Any] = message["payload"]["data"]
    return data


async def test_family_events_reach_a_subscriber_on_another_process(
    servers: tuple[str, str],
) -> None:
    writer, reader = servers
    opened = await gql(
        writer, OPEN, input={"caseNumber": "C-WS", "occurredAt": WHEN, "source": "intake"}
    )
    fid = opened["familyId"]
    url = reader.replace("http", "ws") + "/graphql"
    async with websockets.connect(url, subprotocols=[PROTOCOL]) as ws:  # type: ignore[list-item]
        await subscribe(
            ws,
            """subscription($id: UUID!) {
            familyEvents(familyId: $id, afterVersion: 1) { version eventType summary } }""",
            id=fid,
        )
        await gql(
            writer,
            ADD,
            input={
                "familyId": fid,
                "role": "PARENT",
                "sex": "FEMALE",
                "name": "Ana",
                "occurredAt": WHEN,
            },
        )
        event = (await next_data(ws))["familyEvents"]
        assert (event["version"], event["eventType"]) == (2, "MemberAdded")
        assert "Ana (parent)" in event["summary"]


async def test_an_answer_kept_by_one_process_is_forgotten_when_another_projects(
    servers: tuple[str, str], database: Database
) -> None:
    writer, reader = servers
    opened = await gql(
        writer, OPEN, input={"caseNumber": "C-KEPT", "occurredAt": WHEN, "source": "intake"}
    )
    fid = opened["familyId"]
    fresh = await read(reader, FAMILY, id=fid, pos=opened["position"])
    assert fresh["family"]["members"] == []
    kept = await read(reader, FAMILY, id=fid)
    # A change no projection announced (as if made by hand): the reader keeps its answer.
    await database.pool.execute(
        "UPDATE family_summary SET case_number = 'C-UNANNOUNCED' WHERE family_id = $1", UUID(fid)
    )
    assert await read(reader, FAMILY, id=fid) == kept == fresh
    member = {"familyId": fid, "role": "PARENT", "sex": "FEMALE", "name": "Ana", "occurredAt": WHEN}
    await gql(writer, ADD, input=member)
    for _ in range(100):  # no minPosition: eventually, as soon as the reader hears the batch
        members = (await read(reader, FAMILY, id=fid))["family"]["members"]
        if members:
            break
        await asyncio.sleep(0.1)
    assert [m["name"] for m in members] == ["Ana"]


async def test_status_changes_reach_a_filtered_subscriber(servers: tuple[str, str]) -> None:
    writer, reader = servers
    async with httpx.AsyncClient(base_url=writer, timeout=30) as http:
        caseworker = Authenticator(Settings(jwt_secret=SECRET)).mint("maria.lopez", Role.CASEWORKER)
        fid, mother, son, _ = await open_family(Client(http, caseworker))
    url = reader.replace("http", "ws") + "/graphql"
    async with websockets.connect(url, subprotocols=[PROTOCOL]) as ws:  # type: ignore[list-item]
        await subscribe(
            ws,
            """subscription($f: ChildFilter) { caseStatusChanged(filter: $f) {
            fromStatus toStatus child { childId name status } } }""",
            f={"familyId": fid, "status": "IN_CARE"},
        )
        await gql(
            writer,
            SEPARATE,
            input={
                "familyId": fid,
                "parentId": mother,
                "childId": son,
                "reason": "ZERO_TOLERANCE",
                "place": {"kind": "PORT_OF_ENTRY", "name": "San Ysidro"},
                "occurredAt": WHEN,
            },
        )
        await gql(
            writer,
            PLACE,
            input={
                "familyId": fid,
                "childId": son,
                "programType": "SHELTER",
                "occurredAt": WHEN,
                "facility": {"id": "casa-padre", "name": "Casa Padre"},
            },
        )
        change = (await next_data(ws))["caseStatusChanged"]
    assert (change["fromStatus"], change["toStatus"]) == ("SEPARATED", "IN_CARE")
    assert change["child"]["name"] == "Beto"

    # Retracting the placement puts the child back to SEPARATED: subscribers hear it too.
    async with websockets.connect(url, subprotocols=[PROTOCOL]) as ws:  # type: ignore[list-item]
        await subscribe(
            ws,
            """subscription($f: ChildFilter) { caseStatusChanged(filter: $f) {
            fromStatus toStatus version child { childId status facility { facilityId } } } }""",
            f={"familyId": fid, "status": "SEPARATED"},
        )
        retracted = await gql(
            writer,
            RETRACT,
            input={"familyId": fid, "version": 6, "reason": "wrong child", "occurredAt": WHEN},
        )
        change = (await next_data(ws))["caseStatusChanged"]
    assert (change["fromStatus"], change["toStatus"]) == ("IN_CARE", "SEPARATED")
    assert change["version"] == retracted["version"]
    assert change["child"] == {"childId": son, "status": "SEPARATED", "facility": None}


async def test_a_websocket_without_a_token_is_refused(servers: tuple[str, str]) -> None:
    url = servers[1].replace("http", "ws") + "/graphql"
    async with websockets.connect(url, subprotocols=[PROTOCOL]) as ws:  # type: ignore[list-item]
        await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), timeout=10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403
