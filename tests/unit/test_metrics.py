"""/metrics' rendering and who may read it: an admin or the scraper, never anyone else."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from starlette.requests import Request

from service.access.auth import Authenticator, Role
from service.entrypoints.metrics import MAX_OPERATIONS, Metrics
from service.settings import Settings
from tests.scenarios.graphql import SECRET

SCRAPE = "the-scrape-token"


def metrics(scrape: str | None = SCRAPE) -> Metrics:
    settings = Settings(jwt_secret=SECRET, metrics_token=scrape)
    return Metrics(settings, Authenticator(settings))


def asking(header: str | None) -> Request:
    headers = [(b"authorization", header.encode("latin-1"))] if header is not None else []
    return Request({"type": "http", "method": "GET", "path": "/metrics", "headers": headers})


def status(m: Metrics, header: str | None) -> int:
    refused = m.allowed(asking(header))
    return 200 if refused is None else refused.status_code


def bearer(role: Role) -> str:
    return "Bearer " + Authenticator(Settings(jwt_secret=SECRET)).mint("someone", role)


def test_only_an_admin_or_the_scrape_token_may_read() -> None:
    m = metrics()
    assert status(m, None) == 401
    assert status(m, "Bearer ") == 401
    assert status(m, "Bearer wrong") == 401
    assert status(m, f"Basic {SCRAPE}") == 401
    assert status(m, f"Bearer {SCRAPE}") == 200
    assert status(m, bearer(Role.ADMIN)) == 200
    for role in Role:
        if role is not Role.ADMIN:
            assert status(m, bearer(role)) == 403, role


def test_a_token_outside_ascii_is_refused_not_an_error() -> None:
    # Starlette decodes headers as latin-1; hmac.compare_digest raises on non-ASCII str.
    m = metrics()
    assert status(m, "Bearer caf\xe9") == 401
    assert status(m, f"Bearer {SCRAPE}\xff") == 401


def test_without_a_scrape_token_no_empty_token_gets_in() -> None:
    m = metrics(scrape=None)
    assert status(m, "Bearer ") == 401
    assert status(m, "Bearer None") == 401
    assert status(m, bearer(Role.ADMIN)) == 200


def parsed(m: Metrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = generate_latest(m.registry).decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_operations_are_named_and_bounded() -> None:
    m = metrics()
    m.observe("Named", None, True, 0.01)
    m.observe(None, "# a comment\n  query FromDocument { a }", False, 0.02)
    m.observe(None, "{ a }", True, 0.03)
    for n in range(MAX_OPERATIONS + 5):
        m.observe(f"Op{n}", None, True, 0.001)
    got = parsed(m)
    total = "reunite_graphql_requests_total"
    assert got[(total, (("operation", "Named"), ("outcome", "ok")))] == 1
    assert got[(total, (("operation", "FromDocument"), ("outcome", "error")))] == 1
    assert got[(total, (("operation", "anonymous"), ("outcome", "ok")))] == 1
    assert got[(total, (("operation", "other"), ("outcome", "ok")))] == 8
    named = {labels for name, labels in got if name == total}
    assert len(named) == MAX_OPERATIONS + 1  # every name up to the bound, and "other"
    bucket = (
        "reunite_graphql_request_duration_seconds_bucket",
        (("le", "0.025"), ("operation", "Named")),
    )
    assert got[bucket] == 1
    assert got[("process_resident_memory_bytes", ())] > 0


def test_the_process_state_is_read_when_scraped() -> None:
    m = metrics()
    cache = SimpleNamespace(kept={"a": 1, "b": 2}, size=256, hits=5, misses=7)
    handler = SimpleNamespace(operations={"1": None, "2": None})
    plans = SimpleNamespace(kept={"q": None}, size=512, answered=11, executed=2, failed=1)
    graphql: Any = SimpleNamespace(
        response_cache=cache,
        plans=plans,
        sessions=SimpleNamespace(held={"maria": 2}, handlers=[handler]),
        schema=SimpleNamespace(extensions=[]),
    )
    runner = SimpleNamespace(
        projections={"cases": SimpleNamespace(folded=SimpleNamespace(held=30, budget=10_000))},
        runs=lambda name: True,
        troubled={},
    )
    pool = SimpleNamespace(get_size=lambda: 6, get_idle_size=lambda: 2, get_max_size=lambda: 10)
    container: Any = SimpleNamespace(
        store=SimpleNamespace(appends=3, appended=9, conflicts=1, keyring=None),
        access_log=SimpleNamespace(written=4),
        database=SimpleNamespace(pool=pool),
        commands=SimpleNamespace(cache=SimpleNamespace(held=12, budget=20_000)),
        runner=runner,
    )
    m.serve(container, graphql)
    got = parsed(m)
    assert got[("reunite_events_appended_total", ())] == 9
    assert got[("reunite_appends_total", ())] == 3
    assert got[("reunite_append_conflicts_total", ())] == 1
    assert got[("reunite_access_log_writes_total", ())] == 4
    assert got[("reunite_pool_connections_in_use", ())] == 4
    assert got[("reunite_cache_held", (("cache", "family_bytes"),))] == 12
    assert got[("reunite_cache_bound", (("cache", "family_bytes"),))] == 20_000
    assert got[("reunite_cache_held", (("cache", "case_folds_bytes"),))] == 30
    assert got[("reunite_cache_held", (("cache", "responses"),))] == 2
    assert got[("reunite_response_cache_misses_total", ())] == 7
    assert got[("reunite_read_plans_answered_total", ())] == 11
    assert got[("reunite_read_plans_executed_total", ())] == 3
    assert got[("reunite_cache_held", (("cache", "read_plans"),))] == 1
    assert got[("reunite_websocket_connections", ())] == 2
    assert got[("reunite_websocket_subscriptions", ())] == 2
    assert got[("reunite_projection_owned", (("projection", "cases"),))] == 1


@pytest.mark.parametrize("name", ["reunite_cache_held", "reunite_projection_lag_events"])
def test_nothing_of_a_container_before_it_serves(name: str) -> None:
    assert not any(n == name for n, _ in parsed(metrics()))


def test_fleet_settings_are_read_from_the_environment() -> None:
    settings = Settings.from_env(
        {
            "REUNITE_RUN_CHECKPOINTS": "0",
            "REUNITE_CLAIM_POLL": "0.25",
            "REUNITE_METRICS_TOKEN": "t",
            "REUNITE_METRICS_PORT": "9100",
            "REUNITE_LOG_JSON": "1",
        }
    )
    assert not settings.run_checkpoints and settings.claim_poll == 0.25
    assert settings.metrics_token == "t" and settings.metrics_port == 9100
    assert settings.log_json
    defaults = Settings.from_env({})
    assert defaults.run_checkpoints and defaults.claim_poll == 1.0
    assert defaults.metrics_token is None and defaults.metrics_port is None
    assert not defaults.log_json
