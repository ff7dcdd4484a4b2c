"""A real front end in the test suite: Apollo Client 4 and graphql-ws, in Node
(clients/apollo_flow.mjs), against a production-mode server holding part of the demo data.

The flow pages children both ways, opens a family and its timeline, subscribes to its
events, writes (the result union), reads its write with minPosition and checks that the
normalised cache shows the family's new version without refetching it; see the script.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from service.access.auth import Role
from service.application.container import Container
from service.orr_import.importer import OrrImporter
from service.orr_import.report import Outcome
from service.postgres.database import Database
from service.settings import Settings
from tests.scenarios.graphql import token
from tests.scenarios.node_clients import NODE, run_client

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).parents[2]
DEMO = ROOT / "data" / "orr-separated-children-2018.csv"
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
    await seed(tmp_path, settings, database)
    who = token(server_settings, Role.CASEWORKER, "apollo")
    summary = await run_client("apollo_flow.mjs", "@apollo/client", f"{server}/graphql", who)
    report = summary["report"]
    assert summary["children"] == ROWS, report
    assert summary["forwardPages"] == summary["backwardPages"] == ROWS // 2, report
    assert summary["versions"][1] == summary["versions"][0] + 1, report
    assert summary["events"] >= 1, report
