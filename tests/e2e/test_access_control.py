"""Identity, provenance, read audit and demand limits, as a client meets them over HTTP."""

from __future__ import annotations

import asyncpg
import httpx
import jwt
import pytest

from service.access.auth import Authenticator, Role
from service.postgres.database import Database
from service.settings import Settings
from tests.scenarios.graphql import OPEN, WHEN, Client, ok, open_family, token

pytestmark = pytest.mark.e2e

TIMELINE = """query($id: UUID!, $pos: Int) { timeline(familyId: $id, minPosition: $pos) {
  edges { node { actor role } } } }"""


def client(http: httpx.AsyncClient, settings: Settings, role: Role, sub: str) -> Client:
    return Client(http, token(settings, role, sub))


async def test_actor_and_role_come_from_the_token_not_the_input(
    http: httpx.AsyncClient,
    server_settings: Settings,
) -> None:
    caseworker = client(http, server_settings, Role.CASEWORKER, "jo.caseworker")
    forged = await caseworker.post(
        """mutation($input: OpenCaseInput!) { openCase(input: $input,
             provenance: {actor: "someone.else", role: "admin"}) { __typename } }""",
        input={"caseNumber": "C-9", "occurredAt": WHEN, "source": "intake"},
    )
    assert "errors" in forged.json()  # the provenance input has no actor or role to set
    opened = await ok(
        caseworker, OPEN, input={"caseNumber": "C-9", "occurredAt": WHEN, "source": "intake"}
    )
    auditor = client(http, server_settings, Role.AUDITOR, "al.auditor")
    data = await auditor.run(TIMELINE, id=opened["familyId"], pos=opened["position"])
    assert data["timeline"]["edges"][0]["node"] == {"actor": "jo.caseworker", "role": "caseworker"}


async def test_reads_of_personal_data_are_audited_and_the_log_is_append_only(
    http: httpx.AsyncClient,
    server_settings: Settings,
    database: Database,
) -> None:
    caseworker = client(http, server_settings, Role.CASEWORKER, "jo.caseworker")
    fid, _, _, position = await open_family(caseworker)
    counsel = client(http, server_settings, Role.COUNSEL, "cy.counsel")
    await counsel.run(
        """query Look($id: UUID!, $pos: Int) {
        family(id: $id, minPosition: $pos) { caseNumber } }""",
        id=fid,
        pos=position,
    )
    auditor = client(http, server_settings, Role.AUDITOR, "al.auditor")
    log = await auditor.run(
        """query($id: UUID!) { accessLog(familyId: $id) {
        edges { node { subject role operation familyId } } } }""",
        id=fid,
    )
    entries = [e["node"] for e in log["accessLog"]["edges"]]
    assert {
        "subject": "cy.counsel",
        "role": "counsel",
        "operation": "query:family",
        "familyId": fid,
    } in entries
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await database.pool.execute("UPDATE access_log SET subject = 'nobody'")
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await database.pool.execute("DELETE FROM access_log")


async def test_analysts_get_aggregates_only(
    http: httpx.AsyncClient,
    server_settings: Settings,
) -> None:
    # The rounding itself: tests/integration/test_analyst_disclosure_attacks.py.
    analyst = client(http, server_settings, Role.ANALYST, "an.analyst")
    report = await analyst.run('{ courtReport(asOf: "2029-12-31") { children { total } } }')
    assert "courtReport" in report
    refused = await analyst.post("{ families(first: 1) { edges { node { caseNumber } } } }")
    assert refused.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_demand_limits_per_role_have_clear_errors(
    http: httpx.AsyncClient,
    server_settings: Settings,
) -> None:
    analyst = client(http, server_settings, Role.ANALYST, "an.analyst")
    deep = await analyst.post("""{ courtReport(asOf: "2018-07-31") { inCare { removed {
        total } } discharged { total { total } } } a1: __typename a2: __typename
        a3: __typename a4: __typename a5: __typename a6: __typename }""")
    messages = " ".join(e["message"] for e in deep.json()["errors"])
    assert "aliases" in messages
    caseworker = client(http, server_settings, Role.CASEWORKER, "jo.caseworker")
    big = await caseworker.post("{ families(first: 101) { edges { cursor } } }")
    assert big.json()["errors"][0]["extensions"]["code"] == "BAD_PAGE_SIZE"
    auditor = client(http, server_settings, Role.AUDITOR, "al.auditor")
    assert (
        "errors" not in (await auditor.post("{ families(first: 500) { edges { cursor } } }")).json()
    )


async def test_expired_and_unknown_role_tokens_get_401(
    http: httpx.AsyncClient,
    server_settings: Settings,
) -> None:
    authenticator = Authenticator(server_settings)
    expired = authenticator.mint("jo", Role.CASEWORKER, ttl_seconds=-10)
    response = await http.post(
        "/graphql", json={"query": "{ __typename }"}, headers={"Authorization": f"Bearer {expired}"}
    )
    assert response.status_code == 401 and "expired" in response.text
    unknown = jwt.encode(
        {"sub": "x", "role": "janitor", "exp": 2**40},
        server_settings.jwt_secret or "",
        algorithm="HS256",
    )
    response = await http.post(
        "/graphql", json={"query": "{ __typename }"}, headers={"Authorization": f"Bearer {unknown}"}
    )
    assert response.status_code == 401 and "unknown role" in response.text
