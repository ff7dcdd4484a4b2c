"""A real front end in the test suite: Apollo Client 4 and graphql-ws, in Node
(clients/apollo_flow.mjs), against a production-mode server holding part of the demo data.

The flow pages children both ways, opens a family and its timeline, subscribes to its
events, writes (the result union), reads its write with minPosition and checks that the
normalised cache shows the family's new version without refetching it; see the script.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from pathlib import Path

import pytest

from service.access.auth import Role
from service.application.container import Container
from service.orr_import.importer import OrrImporter
from service.orr_import.report import Outcome
from service.postgres.database import Database
from service.settings import Settings
from tests.scenarios.graphql import token

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).parents[2]
CLIENTS = ROOT / "clients"
DEMO = ROOT / "data" / "orr-separated-children-2018.csv"
NODE = shutil.which("node")
ROWS = 12  # of the demo's ORR list: a child, a parent and their history each


async def seed(tmp: Path, settings: Settings, database: Database) -> None:
    """The first rows of the demo's ORR list, imported as `make run` imports all of it."""
    lines = DEMO.read_text(encoding="utf-8").splitlines(keepends=True)
    part = tmp / "orr-demo-part.csv"
    part.write_text("".join(lines[: ROWS + 1]), encoding="utf-8")
    container = await Container.build(settings, database)
    report = await OrrImporter(container.store, actor="demo").run(part)
    assert report.count(Outcome.IMPORTED) == ROWS
    await container.runner.catch_up(within=120)


@pytest.mark.skipif(NODE is None, reason="node is not installed: the Apollo client runs in Node")
async def test_an_apollo_client_pages_writes_reads_its_write_and_keeps_its_cache(
    server: str, server_settings: Settings, settings: Settings, database: Database, tmp_path: Path
) -> None:
    assert not server_settings.dev, "the flow is against production mode"
    assert NODE is not None
    assert (CLIENTS / "node_modules" / "@apollo" / "client").is_dir(), (
        "run `make test` (or `npm ci` in clients/) to install the client"
    )
    await seed(tmp_path, settings, database)
    env = {**os.environ, "REUNITE_TOKEN": token(server_settings, Role.CASEWORKER, "apollo")}
    process = await asyncio.create_subprocess_exec(
        NODE,
        str(CLIENTS / "apollo_flow.mjs"),
        f"{server}/graphql",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=120)
    report = output.decode()
    print(report)  # pytest -s shows each step
    assert process.returncode == 0, report
    summary = json.loads(report.strip().splitlines()[-1])
    assert summary["children"] == ROWS, report
    assert summary["forwardPages"] == summary["backwardPages"] == ROWS // 2, report
    assert summary["versions"][1] == summary["versions"][0] + 1, report
    assert summary["events"] >= 1, report
