"""Talking GraphQL as a caller: in process with a context, or over HTTP with a token."""

from __future__ import annotations

import socket
from typing import Any

import httpx

from schema.context import Context
from schema.loaders import Loaders
from service.access.auth import Authenticator, Identity, Role
from service.application.container import Container
from service.settings import Settings


def context(container: Container, role: Role = Role.CASEWORKER) -> Context:
    return Context(
        container, None, None, Identity("jo", role), Loaders.create(container.database.pool)
    )


SECRET = "test-secret-that-is-long-enough-for-hs256"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def token(settings: Settings, role: Role, subject: str = "maria.lopez") -> str:
    return Authenticator(settings).mint(subject, role)


class Client:
    """A GraphQL-over-HTTP client holding one caller's token."""

    def __init__(self, http: httpx.AsyncClient, bearer: str | None) -> None:
        self.http = http
        self.headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}

    async def post(self, query: str, **variables: Any) -> httpx.Response:
        return await self.http.post(
            "/graphql", json={"query": query, "variables": variables}, headers=self.headers
        )

    async def run(self, query: str, **variables: Any) -> dict[str, Any]:
        """Execute and return data, failing the test on any GraphQL error."""
        response = await self.post(query, **variables)
        body: dict[str, Any] = response.json()
        assert response.status_code == 200, body
        assert "errors" not in body, body["errors"]
        data: dict[str, Any] = body["data"]
        return data


# A caseworker's documents, and a family recorded with them.

RESULT = """
  __typename
  ... on CommandSuccess { familyId version position duplicate createdId }
  ... on Error { message }
  ... on ValidationError { field }
  ... on InvariantViolation { code }
"""
OPEN = f"""mutation($input: OpenCaseInput!, $key: String) {{
  openCase(input: $input, idempotencyKey: $key) {{ {RESULT} }} }}"""
OPEN_AT = f"""mutation($input: OpenCaseInput!, $v: Int) {{
  openCase(input: $input, expectedVersion: $v) {{ {RESULT} }} }}"""
ADD = f"""mutation($input: AddMemberInput!) {{ addMember(input: $input) {{ {RESULT} }} }}"""
ADD_KEYED = f"""mutation($input: AddMemberInput!, $key: String) {{
  addMember(input: $input, idempotencyKey: $key) {{ {RESULT} }} }}"""
LINK = f"""mutation($input: RecordRelationshipInput!) {{
  recordRelationship(input: $input) {{ {RESULT} }} }}"""
SEPARATE = f"""mutation($input: RecordSeparationInput!, $v: Int) {{
  recordSeparation(input: $input, expectedVersion: $v) {{ {RESULT} }} }}"""
PLACE = f"""mutation($input: RecordPlacementInput!) {{
  recordPlacement(input: $input) {{ {RESULT} }} }}"""
REUNIFY = f"""mutation($input: RecordReunificationInput!) {{
  recordReunification(input: $input) {{ {RESULT} }} }}"""
FAMILY = """query($id: UUID!, $pos: Int) { family(id: $id, minPosition: $pos) {
  caseNumber status version members { personId role name status facilityName } } }"""
TIMELINE = """query($id: UUID!, $pos: Int, $after: String) {
  timeline(familyId: $id, minPosition: $pos, first: 3, after: $after) {
    edges { cursor node { version eventType summary actor role source } }
    pageInfo { hasNextPage endCursor } } }"""

WHEN = "2018-05-20T09:00:00+00:00"


async def ok(client: Client, mutation: str, **variables: Any) -> dict[str, Any]:
    data = await client.run(mutation, **variables)
    result: dict[str, Any] = next(iter(data.values()))
    assert result["__typename"] == "CommandSuccess", result
    return result


async def open_family(c: Client) -> tuple[str, str, str, int]:
    opened = await ok(
        c, OPEN, input={"caseNumber": "C-100", "occurredAt": WHEN, "source": "intake form"}
    )
    fid = opened["familyId"]
    mother = (
        await ok(
            c,
            ADD,
            input={
                "familyId": fid,
                "role": "PARENT",
                "sex": "FEMALE",
                "name": "Ana",
                "occurredAt": WHEN,
            },
        )
    )["createdId"]
    son = (
        await ok(
            c,
            ADD,
            input={
                "familyId": fid,
                "role": "CHILD",
                "sex": "MALE",
                "name": "Beto",
                "age": 4,
                "occurredAt": WHEN,
            },
        )
    )["createdId"]
    linked = await ok(
        c,
        LINK,
        input={
            "familyId": fid,
            "parentId": mother,
            "childId": son,
            "kind": "MOTHER",
            "evidence": "CLAIMED",
            "occurredAt": WHEN,
        },
    )
    return fid, mother, son, linked["position"]
