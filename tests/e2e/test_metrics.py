"""/metrics: the Prometheus text format, for an admin's token or the scrape token only."""

from __future__ import annotations

import dataclasses

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from service.access.auth import Role
from service.settings import Settings
from tests.scenarios.graphql import SECRET, Client, free_port, open_family, token

pytestmark = pytest.mark.e2e

SCRAPE = "a-scrape-token-only-the-prometheus-server-knows"


@pytest.fixture(scope="module")
async def server_settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, jwt_secret=SECRET, port=free_port(), metrics_token=SCRAPE)


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def test_metrics_are_never_open(http: httpx.AsyncClient, server_settings: Settings) -> None:
    assert (await http.get("/metrics")).status_code == 401
    bad = {"Authorization": "Bearer not-the-scrape-token"}
    assert (await http.get("/metrics", headers=bad)).status_code == 401
    for role in Role:
        if role is Role.ADMIN:
            continue
        them = {"Authorization": f"Bearer {token(server_settings, role)}"}
        assert (await http.get("/metrics", headers=them)).status_code == 403, role


async def test_metrics_for_the_scraper_and_for_an_admin(
    http: httpx.AsyncClient, server_settings: Settings
) -> None:
    caseworker = Client(http, token(server_settings, Role.CASEWORKER))
    await open_family(caseworker)
    await caseworker.post("query Broken { nothing }")
    for bearer in (SCRAPE, token(server_settings, Role.ADMIN)):
        answer = await http.get("/metrics", headers={"Authorization": f"Bearer {bearer}"})
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
        got = samples(answer.text)
        names = {name for name, _ in got}
        requests = "reunite_graphql_requests_total"
        assert got[(requests, (("operation", "anonymous"), ("outcome", "ok")))] >= 4, got
        assert got[(requests, (("operation", "Broken"), ("outcome", "error")))] == 1, got
        assert "reunite_graphql_request_duration_seconds_bucket" in names
        assert got[("reunite_events_appended_total", ())] >= 4
        assert got[("reunite_appends_total", ())] >= 4
        assert ("reunite_append_conflicts_total", ()) in got
        assert ("reunite_access_log_writes_total", ()) in got
        for cache in (
            "family_bytes",
            "case_folds_bytes",
            "responses",
            "court_reports",
            "decoded_rows",
            "document_chars",
            "person_keys",
        ):
            assert got[("reunite_cache_bound", (("cache", cache),))] >= 0, cache
            assert ("reunite_cache_held", (("cache", cache),)) in got, cache
        assert got[("reunite_cache_held", (("cache", "family_bytes"),))] > 0
        keys = (("cache", "person_keys"),)
        assert got[("reunite_cache_bound", keys)] == server_settings.person_keys
        for projection in ("cases", "timeline"):
            label = (("projection", projection),)
            assert got[("reunite_projection_owned", label)] == 1
            assert ("reunite_projection_lag_events", label) in got
            assert ("reunite_projection_lag_seconds", label) in got
            assert ("reunite_projection_checkpoint_age_seconds", label) in got
            assert got[("reunite_projection_parked_streams", label)] == 0
        assert got[("reunite_pool_connections_max", ())] > 0
        assert ("reunite_websocket_connections", ()) in got
        assert ("reunite_websocket_subscriptions", ()) in got
        assert ("reunite_response_cache_hits_total", ()) in got
        assert ("reunite_response_cache_misses_total", ()) in got
        assert got[("process_resident_memory_bytes", ())] > 0
