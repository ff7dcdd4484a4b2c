"""A real uvicorn server on a free port, over the session's test database."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator

import httpx
import pytest
import uvicorn

from service.access.auth import Role
from service.entrypoints.app import create_app
from service.postgres.database import Database
from service.settings import Settings
from tests.scenarios.database import reset
from tests.scenarios.graphql import SECRET, Client, free_port, token


@pytest.fixture(scope="module")
async def server_settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, jwt_secret=SECRET, port=free_port())


@pytest.fixture(scope="module")
async def server(server_settings: Settings, database: Database) -> AsyncIterator[str]:
    """Serve the app with uvicorn for one test module; yields its base URL.

    Per module, not per session: its projection runner must not outlive the e2e tests and
    race the integration tests' resets of the same database."""
    await reset(database.pool)
    config = uvicorn.Config(
        create_app(server_settings),
        host="127.0.0.1",
        port=server_settings.port,
        log_level="warning",
        lifespan="on",
    )
    uv = uvicorn.Server(config)
    task = asyncio.create_task(uv.serve())
    while not uv.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.05)
    yield f"http://127.0.0.1:{server_settings.port}"
    uv.should_exit = True
    await task


@pytest.fixture
async def http(server: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server, timeout=30) as client:
        yield client


@pytest.fixture
def caseworker(http: httpx.AsyncClient, server_settings: Settings) -> Client:
    return Client(http, token(server_settings, Role.CASEWORKER))
