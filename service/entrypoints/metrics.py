"""/metrics in the Prometheus text format, for an admin's token or the scrape token only.

Counters that change on the request path are prometheus-client objects (requests and their
latency). Everything else is read when scraped, from what the process already keeps: the
store's and access log's counts, the caches' occupancy, the pool, the websocket sessions,
and, from the database, each projection's lag and checkpoint age (one query per scrape).
Each app has its own registry, so two apps in one process (tests) never clash.
"""

from __future__ import annotations

import hmac
import logging
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

import asyncpg
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from strawberry.schema.base import BaseSchema

from schema.cost import Limits
from schema.documents import KEPT
from schema.read_plans import PlanCache
from schema.response_cache import ResponseCache
from service.access.auth import AuthenticationFailed, Authenticator, Role
from service.application.container import Container
from service.entrypoints.sessions import Sessions
from service.history.time_travel import DECODED
from service.settings import Settings


class GraphQLApp(Protocol):
    """What the metrics read of the GraphQL view (graphql_app.py's GraphQLApp)."""

    response_cache: ResponseCache | None
    sessions: Sessions
    schema: BaseSchema


log = logging.getLogger(__name__)

# Operation names come from callers: at most this many distinct ones get their own series,
# later ones are counted as "other", so a caller cannot grow the registry without bound.
MAX_OPERATIONS = 200
# The classic text format, which every Prometheus version reads (the names are all legacy).
TEXT_FORMAT = "text/plain; version=0.0.4; charset=utf-8"
NAMED = re.compile(r"\s*(?:#[^\n]*\n\s*)*(?:query|mutation)\s+([_A-Za-z][_0-9A-Za-z]*)")
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

# Per projection: events committed after its checkpoint, how long the oldest of them has
# waited, and how long ago its checkpoint last moved; and the signed checkpoint's age.
PROJECTIONS = """
SELECT c.name,
       (SELECT count(*) FROM events e
         WHERE (e.transaction_id, e.position) > (c.transaction_id, c.position)) AS lag,
       coalesce(extract(epoch FROM clock_timestamp() - (
           SELECT e.recorded_at FROM events e
            WHERE (e.transaction_id, e.position) > (c.transaction_id, c.position)
            ORDER BY e.transaction_id, e.position LIMIT 1)), 0)::float8 AS lag_seconds,
       extract(epoch FROM clock_timestamp() - c.updated_at)::float8 AS age,
       (SELECT count(DISTINCT p.stream_id) FROM parked_events p
         WHERE p.projection = c.name) AS parked
  FROM projection_checkpoints c ORDER BY c.name
"""
SIGNED_AGE = """
SELECT extract(epoch FROM clock_timestamp() - max(created_at))::float8 FROM checkpoints
"""


@dataclass
class Scraped:
    """What the database said at the last scrape."""

    projections: list[asyncpg.Record] = field(default_factory=list)
    signed_age: float | None = None


class Metrics:
    """One app's registry: request counters, and a collector of the process's state."""

    def __init__(self, settings: Settings, authenticator: Authenticator) -> None:
        self.settings = settings
        self.authenticator = authenticator
        self.registry = CollectorRegistry(auto_describe=True)
        # process_resident_memory_bytes, open fds, CPU seconds; the runtime; the GC.
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)
        self.requests = Counter(
            "reunite_graphql_requests",
            "GraphQL operations over HTTP, by operation name and outcome (ok or error).",
            ["operation", "outcome"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "reunite_graphql_request_duration_seconds",
            "Time to execute a GraphQL operation over HTTP, by operation name.",
            ["operation"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self._operations: set[str] = set()
        self.container: Container | None = None
        self.graphql: GraphQLApp | None = None
        self.scraped = Scraped()
        self.registry.register(_State(self))

    def serve(self, container: Container, graphql: GraphQLApp | None) -> None:
        self.container = container
        self.graphql = graphql

    def observe(self, operation: str | None, query: str | None, ok: bool, seconds: float) -> None:
        """Count one operation over HTTP and its latency, by the operation's name: the
        request's operationName, else the name the document gives its operation."""
        named = operation or (m.group(1) if query and (m := NAMED.match(query)) else None)
        name = named or "anonymous"
        if name not in self._operations:
            if len(self._operations) >= MAX_OPERATIONS:
                name = "other"
            else:
                self._operations.add(name)
        self.requests.labels(name, "ok" if ok else "error").inc()
        self.latency.labels(name).observe(seconds)

    async def scrape(self) -> None:
        """Read from the database what the collector reports; a failure keeps the last."""
        if self.container is None:
            return
        pool = self.container.database.pool
        try:
            self.scraped = Scraped(await pool.fetch(PROJECTIONS), await pool.fetchval(SIGNED_AGE))
        except Exception as e:  # the process's own metrics still answer
            log.warning("metrics: cannot read projections' progress: %s", e)

    def allowed(self, request: Request) -> Response | None:
        """None when the caller may read metrics; else the refusal (401 or 403)."""
        header = request.headers.get("authorization") or ""
        scheme, _, token = header.partition(" ")
        token = token.strip()
        wanted = self.settings.metrics_token
        # As bytes: compare_digest raises on a str outside ASCII (headers are latin-1).
        if (
            scheme.lower() == "bearer"
            and wanted
            and hmac.compare_digest(token.encode(), wanted.encode())
        ):
            return None
        try:
            identity = self.authenticator.verify_header(header or None)
        except AuthenticationFailed as e:
            return JSONResponse(
                {"error": str(e)}, status_code=401, headers={"WWW-Authenticate": "Bearer"}
            )
        if identity.role is not Role.ADMIN:
            return JSONResponse({"error": "metrics are for admins and the scraper"}, 403)
        return None

    async def endpoint(self, request: Request) -> Response:
        if (refused := self.allowed(request)) is not None:
            return refused
        await self.scrape()
        return Response(generate_latest(self.registry), headers={"Content-Type": TEXT_FORMAT})


def _gauge(name: str, doc: str, labels: list[str] | None = None) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, labels=labels)


class _State(Collector):
    """The process's state at scrape time, read from the objects that keep it."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def describe(self) -> list[Metric]:
        return []  # produced at collect time only: nothing to check at registration

    def collect(self) -> Iterator[Metric]:
        container = self.metrics.container
        if container is None:
            return
        yield from _store(container)
        yield from _pool(container)
        yield from _caches(container, self.metrics.graphql)
        yield from _sessions(self.metrics.graphql)
        yield from _projections(container, self.metrics.scraped)


def _store(container: Container) -> Iterator[Metric]:
    store, access = container.store, container.access_log
    yield CounterMetricFamily(
        "reunite_appends", "Appends (commands) that wrote events.", value=store.appends
    )
    yield CounterMetricFamily(
        "reunite_events_appended", "Events appended by this process.", value=store.appended
    )
    yield CounterMetricFamily(
        "reunite_append_conflicts",
        "Appends refused because the family changed since it was read.",
        value=store.conflicts,
    )
    yield CounterMetricFamily(
        "reunite_access_log_writes", "Rows this process wrote to the read audit.", access.written
    )


def _pool(container: Container) -> Iterator[Metric]:
    pool = container.database.pool
    size, idle = pool.get_size(), pool.get_idle_size()
    yield _one("reunite_pool_connections", "Connections open in the pool.", size)
    yield _one("reunite_pool_connections_in_use", "Pooled connections acquired now.", size - idle)
    yield _one("reunite_pool_connections_max", "The pool's bound.", pool.get_max_size())


def _caches(container: Container, graphql: GraphQLApp | None) -> Iterator[Metric]:
    held = _gauge(
        "reunite_cache_held", "What each in-process cache holds, in its own unit.", ["cache"]
    )
    bound = _gauge(
        "reunite_cache_bound", "What each in-process cache may hold, at most.", ["cache"]
    )
    for name, (now, most) in _occupancy(container, graphql).items():
        held.add_metric([name], now)
        bound.add_metric([name], most)
    yield held
    yield bound
    cache = graphql.response_cache if graphql is not None else None
    if cache is not None:
        yield CounterMetricFamily(
            "reunite_response_cache_hits", "Answers given from the response cache.", cache.hits
        )
        yield CounterMetricFamily(
            "reunite_response_cache_misses",
            "Cacheable queries looked up and executed.",
            cache.misses,
        )
    plans: PlanCache | None = getattr(graphql, "plans", None)
    if plans is not None:
        yield CounterMetricFamily(
            "reunite_read_plans_answered",
            "Read-model queries answered by a compiled plan (schema/read_plans.py).",
            plans.answered,
        )
        yield CounterMetricFamily(
            "reunite_read_plans_executed",
            "Queries a plan covers that were executed instead (a refusal, or a plan's failure).",
            plans.executed + plans.failed,
        )


def _occupancy(container: Container, graphql: GraphQLApp | None) -> dict[str, tuple[int, int]]:
    """Each cache's (held, bound): families' and folds' estimated bytes, answers, reports,
    decoded rows, persons' keys, and documents' characters."""
    found: dict[str, tuple[int, int]] = {}
    families = container.commands.cache
    found["family_bytes"] = (families.held, families.budget)
    cases = container.runner.projections.get("cases")
    folded = getattr(cases, "folded", None)
    if folded is not None:
        found["case_folds_bytes"] = (folded.held, folded.budget)
    if graphql is not None and graphql.response_cache is not None:
        found["responses"] = (len(graphql.response_cache.kept), graphql.response_cache.size)
    plans: PlanCache | None = getattr(graphql, "plans", None)
    if plans is not None:
        found["read_plans"] = (len(plans.kept), plans.size)
    reports = _reports(graphql)
    if reports is not None:
        found["court_reports"] = (len(reports.kept), reports.size)
    found["decoded_rows"] = (len(DECODED.rows), DECODED.size)
    keyring = container.store.keyring
    if keyring is not None:
        found["person_keys"] = (len(keyring), keyring.size)
    found["document_chars"] = (KEPT.held, KEPT.budget)
    return found


def _reports(graphql: GraphQLApp | None) -> Any:
    """The schema's kept court reports (schema/cost.py's Limits), when it has any."""
    if graphql is None:
        return None
    for extension in getattr(graphql.schema, "extensions", ()):
        limits = getattr(extension, "limits", None) or _closure_limits(extension)
        if isinstance(limits, Limits):
            return limits.reports
    return None


def _closure_limits(extension: object) -> Limits | None:
    cells = getattr(extension, "__closure__", None) or ()
    for cell in cells:
        if isinstance(cell.cell_contents, Limits):
            return cell.cell_contents
    return None


def _sessions(graphql: GraphQLApp | None) -> Iterator[Metric]:
    if graphql is None:
        return
    sessions = graphql.sessions
    yield _one(
        "reunite_websocket_connections",
        "Websocket sessions open (graphql-transport-ws).",
        sum(sessions.held.values()),
    )
    yield _one(
        "reunite_websocket_subscriptions",
        "Operations running over websockets.",
        sum(len(handler.operations) for handler in list(sessions.handlers)),
    )


def _projections(container: Container, scraped: Scraped) -> Iterator[Metric]:
    runner = container.runner
    owned = _gauge(
        "reunite_projection_owned", "1 when this process runs the projection now.", ["projection"]
    )
    for name in runner.projections:
        owned.add_metric([name], 1.0 if runner.runs(name) else 0.0)
    yield owned
    lag = _gauge(
        "reunite_projection_lag_events", "Events after the projection's checkpoint.", ["projection"]
    )
    lag_seconds = _gauge(
        "reunite_projection_lag_seconds",
        "How long the oldest event not yet applied has waited.",
        ["projection"],
    )
    age = _gauge(
        "reunite_projection_checkpoint_age_seconds",
        "Time since the projection's checkpoint last moved.",
        ["projection"],
    )
    parked = _gauge(
        "reunite_projection_parked_streams", "Families the projection parked.", ["projection"]
    )
    for row in scraped.projections:
        lag.add_metric([row["name"]], row["lag"])
        lag_seconds.add_metric([row["name"]], row["lag_seconds"])
        age.add_metric([row["name"]], row["age"])
        parked.add_metric([row["name"]], row["parked"])
    yield from (lag, lag_seconds, age, parked)
    if scraped.signed_age is not None:
        yield _one(
            "reunite_signed_checkpoint_age_seconds",
            "Time since the last signed checkpoint of the log.",
            scraped.signed_age,
        )
    troubled = _gauge(
        "reunite_projection_failing", "1 while the projection's batches fail.", ["projection"]
    )
    for name in runner.projections:
        troubled.add_metric([name], 1.0 if name in runner.troubled else 0.0)
    yield troubled


def _one(name: str, doc: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, value=value)


def timed() -> Callable[[], float]:
    """A stopwatch: call the result for the seconds since."""
    began = time.perf_counter()
    return lambda: time.perf_counter() - began
