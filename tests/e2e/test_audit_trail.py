"""An auditor over HTTP: a filtered timeline, the case at two clocks, a diff, a verification,
and the court report as it was known when the figures were given."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from service.access.auth import Role
from service.ledger.checkpoints import CheckpointTaker
from service.ledger.keys import Signer
from service.postgres.database import Database
from service.settings import Settings
from tests.scenarios.graphql import (
    PLACE,
    RESULT,
    REUNIFY,
    SEPARATE,
    WHEN,
    Client,
    ok,
    open_family,
    token,
)
from tests.scenarios.ledger import settled

pytestmark = pytest.mark.e2e

SIGNER = Signer.from_private_key(Ed25519PrivateKey.generate())

CORRECT = f"""mutation($input: CorrectEntryInput!) {{
  correctEntry(input: $input) {{ {RESULT} }} }}"""
TIMELINE = """query($id: UUID!, $filter: TimelineFilter, $pos: Int) {
  timeline(familyId: $id, filter: $filter, minPosition: $pos) {
    edges { node { version eventType recordedAt amends amendedBy } } } }"""
AS_OF = """query($id: UUID!, $recordedAt: DateTime, $occurredAt: Date) {
  familyAsOf(id: $id, recordedAt: $recordedAt, occurredAt: $occurredAt) {
    status version eventsRecorded eventsCounted
    children { name age ageBand status facilityName separatedFrom parentSituation }
    parents { name situation } members { name role } } }"""
DIFF = """query($id: UUID!, $from: CasePoint!, $to: CasePoint!) {
  familyDiff(id: $id, from: $from, to: $to) {
    case { field before after }
    members { name presentBefore changes { field before after } }
    events { version eventType summary actor amends }
    withdrawn { version } } }"""
VERIFY = """query($id: UUID!) { verifyFamily(id: $id) {
  ok events proven unproven checkpoint { id } firstBreak { version what } } }"""
REPORT = """query($asOf: Date!, $knownAt: DateTime, $pos: Int) {
  courtReport(asOf: $asOf, knownAt: $knownAt, minPosition: $pos) {
    children { total under5 from5To17 }
    discharged { reunifiedWithSeparatedParent { total } }
    inCare { total { total } } } }"""
FULL_TIMELINE = """query($id: UUID!, $pos: Int) {
  timeline(familyId: $id, minPosition: $pos) { edges { node {
    version eventType summary occurredAt recordedAt actor role source reason
    correlationId causationId } } } }"""
ATTEMPT = f"""mutation($input: AttemptLocationInput!, $prov: ProvenanceInput) {{
  attemptLocation(input: $input, provenance: $prov) {{ {RESULT} }} }}"""
ACCESS = """query($id: UUID!) { accessLog(familyId: $id) { edges { node { operation } } } }"""


@pytest.fixture
def auditor(http: httpx.AsyncClient, server_settings: Settings) -> Client:
    return Client(http, token(server_settings, Role.AUDITOR, "ines.auditor"))


async def a_family_in_care(caseworker: Client) -> tuple[str, str, str, int]:
    """Ana and Beto (4), separated and Beto placed at Casa Padre: versions 1 to 6."""
    fid, mother, son, _ = await open_family(caseworker)
    place = {"kind": "PORT_OF_ENTRY", "name": "San Ysidro"}
    separation = {"familyId": fid, "parentId": mother, "childId": son, "reason": "ZERO_TOLERANCE"}
    await ok(caseworker, SEPARATE, input={**separation, "place": place, "occurredAt": WHEN})
    facility = {"id": "casa-padre", "name": "Casa Padre", "state": "TX"}
    placement = {"familyId": fid, "childId": son, "programType": "SHELTER", "facility": facility}
    placed = await ok(caseworker, PLACE, input={**placement, "occurredAt": WHEN})
    return fid, mother, son, placed["position"]


async def learned_later(caseworker: Client, fid: str, mother: str, son: str) -> int:
    """Beto was 6, not 4 (version 7), and had been reunified on 1 June (version 8)."""
    await ok(
        caseworker,
        CORRECT,
        input={
            "familyId": fid,
            "version": 3,
            "changes": [{"field": "age", "value": 6}],
            "reason": "birth record",
            "occurredAt": "2018-08-01T12:00:00+00:00",
        },
    )
    reunification = {"familyId": fid, "childId": son, "parentId": mother}
    reunified = await ok(
        caseworker, REUNIFY, input={**reunification, "occurredAt": "2018-06-01T15:00:00+00:00"}
    )
    return int(reunified["position"])


def nodes(data: dict[str, Any], field: str) -> list[dict[str, Any]]:
    return [e["node"] for e in data[field]["edges"]]


async def test_an_auditor_filters_the_timeline_by_member_and_by_event_type(
    caseworker: Client, auditor: Client
) -> None:
    fid, mother, son, _ = await a_family_in_care(caseworker)
    position = await learned_later(caseworker, fid, mother, son)

    async def versions(**flt: Any) -> list[int]:
        data = await auditor.run(TIMELINE, id=fid, filter=flt, pos=position)
        return [n["version"] for n in nodes(data, "timeline")]

    assert await versions(memberId=son) == [3, 4, 5, 6, 7, 8]
    assert await versions(memberId=mother) == [2, 4, 5, 8]
    assert await versions(eventTypes=["Separated", "EntryCorrected"]) == [5, 7]
    assert await versions(memberId=mother, eventTypes=["MemberAdded"]) == [2]
    assert await versions() == list(range(1, 9))
    refused = (await auditor.post(TIMELINE, id=fid, filter={"eventTypes": ["Kidnapped"]})).json()
    assert refused["errors"][0]["extensions"]["code"] == "BAD_FILTER"
    assert "Kidnapped" in refused["errors"][0]["message"]


async def test_an_auditor_sees_the_case_as_known_then_and_the_world_on_a_date_as_known_now(
    caseworker: Client, auditor: Client
) -> None:
    fid, mother, son, position = await a_family_in_care(caseworker)
    timeline = nodes(await auditor.run(TIMELINE, id=fid, pos=position), "timeline")
    known_then = timeline[-1]["recordedAt"]
    await learned_later(caseworker, fid, mother, son)

    then = (await auditor.run(AS_OF, id=fid, recordedAt=known_then))["familyAsOf"]
    now = (await auditor.run(AS_OF, id=fid))["familyAsOf"]
    on_31_may = (await auditor.run(AS_OF, id=fid, occurredAt="2018-05-31"))["familyAsOf"]

    assert (then["status"], then["version"], then["eventsRecorded"]) == ("separated", 6, 6)
    assert then["children"] == [
        {
            "name": "Beto",
            "age": 4,
            "ageBand": "UNDER_5",
            "status": "IN_CARE",
            "facilityName": "Casa Padre",
            "separatedFrom": mother,
            "parentSituation": "LOCATION_UNKNOWN",
        }
    ]
    assert [m["role"] for m in then["members"]] == ["parent", "child"]
    assert (now["status"], now["version"], now["eventsCounted"]) == ("reunified", 8, 7)
    assert [(c["age"], c["status"]) for c in now["children"]] == [(6, "REUNIFIED")]
    assert [(c["age"], c["status"]) for c in on_31_may["children"]] == [(6, "IN_CARE")]
    before_anything = "2000-01-01T00:00:00+00:00"
    assert (await auditor.run(AS_OF, id=fid, recordedAt=before_anything))["familyAsOf"] is None

    log = nodes(await auditor.run(ACCESS, id=fid), "accessLog")
    assert any("familyAsOf" in entry["operation"] for entry in log)


async def test_an_auditor_diffs_two_moments_and_reads_what_made_the_difference(
    caseworker: Client, auditor: Client
) -> None:
    fid, mother, son, position = await a_family_in_care(caseworker)
    timeline = nodes(await auditor.run(TIMELINE, id=fid, pos=position), "timeline")
    await learned_later(caseworker, fid, mother, son)

    diff = (
        await auditor.run(
            DIFF, id=fid, **{"from": {"recordedAt": timeline[-1]["recordedAt"]}}, to={}
        )
    )["familyDiff"]

    assert {c["field"]: (c["before"], c["after"]) for c in diff["case"]} == {
        "status": ("separated", "reunified"),
        "separated": ("1", "0"),
        "version": ("6", "8"),
    }
    [beto] = diff["members"]
    changes = {c["field"]: (c["before"], c["after"]) for c in beto["changes"]}
    assert beto["name"] == "Beto" and beto["presentBefore"]
    assert changes["age"] == ("4", "6") and changes["age_band"] == ("0-4", "5-17")
    assert changes["status"] == ("in_care", "reunified")
    assert [(e["version"], e["eventType"], e["amends"]) for e in diff["events"]] == [
        (7, "EntryCorrected", 3),
        (8, "Reunified", None),
    ]
    assert diff["events"][1]["summary"] == "Beto (child) reunified with Ana (parent)"
    assert diff["withdrawn"] == []


async def test_an_auditor_verifies_a_family_and_an_unknown_one_is_null(
    caseworker: Client, auditor: Client
) -> None:
    fid, *_ = await a_family_in_care(caseworker)

    verified = (await auditor.run(VERIFY, id=fid))["verifyFamily"]
    unknown = await auditor.run(VERIFY, id="00000000-0000-4000-8000-000000000009")

    assert verified["ok"] is True and verified["firstBreak"] is None
    assert verified["events"] == 6 == verified["proven"] + verified["unproven"]
    assert unknown["verifyFamily"] is None


async def test_a_family_is_proven_against_a_signed_checkpoint_over_http(
    caseworker: Client, auditor: Client, database: Database
) -> None:
    fid, *_ = await a_family_in_care(caseworker)
    await settled(database.pool)
    checkpoint = await CheckpointTaker(database.pool, SIGNER).take()
    assert checkpoint is not None

    verified = (await auditor.run(VERIFY, id=fid))["verifyFamily"]

    assert verified["ok"] is True and verified["firstBreak"] is None
    assert (verified["events"], verified["proven"], verified["unproven"]) == (6, 6, 0)
    assert verified["checkpoint"] == {"id": checkpoint.id}


async def test_each_timeline_entry_says_who_recorded_it_when_why_and_in_answer_to_what(
    caseworker: Client, auditor: Client
) -> None:
    fid, mother, *_ = await a_family_in_care(caseworker)
    correlation, causation = str(uuid4()), str(uuid4())
    provenance = {
        "source": "ORR call log",
        "reason": "mother located by phone",
        "correlationId": correlation,
        "causationId": causation,
    }
    done = await ok(
        caseworker,
        ATTEMPT,
        input={
            "familyId": fid,
            "parentId": mother,
            "method": "phone",
            "outcome": "FOUND",
            "byWhom": "ORR",
            "occurredAt": "2018-07-02T15:30:00+00:00",
        },
        prov=provenance,
    )
    entries = nodes(await auditor.run(FULL_TIMELINE, id=fid, pos=done["position"]), "timeline")
    last = entries[-1]
    assert last["version"] == done["version"]
    assert (last["actor"], last["role"]) == ("maria.lopez", "caseworker")
    assert (last["source"], last["reason"]) == ("ORR call log", "mother located by phone")
    assert (last["correlationId"], last["causationId"]) == (correlation, causation)
    assert last["occurredAt"] == "2018-07-02T15:30:00+00:00"
    assert last["recordedAt"] > entries[0]["recordedAt"]
    assert "Ana (parent)" in last["summary"]
    # Without provenance the source names the operation, and there is no reason.
    assert entries[0]["reason"] is None and entries[0]["source"] == "graphql:openCase"


async def test_the_court_report_as_known_then_reproduces_the_figures_given_then(
    caseworker: Client, auditor: Client
) -> None:
    fid, mother, son, position = await a_family_in_care(caseworker)
    given = (await auditor.run(REPORT, asOf="2018-07-26", pos=position))["courtReport"]
    timeline = nodes(await auditor.run(TIMELINE, id=fid, pos=position), "timeline")
    known_then = timeline[-1]["recordedAt"]
    later = await learned_later(caseworker, fid, mother, son)

    again = (await auditor.run(REPORT, asOf="2018-07-26", knownAt=known_then))["courtReport"]
    now = (await auditor.run(REPORT, asOf="2018-07-26", pos=later))["courtReport"]

    assert again == given
    assert now["children"]["under5"] == given["children"]["under5"] - 1
    assert now["children"]["from5To17"] == given["children"]["from5To17"] + 1
    assert now["inCare"]["total"]["total"] == given["inCare"]["total"]["total"] - 1
    reunified = now["discharged"]["reunifiedWithSeparatedParent"]["total"]
    assert reunified == given["discharged"]["reunifiedWithSeparatedParent"]["total"] + 1


async def test_time_travel_is_for_auditors_only(caseworker: Client) -> None:
    fid, *_ = await a_family_in_care(caseworker)
    for query in (AS_OF, VERIFY):
        body = (await caseworker.post(query, id=fid)).json()
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        assert not any((body["data"] or {}).values())
