"""The Starlette application: its routes (/graphql is graphql_app.py's view), health, and
its lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterator

import uvicorn
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route, WebSocketRoute

from schema.persisted import PersistedDocuments
from service.access.auth import Authenticator
from service.application.container import Container
from service.entrypoints.collector import settled
from service.entrypoints.console import console_routes
from service.entrypoints.cors import CrossOrigin, Origins
from service.entrypoints.graphql_app import GraphQLApp
from service.entrypoints.health import livez, readyz
from service.entrypoints.logs import configure_logging
from service.entrypoints.metrics import Metrics
from service.entrypoints.tracing import install_tracing
from service.ledger.checkpoints import checkpoint_periodically
from service.postgres.database import open_database
from service.settings import Settings

log = logging.getLogger(__name__)


def create_app(settings: Settings) -> Starlette:
    """The one composition root for HTTP: database, container, runner, routes."""
    persisted = (
        PersistedDocuments.load(settings.persisted_documents, settings.persisted_only)
        if settings.persisted_documents is not None
        else None
    )
    if settings.persisted_only and persisted is None:
        raise ValueError("REUNITE_PERSISTED_ONLY needs a manifest: REUNITE_PERSISTED_DOCUMENTS")
    install_tracing(settings)  # off unless configured: then nothing is installed
    authenticator = Authenticator(settings)
    graphql = GraphQLApp(settings, authenticator, persisted)
    metrics = graphql.metrics = Metrics(settings, authenticator)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # Each resource is released even when a later one fails to start or stop.
        async with contextlib.AsyncExitStack() as resources:
            # A database still starting (or restarting) is waited for, for a bounded time.
            database = await open_database(
                settings,
                bounded=True,
                wait=settings.database_wait,
                role=settings.database_role,
                replica=True,
            )
            resources.push_async_callback(database.close)
            container = await Container.build(settings, database)
            app.state.container = container
            graphql.serve(container)
            metrics.serve(container, graphql)
            await container.notifications.start()
            resources.push_async_callback(container.notifications.stop)
            # Erasures made by other processes: their keys and decoded families forgotten.
            await container.erasure_notices.start()
            resources.push_async_callback(container.erasure_notices.stop)
            resources.push_async_callback(container.store.announcements.drain)
            resources.push_async_callback(container.access_log.drain)
            if settings.run_projections:
                # Before the first request: a read model built by other code is replayed.
                async with database.as_owner() as owner:
                    await container.runner.renew_changed(owner)
            stop = asyncio.Event()
            tasks = []
            if settings.run_checkpoints:
                pool = container.database.pool
                checkpoints = checkpoint_periodically(pool, settings.checkpoint_interval, stop)
                tasks.append(asyncio.create_task(checkpoints))
            if settings.run_projections:
                run = container.runner.run(stop, claim_poll=settings.claim_poll)
                tasks.append(asyncio.create_task(run))
            if settings.metrics_port is not None:
                tasks.append(asyncio.create_task(serve_metrics(metrics, settings, stop)))
            resources.enter_context(settled())  # started: the collector tuned for serving
            try:
                yield
            finally:
                stop.set()
                for outcome in await asyncio.gather(*tasks, return_exceptions=True):
                    if isinstance(outcome, Exception):
                        log.error("background task ended with %r", outcome)

    app = Starlette(
        routes=[
            Route("/livez", livez),
            Route("/readyz", readyz),
            Route("/health", readyz),  # the older name
            *([Route("/metrics", metrics.endpoint)] if settings.metrics_port is None else []),
            Route("/graphql", graphql),  # every method: the view refuses with a JSON body
            WebSocketRoute("/graphql", graphql),
            *console_routes(settings),  # the auditor console, when on (console.py)
        ],
        middleware=[
            Middleware(
                CrossOrigin,
                origins=Origins.of(settings),
                credentials=settings.cors_credentials,
                headers=settings.cors_headers,
            )
        ],
        lifespan=lifespan,
    )
    app.state.going_away = graphql.going_away
    return app


class QuietServer(uvicorn.Server):
    """A server beside the main one, in its loop: the main one handles the signals."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def serve_metrics(metrics: Metrics, settings: Settings, stop: asyncio.Event) -> None:
    """/metrics alone on REUNITE_METRICS_PORT (the same tokens), until `stop`."""
    server = QuietServer(
        uvicorn.Config(
            Starlette(routes=[Route("/metrics", metrics.endpoint)]),
            host=settings.host,
            port=settings.metrics_port or 0,
            log_level="warning",
            lifespan="off",
        )
    )
    serving = asyncio.create_task(server.serve())
    await stop.wait()
    server.should_exit = True
    await serving


def app_from_env() -> Starlette:
    """For `uvicorn --factory service.entrypoints.app:app_from_env` (workers, server flags)."""
    configure_logging()
    return create_app(Settings.from_env())
