"""The seed's story, through HTTP: separated at the border, removed, returned, reunified."""

from __future__ import annotations

import pytest

from tests.scenarios.graphql import Client
from tests.scenarios.story import Caseworker, day

pytestmark = pytest.mark.e2e


async def test_a_mother_and_her_son_from_separation_to_reunification(
    caseworker: Client,
) -> None:
    cw = Caseworker(caseworker)
    opened = await cw.record(
        "openCase",
        "OpenCaseInput",
        familyId=None,
        caseNumber="JSR-0042",
        source="CBP intake, San Ysidro",
        occurredAt=day(0),
    )
    cw.family_id = opened["familyId"]
    mother = (
        await cw.record(
            "addMember",
            "AddMemberInput",
            role="PARENT",
            sex="FEMALE",
            name="Ana Lucía",
            country="GT",
            aNumber="A201234567",
            occurredAt=day(0),
        )
    )["createdId"]
    son = (
        await cw.record(
            "addMember",
            "AddMemberInput",
            role="CHILD",
            sex="MALE",
            name="Mateo",
            age=4,
            country="GT",
            occurredAt=day(0),
        )
    )["createdId"]
    await cw.record(
        "recordRelationship",
        "RecordRelationshipInput",
        parentId=mother,
        childId=son,
        kind="MOTHER",
        evidence="CLAIMED",
        occurredAt=day(0),
    )
    port = {"kind": "PORT_OF_ENTRY", "name": "San Ysidro"}
    await cw.record(
        "recordApprehension",
        "ApprehendInput",
        personIds=[mother, son],
        place=port,
        agency="OFFICE_OF_FIELD_OPERATIONS",
        occurredAt=day(0),
    )
    await cw.record(
        "recordSeparation",
        "RecordSeparationInput",
        parentId=mother,
        childId=son,
        place=port,
        reason="ZERO_TOLERANCE",
        occurredAt=day(1),
    )
    await cw.record(
        "referChild",
        "ReferChildInput",
        childId=son,
        hoursInCbpCustody=52,
        office={"id": "SND", "name": "San Diego ERO"},
        occurredAt=day(2),
    )
    placed = await cw.record(
        "recordPlacement",
        "RecordPlacementInput",
        childId=son,
        programType="SHELTER",
        occurredAt=day(3),
        facility={"id": "swk-casa-padre", "name": "Casa Padre", "state": "TX"},
    )
    await cw.record(
        "transferChild",
        "TransferChildInput",
        childId=son,
        programType="TRANSITIONAL_FOSTER_CARE",
        occurredAt=day(20),
        facility={"id": "cayuga", "name": "Cayuga Centers", "state": "NY"},
    )
    await cw.record(
        "detainParent",
        "CustodyInput",
        parentId=mother,
        custody="ICE",
        occurredAt=day(2),
        facility={"id": "port-isabel", "name": "Port Isabel", "state": "TX"},
    )
    await cw.record(
        "decideCredibleFear",
        "DecideCredibleFearInput",
        personId=mother,
        outcome="NEGATIVE",
        language="K'iche'",
        whileSeparated=True,
        occurredAt=day(10),
    )
    await cw.record(
        "orderRemoval", "OrderRemovalInput", parentId=mother, kind="EXPEDITED", occurredAt=day(11)
    )
    await cw.record(
        "signRemovalElection",
        "SignRemovalElectionInput",
        parentId=mother,
        election="DEPART_WITHOUT_CHILD",
        language="Spanish",
        counselPresent=False,
        howRead="read aloud in Spanish, which she does not read",
        occurredAt=day(12),
    )
    await cw.record(
        "removeParent", "RemoveParentInput", parentId=mother, country="GT", occurredAt=day(15)
    )
    for outcome, when in (("NOT_FOUND", 60), ("NOT_FOUND", 75), ("FOUND", 90)):
        await cw.record(
            "attemptLocation",
            "AttemptLocationInput",
            parentId=mother,
            method="phone and local partners",
            outcome=outcome,
            byWhom="class counsel (ACLU steering committee)",
            occurredAt=day(when),
        )
    await cw.record(
        "recordPreference",
        "RecordPreferenceInput",
        parentId=mother,
        preference="REUNIFY_ABROAD",
        occurredAt=day(91),
    )
    await cw.record(
        "electSettlement",
        "ElectSettlementInput",
        personId=mother,
        election="ELECT_REVIEW",
        occurredAt=day(100),
    )
    await cw.record(
        "reinterview", "ReinterviewInput", personId=mother, outcome="POSITIVE", occurredAt=day(120)
    )
    await cw.record(
        "reopenAsylumCase",
        "ReopenAsylumCaseInput",
        personId=mother,
        proceeding="asylum, reopened under the settlement",
        occurredAt=day(130),
    )
    await cw.record(
        "returnParent", "ReturnParentInput", parentId=mother, how="PAROLE", occurredAt=day(140)
    )
    await cw.record(
        "recordReunification",
        "RecordReunificationInput",
        childId=son,
        parentId=mother,
        occurredAt=day(141),
        place={"kind": "FACILITY", "name": "Cayuga Centers"},
    )
    await cw.record(
        "correctEntry",
        "CorrectEntryInput",
        version=placed["version"],
        changes=[
            {
                "field": "facility",
                "value": {
                    "id": "swk-casa-padre",
                    "name": "Southwest Key Casa Padre",
                    "state": "TX",
                },
            }
        ],
        reason="facility name as on the ORR placement record",
        occurredAt=day(150),
    )

    story = await caseworker.run(
        """query($id: UUID!, $pos: Int, $m: UUID!) {
        family(id: $id, minPosition: $pos) { status version members { name status } }
        parent(id: $m, minPosition: $pos) { situation timesRemoved removedTo returnedAt returnRoute
                         locationAttempts located preference removalElection
                         credibleFear reinterviewOutcome asylumReopened }
        timeline(familyId: $id, first: 100, minPosition: $pos) { edges { node {
            version eventType summary actor role source reason amends amendedBy } } } }""",
        id=cw.family_id,
        pos=cw.position,
        m=mother,
    )

    assert story["family"]["status"] == "reunified"
    assert {m["name"]: m["status"] for m in story["family"]["members"]}["Mateo"] == "reunified"
    parent = story["parent"]
    assert (parent["timesRemoved"], parent["removedTo"], parent["returnRoute"]) == (
        1,
        "GT",
        "parole",
    )
    assert parent["returnedAt"] == day(140)[:10]
    assert (parent["locationAttempts"], parent["located"]) == (3, True)
    assert (parent["credibleFear"], parent["reinterviewOutcome"]) == ("negative", "positive")
    assert parent["removalElection"] == "depart_without_child" and parent["asylumReopened"]

    entries = [e["node"] for e in story["timeline"]["edges"]]
    assert len(entries) == story["family"]["version"] == 24
    assert all(e["actor"] == "maria.lopez" and e["role"] == "caseworker" for e in entries)
    assert all(e["source"].startswith("case file, ") for e in entries[1:])
    kinds = [e["eventType"] for e in entries]
    assert kinds.index("ParentRemoved") < kinds.index("ParentReturned") < kinds.index("Reunified")
    original = entries[placed["version"] - 1]
    assert "Casa Padre" in original["summary"] and "Southwest Key" not in original["summary"]
    assert original["amendedBy"] == [24]
    correction = entries[-1]
    assert correction["eventType"] == "EntryCorrected"
    assert correction["amends"] == placed["version"]
    assert f"entry {placed['version']} corrected" in correction["summary"].lower()
    assert "credible-fear" in " ".join(e["summary"] for e in entries).lower()
    assert "NEGATIVE" not in " ".join(e["summary"] for e in entries).upper().replace(
        "NEGATIVE_", ""
    )
