"""/health: liveness and the log's head, and whether this process's projections apply."""

from __future__ import annotations

import asyncio
from uuid import uuid4

import httpx
import pytest

from service.eventstore.codec import create_mapper
from service.eventstore.provenance import Provenance
from service.eventstore.records import NewEvent
from service.eventstore.store import EventStore
from service.postgres.database import Database

pytestmark = pytest.mark.e2e


async def test_health_says_degraded_while_an_event_cannot_be_projected(
    http: httpx.AsyncClient, database: Database
) -> None:
    healthy = (await http.get("/health")).json()
    assert healthy["status"] == "ok" and "projections" not in healthy

    store = EventStore(database.pool, create_mapper())
    unknown = NewEvent("domain.future:Family.SomethingNew", b"{}", None)
    written = await store.append(uuid4(), 0, [unknown], Provenance("t", "importer", "test"))
    for _ in range(200):
        body = (await http.get("/health")).json()
        if body["status"] != "ok":
            break
        await asyncio.sleep(0.05)
    # The endpoint answers anyone: it says that projections fail, not why.
    assert body == {"status": "degraded", "head": written.last_position, "projections": "failing"}
