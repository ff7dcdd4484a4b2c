"""graphql-http's GraphQL-over-HTTP audit (clients/audit.mjs) against a production-mode
server: no failure, no warning; audits needing introspection replaced by stand-ins."""

from __future__ import annotations

import pytest

from service.access.auth import Role
from service.settings import Settings
from tests.scenarios.graphql import token
from tests.scenarios.node_clients import NODE, run_client

pytestmark = pytest.mark.e2e


@pytest.mark.skipif(NODE is None, reason="node is not installed: the audit runs in Node")
async def test_the_graphql_http_audit_passes_with_no_warning(
    server: str, server_settings: Settings
) -> None:
    assert not server_settings.dev, "the audit is of production mode"
    who = token(server_settings, Role.CASEWORKER, "audit")
    summary = await run_client("audit.mjs", "graphql-http", f"{server}/graphql", who)
    report = summary["report"]
    assert summary["warn"] == summary["error"] == summary["notice"] == 0, report
    assert summary["skipped"] == 5 and summary["refused"] == 1, report
    assert summary["ok"] == summary["audits"] - 6 + summary["standIns"], report
