"""REUNITE_METRICS_PORT: /metrics on a port of its own (same tokens), not on the API's."""

from __future__ import annotations

import dataclasses

import httpx
import pytest

from service.settings import Settings
from tests.scenarios.graphql import SECRET, free_port

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
async def server_settings(settings: Settings) -> Settings:
    return dataclasses.replace(
        settings, jwt_secret=SECRET, port=free_port(), metrics_token="s", metrics_port=free_port()
    )


async def test_metrics_on_their_own_port(
    http: httpx.AsyncClient, server_settings: Settings
) -> None:
    assert (await http.get("/metrics", headers={"Authorization": "Bearer s"})).status_code == 404
    base = f"http://127.0.0.1:{server_settings.metrics_port}"
    async with httpx.AsyncClient(base_url=base, timeout=10) as metrics:
        assert (await metrics.get("/metrics")).status_code == 401
        answer = await metrics.get("/metrics", headers={"Authorization": "Bearer s"})
        assert answer.status_code == 200
        assert "reunite_projection_lag_events" in answer.text
