"""`reunite serve` in a subprocess over an owned PostgreSQL, and a caller that retries."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from service.access.auth import Authenticator, Role
from service.eventstore.sealing import generate_kek_file
from service.settings import Settings
from tests.scenarios.graphql import SECRET, free_port

# Tight limits, so a test sees every wait end: what production sets in seconds or tens.
# Every service process of a test run shares one personal data KEK, never the user's.
KEK = Path(tempfile.mkdtemp(prefix="reunite-kek-")) / "person-kek"
generate_kek_file(KEK)
LIMITS = {
    "REUNITE_KEK_FILE": str(KEK),
    "REUNITE_STATEMENT_TIMEOUT": "1",
    "REUNITE_ACQUIRE_TIMEOUT": "1",
    "REUNITE_FRESHNESS_TIMEOUT": "2",
    "REUNITE_DATABASE_WAIT": "20",
}
BEARER = "Bearer " + Authenticator(Settings(jwt_secret=SECRET)).mint("maria.lopez", Role.CASEWORKER)


class Service:
    """One `reunite serve` process; start() again after a kill serves the same database."""

    def __init__(self, database_url: str, log: Path) -> None:
        self.database_url = database_url
        self.log = log
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    async def start(self) -> None:
        self.process = self._spawn()
        async with httpx.AsyncClient(base_url=self.base, timeout=5) as http:
            for _ in range(600):
                assert self.process.poll() is None, self.log.read_text()[-3000:]
                with contextlib.suppress(httpx.TransportError):
                    if (await http.get("/readyz")).status_code == 200:
                        return
                await asyncio.sleep(0.05)
        raise TimeoutError("the service did not become ready")

    def _spawn(self) -> subprocess.Popen[bytes]:
        env = {**os.environ, **LIMITS, "DATABASE_URL": self.database_url}
        env["REUNITE_JWT_SECRET"] = SECRET
        command = [sys.executable, "-m", "service.entrypoints.cli", "serve"]
        with open(self.log, "ab") as log:
            return subprocess.Popen(
                [*command, "--port", str(self.port)],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


@contextlib.asynccontextmanager
async def serving(database_url: str, log: Path) -> AsyncIterator[Service]:
    service = Service(database_url, log)
    await service.start()
    try:
        yield service
    finally:
        service.stop()


async def post(http: httpx.AsyncClient, query: str, **variables: Any) -> dict[str, Any]:
    response = await http.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": BEARER},
    )
    body: dict[str, Any] = response.json()
    return body


def retryable(body: dict[str, Any]) -> bool:
    """Every error of the answer says: the database is unavailable, retry."""
    errors = body.get("errors") or []
    return bool(errors) and all(
        e.get("extensions", {}) == {"code": "DATABASE_UNAVAILABLE", "retryable": True}
        for e in errors
    )


async def until_done(
    http: httpx.AsyncClient, query: str, within: float = 30.0, **variables: Any
) -> dict[str, Any]:
    """A keyed command, retried with the same key until it answers; its result."""
    deadline = time.monotonic() + within
    while True:
        try:
            body = await post(http, query, **variables)
        except httpx.TransportError:
            body = {"errors": [{"extensions": {"code": "DATABASE_UNAVAILABLE", "retryable": True}}]}
        if "errors" not in body:
            result: dict[str, Any] = next(iter(body["data"].values()))
            assert result["__typename"] == "CommandSuccess", result
            return result
        assert retryable(body), body
        assert time.monotonic() < deadline, body
        await asyncio.sleep(0.05)


async def versions_by_family(url: str) -> dict[str, list[int]]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch("SELECT stream_id, version FROM events ORDER BY stream_id, version")
    finally:
        await conn.close()
    out: dict[str, list[int]] = {}
    for r in rows:
        out.setdefault(str(r["stream_id"]), []).append(r["version"])
    return out


async def keys_written(url: str) -> list[str]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            "SELECT idempotency_key FROM events WHERE idempotency_key IS NOT NULL"
        )
    finally:
        await conn.close()
    return [r["idempotency_key"] for r in rows]


def subscribe_message(query: str, **variables: Any) -> str:
    return json.dumps(
        {"id": "1", "type": "subscribe", "payload": {"query": query, "variables": variables}}
    )
