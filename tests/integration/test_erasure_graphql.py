"""The admins' erasePersonalData mutation: typed refusals that write nothing, then the marker."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import pytest

from schema.build import create_schema
from schema.context import Context
from schema.loaders import Loaders
from service.access.auth import Identity, Role
from service.application.container import Container
from tests.scenarios.erasure import AUTHORITY, record_family

pytestmark = pytest.mark.integration

ERASE = """
mutation Erase($person: UUID!, $authority: String!) {
  erasePersonalData(input: {personId: $person, authority: $authority, orderedBy: "judge"}) {
    __typename
    ... on CommandSuccess { familyId version }
    ... on Error { code message }
  }
}
"""
MEMBERS = """
query Members($id: UUID!, $child: UUID!, $mother: UUID!) {
  family(id: $id) { members { personId name birthDate aNumber personalDataErased } }
  child(id: $child) { name separationReasonText personalDataErased }
  parent(id: $mother) { name personalDataErased }
}
"""


def context(container: Container, role: Role) -> Context:
    identity = Identity(f"{role.value}-1", role)
    return Context(container, None, None, identity, Loaders.create(container.database.pool))


async def erase(container: Container, person: UUID, authority: str) -> dict[str, Any]:
    result = await create_schema(dev=True).execute(
        ERASE,
        variable_values={"person": str(person), "authority": authority},
        context_value=context(container, Role.ADMIN),
    )
    assert result.errors is None and result.data is not None, result.errors
    answer: dict[str, Any] = result.data["erasePersonalData"]
    return answer


async def test_an_admin_erases_a_person_and_the_member_reads_as_erased(
    container: Container,
) -> None:
    family = await record_family(container.commands)
    events = await container.database.pool.fetchval("SELECT count(*) FROM events")
    refused = [
        (uuid4(), AUTHORITY, "NOT_FOUND"),
        (family.child, "", "INVALID_VALUE"),
        (family.child, "a\x07b", "INVALID_TEXT"),
        (family.child, "y" * 501, "INVALID_TEXT"),
    ]
    for person, authority, code in refused:
        answer = await erase(container, person, authority)
        assert answer["__typename"] != "CommandSuccess" and answer["code"] == code, answer
    assert await container.database.pool.fetchval("SELECT count(*) FROM events") == events

    done = await erase(container, family.child, AUTHORITY)
    assert done["__typename"] == "CommandSuccess" and done["version"] == events + 1
    again = await erase(container, family.child, AUTHORITY)
    assert (again["__typename"], again["code"]) == ("InvariantViolation", "ALREADY_ERASED")

    await container.runner.catch_up()
    result = await create_schema(dev=True).execute(
        MEMBERS,
        variable_values={
            "id": str(family.family_id),
            "child": str(family.child),
            "mother": str(family.mother),
        },
        context_value=context(container, Role.CASEWORKER),
    )
    assert result.errors is None and result.data is not None, result.errors
    members = {m["personId"]: m for m in result.data["family"]["members"]}
    child = members[str(family.child)]
    assert child == {
        "personId": str(family.child),
        "name": None,
        "birthDate": None,
        "aNumber": None,
        "personalDataErased": True,
    }
    assert members[str(family.mother)]["personalDataErased"] is False
    assert result.data["child"] == {
        "name": None,
        "separationReasonText": None,
        "personalDataErased": True,
    }
    assert result.data["parent"] == {"name": "Ana Maricruz", "personalDataErased": False}
