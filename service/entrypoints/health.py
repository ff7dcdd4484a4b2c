"""/livez and /readyz (and /health, its alias): what an orchestrator and an operator need."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from service.application.container import Container
from service.postgres.database import unavailable
from service.postgres.listener import ListenerState

# Readiness answers within this, whatever the database does (a probe must not hang).
READY_TIMEOUT = 2.0
# A transaction that holds back the gap-safe horizon this long, while committed events
# wait behind it, is named.
HELD_BACK_AFTER = 5.0
# The oldest transaction that has written (holds an xid) while committed events wait
# behind the horizon it sets: readers see none of them until it ends (migration 0009's
# horizon_holder lends the server's role just that row of pg_stat_activity).
HELD_BACK = """
SELECT h.pid, h.xact_start, h.state, h.seconds
  FROM horizon_holder() h
 WHERE EXISTS (SELECT FROM events e
                WHERE e.transaction_id >= pg_snapshot_xmin(pg_current_snapshot()))
"""


async def livez(_request: Request) -> JSONResponse:
    """Liveness: the process answers; no database involved."""
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> JSONResponse:
    """Readiness: 200 when the database answers (status 'degraded' when something else is
    wrong), 503 when it does not; checked afresh on every call."""
    container: Container = request.app.state.container
    body: dict[str, Any] = {"listeners": _listeners(container)}
    started = time.perf_counter()
    try:
        async with asyncio.timeout(READY_TIMEOUT):
            body["head"] = await container.store.head()
            body["database"] = {"ok": True, "roundTripMs": _ms_since(started)}
            body["projections"] = await _projections(container)
            held = await container.database.pool.fetchrow(HELD_BACK)
    except Exception as e:
        if not unavailable(e):
            raise
        body["database"] = {"ok": False, "error": type(e).__name__ or "timeout"}
        body["status"] = "unavailable"
        return JSONResponse(body, status_code=503)
    problems = _problems(container, body)
    if held is not None and held["seconds"] >= HELD_BACK_AFTER:
        since = held["xact_start"].isoformat()
        body["heldBack"] = {"since": since, "pid": held["pid"], "state": held["state"]}
        problems.append(f"held back by a transaction open since {since}")
    body["status"] = "degraded" if problems else "ok"
    if problems:
        body["problems"] = problems
    return JSONResponse(body)


def _listeners(container: Container) -> dict[str, Any]:
    states: dict[str, ListenerState] = {"notifications": container.notifications.state}
    if container.settings.run_projections:
        states["projections"] = container.runner.listening
    return {name: _state(s) for name, s in states.items()}


def _state(state: ListenerState) -> dict[str, Any]:
    # The reason stays in the log: anyone may ask /readyz, and it can name hosts and users.
    out: dict[str, Any] = {"connected": state.connected}
    if state.since is not None:
        out["since"] = state.since.isoformat()
    return out


async def _projections(container: Container) -> dict[str, Any]:
    # Reasons stay in the log and `reunite projections status`: this endpoint answers anyone.
    troubled = container.runner.troubled
    out: dict[str, Any] = {}
    for s in await container.runner.status():
        out[s.name] = {
            "position": s.position,
            "lag": s.lag,
            "failing": s.name in troubled,
            "parkedEvents": s.parked.events,
            "parkedFamilies": s.parked.streams,
        }
    return out


def _problems(container: Container, body: dict[str, Any]) -> list[str]:
    problems = [
        f"{name} listener not connected"
        for name, state in body["listeners"].items()
        if not state["connected"]
    ]
    for name, p in body["projections"].items():
        if p["failing"]:
            problems.append(f"projection {name} failing")
        if p["parkedEvents"]:
            problems.append(f"projection {name} has parked events")
    return problems


def _ms_since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)
