"""A process's role in a fleet: API only (`serve --workers N`), or projections only (`project`).

`reunite serve` alone does everything, as before. In a fleet, API processes answer requests
and never project; `reunite project` processes run the projections and the signed
checkpoints, each projection owned by one of them at a time (projections/ownership.py), the
others standing by to take it over.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal

import uvicorn
from starlette.applications import Starlette

from service.access.auth import Authenticator
from service.application.container import Container
from service.entrypoints.app import serve_metrics
from service.entrypoints.metrics import Metrics
from service.entrypoints.tracing import install_tracing
from service.ledger.checkpoints import checkpoint_periodically
from service.postgres.database import open_database
from service.settings import Settings

log = logging.getLogger(__name__)

APP_FACTORY = "service.entrypoints.app:app_from_env"


def serve_workers(settings: Settings, workers: int) -> None:
    """N API processes on one port (uvicorn's supervisor): none projects or checkpoints;
    run `reunite project` beside them. Settings reach the workers through the environment."""
    os.environ.update(
        REUNITE_RUN_PROJECTIONS="0",
        REUNITE_RUN_CHECKPOINTS="0",
        REUNITE_HOST=settings.host,
        REUNITE_PORT=str(settings.port),
        REUNITE_DEV="1" if settings.dev else "0",
    )
    # A separate metrics port cannot be shared by N processes: each answers on the API port.
    os.environ.pop("REUNITE_METRICS_PORT", None)
    uvicorn.run(
        APP_FACTORY,
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=workers,
        log_level="info",
        ws_max_size=settings.max_body_bytes,
        log_config=None if settings.log_json else uvicorn.config.LOGGING_CONFIG,
    )


class GoingAwayServer(uvicorn.Server):
    """uvicorn's server, which first closes every websocket session with 1001 (going away)
    when it stops, then finishes in-flight requests, then the app's shutdown (projections'
    batches end and their ownership is released)."""

    def __init__(self, config: uvicorn.Config, app: Starlette) -> None:
        super().__init__(config)
        self.app = app

    async def shutdown(self, sockets: list[object] | None = None) -> None:  # type: ignore[override]
        going_away = getattr(self.app.state, "going_away", None)
        if going_away is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(going_away(), 5.0)
        await super().shutdown(sockets)  # type: ignore[arg-type]


async def project(settings: Settings) -> int:
    """Run projections (those this process owns, standing by for the rest) and signed
    checkpoints until SIGTERM or SIGINT; then finish the batch under way and release."""
    stop = asyncio.Event()
    install_tracing(settings)  # the projections' batches as spans, when configured
    database = await open_database(
        settings, bounded=True, wait=settings.database_wait, role=settings.database_role
    )
    try:
        container = await Container.build(settings, database)
        try:
            async with database.as_owner() as owner:
                await container.runner.renew_changed(owner)
            # Only now: a signal while starting ends the process at once (nothing to finish).
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, stop.set)
            tasks = [
                asyncio.create_task(container.runner.run(stop, claim_poll=settings.claim_poll))
            ]
            if settings.run_checkpoints:
                checkpoints = checkpoint_periodically(
                    database.pool, settings.checkpoint_interval, stop
                )
                tasks.append(asyncio.create_task(checkpoints))
            if settings.metrics_port is not None:
                metrics = Metrics(settings, Authenticator(settings))
                metrics.serve(container, None)
                tasks.append(asyncio.create_task(serve_metrics(metrics, settings, stop)))
            log.info("projecting; standing by for projections another process owns")
            # Until a signal, or the runner ends (it failed): then the others stop too.
            # (The checkpoints' task ends at once without a signing key: not a reason.)
            stopped = asyncio.create_task(stop.wait())
            await asyncio.wait([tasks[0], stopped], return_when=asyncio.FIRST_COMPLETED)
            stop.set()
            await stopped
            for outcome in await asyncio.gather(*tasks, return_exceptions=True):
                if isinstance(outcome, BaseException):
                    log.error("background task ended with %r", outcome)
        finally:
            await container.store.announcements.drain()
    finally:
        await database.close()
    log.info("stopped projecting")
    return 0
