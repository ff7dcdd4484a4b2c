"""A request's id: answered in X-Request-Id, on its log lines, and its events' correlation id."""

from __future__ import annotations

import json
import logging
from uuid import UUID, uuid4

import httpx
import pytest

from service.access.auth import Role
from service.entrypoints.logs import JsonLines, request_id
from service.eventstore.provenance import REQUEST_ID
from service.postgres.database import Database
from service.settings import Settings
from tests.scenarios.graphql import OPEN, WHEN, token
from tests.scenarios.websocket import bearer, message, session, subscribe

pytestmark = pytest.mark.e2e


async def test_a_commands_events_carry_its_request_id(
    http: httpx.AsyncClient, server_settings: Settings, database: Database
) -> None:
    given = uuid4()
    headers = {
        "Authorization": f"Bearer {token(server_settings, Role.CASEWORKER)}",
        "X-Request-Id": str(given),
    }
    variables = {"input": {"caseNumber": "C-1", "occurredAt": WHEN, "source": "intake"}}
    answer = await http.post(
        "/graphql", json={"query": OPEN, "variables": variables}, headers=headers
    )
    assert answer.headers["x-request-id"] == str(given)
    family = answer.json()["data"]["openCase"]["familyId"]
    stored = await database.pool.fetchval(
        "SELECT correlation_id FROM events WHERE stream_id = $1 AND version = 1", UUID(family)
    )
    assert stored == given
    # Without one (or with one that is not a UUID), the server makes one up and says it.
    made = await http.post(
        "/graphql", json={"query": "{ __typename }"}, headers={**headers, "X-Request-Id": "x"}
    )
    assert UUID(made.headers["x-request-id"]) != given


def test_json_lines_carry_the_request_id() -> None:
    record = logging.LogRecord("reunite", logging.INFO, __file__, 1, "hello %s", ("you",), None)
    said = request_id(None)
    token_ = REQUEST_ID.set(said)
    try:
        line = json.loads(JsonLines().format(record))
    finally:
        REQUEST_ID.reset(token_)
    assert line["message"] == "hello you" and line["level"] == "INFO"
    assert line["request_id"] == str(said)
    assert "request_id" not in json.loads(JsonLines().format(record))
    assert request_id(" 6f1b5c1e-8e4f-4a8e-9a53-3b8f0f4f3c11 ") == UUID(
        "6f1b5c1e-8e4f-4a8e-9a53-3b8f0f4f3c11"
    )


async def test_each_websocket_operation_is_a_request_of_its_own(
    server: str, server_settings: Settings, database: Database
) -> None:
    variables = {"input": {"caseNumber": "C-WS", "occurredAt": WHEN, "source": "intake"}}
    families = []
    async with session(server, bearer(server_settings, "ws.writer")) as ws:
        for key in ("1", "2"):  # a mutation sent over the websocket, twice
            await subscribe(ws, key, OPEN, **variables)
            answer = await message(ws)
            assert answer["type"] == "next", answer
            families.append(UUID(answer["payload"]["data"]["openCase"]["familyId"]))
            assert (await message(ws))["type"] == "complete"
    stored = await database.pool.fetch(
        "SELECT correlation_id FROM events WHERE stream_id = ANY($1) AND version = 1", families
    )
    ids = {row["correlation_id"] for row in stored}
    assert None not in ids and len(ids) == 2
