"""Counsel of record over HTTP: a caseworker records it, and the counsel's token reads what
the access policy gives it (schema/policy.py), where another counsel's token does not."""

from __future__ import annotations

import httpx
import pytest

from service.access.auth import Role
from service.settings import Settings
from tests.scenarios.graphql import RESULT, WHEN, Client, ok, open_family, token

pytestmark = pytest.mark.e2e

REPRESENT = f"""mutation($input: RecordRepresentationInput!) {{
  recordRepresentation(input: $input) {{ {RESULT} }} }}"""
END = f"""mutation($input: EndRepresentationInput!) {{
  endRepresentation(input: $input) {{ {RESULT} }} }}"""
FAMILY = """query($id: UUID!, $pos: Int) { family(id: $id, minPosition: $pos) {
  members { name role status }
  counselOfRecord { counsel personId basis reference consentToDisclosure active since } } }"""
TIMELINE = """query($id: UUID!, $pos: Int) { timeline(familyId: $id, minPosition: $pos) {
  edges { node { eventType summary actor } } } }"""
MINE = """query($who: String!, $pos: Int) {
  families(representedBy: $who, minPosition: $pos) { edges { node { familyId } } } }"""


def caller(http: httpx.AsyncClient, settings: Settings, role: Role, subject: str) -> Client:
    return Client(http, token(settings, role, subject))


async def test_counsel_of_record_reads_its_clients_family_and_no_one_elses(
    http: httpx.AsyncClient, server_settings: Settings
) -> None:
    caseworker = caller(http, server_settings, Role.CASEWORKER, "jo.caseworker")
    fid, mother, _, _ = await open_family(caseworker)
    recorded = await ok(
        caseworker,
        REPRESENT,
        input={
            "familyId": fid,
            "personId": mother,
            "counsel": "cy.counsel",
            "basis": "NOTICE_OF_APPEARANCE",
            "reference": "EOIR-28 filed 2018-07-02",
            "consentToDisclosure": True,
            "occurredAt": WHEN,
        },
    )
    position = recorded["position"]
    cy = caller(http, server_settings, Role.COUNSEL, "cy.counsel")
    other = caller(http, server_settings, Role.COUNSEL, "class.counsel")

    mine = (await cy.run(FAMILY, id=fid, pos=position))["family"]
    assert {m["name"] for m in mine["members"]} == {"Ana", "Beto"}
    assert mine["counselOfRecord"] == [
        {
            "counsel": "cy.counsel",
            "personId": mother,
            "basis": "NOTICE_OF_APPEARANCE",
            "reference": "EOIR-28 filed 2018-07-02",
            "consentToDisclosure": True,
            "active": True,
            "since": "2018-05-20",
        }
    ]
    theirs = (await other.run(FAMILY, id=fid, pos=position))["family"]
    assert [m["name"] for m in theirs["members"]] == [None, None]
    assert [m["role"] for m in theirs["members"]] == [m["role"] for m in mine["members"]]
    assert theirs["counselOfRecord"] == []

    entries = (await cy.run(TIMELINE, id=fid, pos=position))["timeline"]["edges"]
    assert entries[-1]["node"]["eventType"] == "RepresentationRecorded"
    assert entries[-1]["node"]["actor"] == "jo.caseworker"
    assert "cy.counsel recorded as counsel of record for Ana" in entries[-1]["node"]["summary"]
    refused = (await other.post(TIMELINE, id=fid, pos=position)).json()
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"

    assert (await cy.run(MINE, who="cy.counsel", pos=position))["families"]["edges"] == [
        {"node": {"familyId": fid}}
    ]
    # Who represents whom in someone else's family is not the other counsel's to find.
    found = await other.run(MINE, who="cy.counsel", pos=position)
    assert found["families"]["edges"] == []

    # Counsel records nothing, not even its own representation.
    own = await other.post(
        REPRESENT,
        input={
            "familyId": fid,
            "personId": mother,
            "counsel": "class.counsel",
            "basis": "OTHER",
            "consentToDisclosure": True,
            "occurredAt": WHEN,
        },
    )
    assert own.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"

    ended = await ok(caseworker, END, input={**_end(fid, mother), "reason": "substituted"})
    after = (await cy.run(FAMILY, id=fid, pos=ended["position"]))["family"]
    assert [m["name"] for m in after["members"]] == [None, None]
    refused = (await cy.post(TIMELINE, id=fid, pos=ended["position"])).json()
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    again = await caseworker.run(END, input={**_end(fid, mother), "reason": "again"})
    assert again["endRepresentation"]["code"] == "NOT_REPRESENTED"


def _end(fid: str, mother: str) -> dict[str, str]:
    return {"familyId": fid, "personId": mother, "counsel": "cy.counsel", "occurredAt": WHEN}
