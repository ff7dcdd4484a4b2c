"""graphql-http's GraphQL-over-HTTP audit (clients/audit.mjs) against a production-mode
server: no failure, no warning; audits needing introspection replaced by stand-ins."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from pathlib import Path

import pytest

from service.access.auth import Role
from service.settings import Settings
from tests.scenarios.graphql import token

pytestmark = pytest.mark.e2e

CLIENTS = Path(__file__).parents[2] / "clients"
NODE = shutil.which("node")


@pytest.mark.skipif(NODE is None, reason="node is not installed: the audit runs in Node")
async def test_the_graphql_http_audit_passes_with_no_warning(
    server: str, server_settings: Settings
) -> None:
    assert not server_settings.dev, "the audit is of production mode"
    assert NODE is not None
    assert (CLIENTS / "node_modules" / "graphql-http").is_dir(), (
        "run `make test` (or `npm ci` in clients/) to install the audit"
    )
    env = {**os.environ, "REUNITE_TOKEN": token(server_settings, Role.CASEWORKER, "audit")}
    process = await asyncio.create_subprocess_exec(
        NODE,
        str(CLIENTS / "audit.mjs"),
        f"{server}/graphql",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=120)
    report = output.decode()
    print(report)  # pytest -s shows every audit
    assert process.returncode == 0, report
    summary = json.loads(report.strip().splitlines()[-1])
    assert summary["warn"] == summary["error"] == summary["notice"] == 0, report
    assert summary["skipped"] == 5 and summary["refused"] == 1, report
    assert summary["ok"] == summary["audits"] - 6 + summary["standIns"], report
