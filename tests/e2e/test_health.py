"""/livez, /readyz and /health: what an orchestrator and an operator read, as JSON."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import uuid4

import httpx
import pytest

from service.entrypoints import health
from service.eventstore.codec import create_mapper
from service.eventstore.provenance import Provenance
from service.eventstore.records import NewEvent
from service.eventstore.store import EventStore
from service.postgres.database import Database

pytestmark = pytest.mark.e2e


async def until_not_ok(http: httpx.AsyncClient) -> dict[str, Any]:
    for _ in range(200):
        body: dict[str, Any] = (await http.get("/readyz")).json()
        if body["status"] != "ok":
            return body
        await asyncio.sleep(0.05)
    raise AssertionError("readiness never said what is wrong")


async def test_liveness_needs_nothing_and_readiness_reports_each_part(
    http: httpx.AsyncClient,
) -> None:
    assert (await http.get("/livez")).json() == {"status": "ok"}
    ready = await http.get("/readyz")
    body = ready.json()
    assert ready.status_code == 200 and body["status"] == "ok", body
    assert body["database"]["ok"] and body["database"]["roundTripMs"] >= 0
    assert {name: s["connected"] for name, s in body["listeners"].items()} == {
        "notifications": True,
        "projections": True,
    }
    assert set(body["projections"]) == {"cases", "timeline"}
    assert all(p["lag"] == 0 and not p["failing"] for p in body["projections"].values())
    assert (await http.get("/health")).json()["status"] == "ok"


async def test_readiness_says_degraded_while_an_event_cannot_be_projected(
    http: httpx.AsyncClient, database: Database
) -> None:
    store = EventStore(database.pool, create_mapper())
    unknown = NewEvent("domain.future:Family.SomethingNew", b"{}", None)
    await store.append(uuid4(), 0, [unknown], Provenance("t", "importer", "test"))
    body = await until_not_ok(http)
    # The endpoint answers anyone: it says which projection is in trouble, not why.
    assert body["status"] == "degraded"
    assert any("projection" in p for p in body["problems"]), body
    assert "SomethingNew" not in str(body)


async def test_readiness_names_the_transaction_that_holds_back_the_readers(
    http: httpx.AsyncClient, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(health, "HELD_BACK_AFTER", 0.0)
    store = EventStore(database.pool, create_mapper())
    async with database.pool.acquire() as other, other.transaction():
        await other.execute("SELECT pg_current_xact_id()")  # a writer, still open
        event = NewEvent("domain.future:Family.Held", b"{}", None)
        await store.append(uuid4(), 0, [event], Provenance("t", "importer", "test"))
        body = await until_not_ok(http)
        assert "heldBack" in body, body
        assert any(p.startswith("held back by a transaction open since") for p in body["problems"])
