"""A graphql-transport-ws client for the end-to-end tests: a session, its messages, its end."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import websockets

from service.access.auth import Authenticator, Role
from service.settings import Settings

PROTOCOL = "graphql-transport-ws"


def bearer(
    settings: Settings, subject: str, ttl: int | None = None, role: Role = Role.CASEWORKER
) -> str:
    """An Authorization value for connection_init."""
    return "Bearer " + Authenticator(settings).mint(subject, role, ttl)


@asynccontextmanager
async def session(server: str, bearer: str) -> AsyncIterator[Any]:
    """A websocket whose connection_init carried this token and was acknowledged."""
    url = server.replace("http", "ws") + "/graphql"
    async with websockets.connect(url, subprotocols=[PROTOCOL]) as ws:  # type: ignore[list-item]
        await ws.send(json.dumps({"type": "connection_init", "payload": {"authorization": bearer}}))
        assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "connection_ack"
        yield ws


async def subscribe(ws: Any, key: str, query: str, **variables: Any) -> None:
    """Start an operation."""
    payload = {"query": query, "variables": variables}
    await ws.send(json.dumps({"id": key, "type": "subscribe", "payload": payload}))


async def message(ws: Any) -> dict[str, Any]:
    """The next message, decoded; fails after 10 s."""
    received: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), timeout=10))
    return received


async def close_code(ws: Any, within: float) -> int:
    """The code the server closed with, failing if it kept the connection open."""
    with pytest.raises(websockets.ConnectionClosed) as closed:
        while True:
            await asyncio.wait_for(ws.recv(), timeout=within)
    assert closed.value.rcvd is not None
    return closed.value.rcvd.code
