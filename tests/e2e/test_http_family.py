"""A caseworker records a separation and a reunification over HTTP and reads it back."""

from __future__ import annotations

import httpx
import pytest

from service.access.auth import Role
from service.settings import Settings
from tests.scenarios.graphql import (
    ADD,
    ADD_KEYED,
    FAMILY,
    OPEN,
    OPEN_AT,
    PLACE,
    REUNIFY,
    SEPARATE,
    TIMELINE,
    WHEN,
    Client,
    ok,
    open_family,
    token,
)

pytestmark = pytest.mark.e2e


async def test_separation_to_reunification_reads_back_fresh(caseworker: Client) -> None:
    fid, mother, son, _ = await open_family(caseworker)
    sep = {
        "familyId": fid,
        "parentId": mother,
        "childId": son,
        "reason": "ZERO_TOLERANCE",
        "place": {"kind": "PORT_OF_ENTRY", "name": "San Ysidro"},
        "occurredAt": WHEN,
    }
    await ok(caseworker, SEPARATE, input=sep, v=4)
    placed = await ok(
        caseworker,
        PLACE,
        input={
            "familyId": fid,
            "childId": son,
            "programType": "SHELTER",
            "occurredAt": WHEN,
            "facility": {"id": "casa-padre", "name": "Casa Padre", "state": "TX"},
        },
    )
    family = (await caseworker.run(FAMILY, id=fid, pos=placed["position"]))["family"]
    assert family["status"] == "separated"
    assert [m["facilityName"] for m in family["members"]] == [None, "Casa Padre"]
    done = await ok(
        caseworker,
        REUNIFY,
        input={"familyId": fid, "childId": son, "parentId": mother, "occurredAt": WHEN},
    )
    family = (await caseworker.run(FAMILY, id=fid, pos=done["position"]))["family"]
    assert family["status"] == "reunified" and family["version"] == 7

    first = (await caseworker.run(TIMELINE, id=fid, pos=done["position"]))["timeline"]
    assert [e["node"]["eventType"] for e in first["edges"]] == [
        "CaseOpened",
        "MemberAdded",
        "MemberAdded",
    ]
    assert first["edges"][0]["node"]["actor"] == "maria.lopez"
    assert first["edges"][0]["node"]["role"] == "caseworker"
    rest = await caseworker.run(TIMELINE, id=fid, after=first["pageInfo"]["endCursor"])
    assert [e["node"]["version"] for e in rest["timeline"]["edges"]] == [4, 5, 6]
    assert (
        "Beto (child) separated from Ana (parent)"
        in (rest["timeline"]["edges"][1]["node"]["summary"])
    )


async def test_bad_input_is_a_typed_error_and_writes_nothing(caseworker: Client) -> None:
    fid, mother, son, position = await open_family(caseworker)
    cases = [
        (
            ADD,
            {"familyId": fid, "role": "PARENT", "sex": "MALE", "name": " ", "occurredAt": WHEN},
            "ValidationError",
        ),
        (
            ADD,
            {
                "familyId": fid,
                "role": "PARENT",
                "sex": "MALE",
                "aNumber": "A12",
                "occurredAt": WHEN,
            },
            "ValidationError",
        ),
        (
            ADD,
            {
                "familyId": fid,
                "role": "PARENT",
                "sex": "MALE",
                "occurredAt": "2999-01-01T00:00:00+00:00",
            },
            "ValidationError",
        ),
        (
            REUNIFY,
            {"familyId": fid, "childId": son, "parentId": son, "occurredAt": WHEN},
            "InvariantViolation",
        ),
        (
            REUNIFY,
            {
                "familyId": "00000000-0000-0000-0000-000000000001",
                "childId": son,
                "parentId": mother,
                "occurredAt": WHEN,
            },
            "NotFound",
        ),
    ]
    for mutation, data, expected in cases:
        result = next(iter((await caseworker.run(mutation, input=data)).values()))
        assert result["__typename"] == expected, (data, result)
        assert result["message"]
    stale = {
        "familyId": fid,
        "parentId": mother,
        "childId": son,
        "reason": "OTHER",
        "place": {"kind": "SECTOR", "name": "El Paso"},
        "occurredAt": WHEN,
    }
    result = (await caseworker.run(SEPARATE, input=stale, v=2))["recordSeparation"]
    assert result["__typename"] == "VersionConflict"
    family = (await caseworker.run(FAMILY, id=fid, pos=position))["family"]
    assert family["version"] == 4
    head = await caseworker.http.get("/health")
    assert head.json()["head"] == position


async def test_refusals_that_need_the_case_as_it_stands_write_nothing(caseworker: Client) -> None:
    fid, _, son, _ = await open_family(caseworker)
    uncle = {"familyId": fid, "role": "PARENT", "sex": "MALE", "name": "Tio", "occurredAt": WHEN}
    uncle_id = (await ok(caseworker, ADD, input=uncle))["createdId"]
    head = (await caseworker.http.get("/health")).json()["head"]

    unlinked = {"familyId": fid, "childId": son, "parentId": uncle_id, "occurredAt": WHEN}
    refused = (await caseworker.run(REUNIFY, input=unlinked))["recordReunification"]
    assert refused["__typename"] == "InvariantViolation"
    assert refused["message"] == f"no relationship links parent {uncle_id} to child {son}"

    case = {"caseNumber": "C-300", "occurredAt": WHEN, "source": "intake form"}
    versioned = (await caseworker.run(OPEN_AT, input=case, v=3))["openCase"]
    assert versioned["__typename"] == "VersionConflict"
    assert versioned["message"].startswith("a new case has no version yet, not 3")
    assert (await caseworker.http.get("/health")).json()["head"] == head


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("role", "UNCLE", "Value 'UNCLE' does not exist in 'MemberRole' enum"),
        ("personId", "x", 'Value cannot represent a UUID: "x"'),
        ("occurredAt", "2018-13-45T00:00:00Z", "Value cannot represent a DateTime"),
    ],
)
async def test_a_bad_variable_is_named_in_the_error_and_writes_nothing(
    caseworker: Client, field: str, value: str, says: str
) -> None:
    fid, *_ = await open_family(caseworker)
    head = (await caseworker.http.get("/health")).json()["head"]
    member = {"familyId": fid, "role": "CHILD", "sex": "MALE", "name": "Beto", "occurredAt": WHEN}
    response = await caseworker.post(ADD, input={**member, field: value})
    [error] = response.json()["errors"]
    # Sent as variables, as every HTTP client does: the caller reads what was wrong.
    assert says in error["message"] and f".{field}" in error["message"]
    assert (await caseworker.http.get("/health")).json()["head"] == head


async def test_retried_command_answers_the_first_result(caseworker: Client) -> None:
    data = {
        "caseNumber": "C-200",
        "occurredAt": WHEN,
        "source": "intake form",
        "familyId": "6f1c3a52-5d0f-4b59-9a43-0e5b1b7f1c11",
    }
    first = await ok(caseworker, OPEN, input=data, key="open-C-200")
    again = await ok(caseworker, OPEN, input=data, key="open-C-200")
    assert (again["position"], again["duplicate"]) == (first["position"], True)


async def test_a_retry_answers_the_ids_its_first_attempt_created(caseworker: Client) -> None:
    case = {"caseNumber": "C-201", "occurredAt": WHEN, "source": "intake form"}
    opened = [await ok(caseworker, OPEN, input=case, key="open-C-201") for _ in range(2)]
    assert opened[0]["createdId"] == opened[1]["createdId"] == opened[0]["familyId"]
    assert opened[1]["familyId"] == opened[0]["familyId"] and opened[1]["duplicate"]
    fid = opened[0]["familyId"]
    member = {"familyId": fid, "role": "CHILD", "sex": "MALE", "name": "Beto", "occurredAt": WHEN}
    added = [await ok(caseworker, ADD_KEYED, input=member, key="add-beto") for _ in range(2)]
    assert added[0]["createdId"] == added[1]["createdId"] and added[1]["duplicate"]
    family = (await caseworker.run(FAMILY, id=fid, pos=added[0]["position"]))["family"]
    assert [m["personId"] for m in family["members"]] == [added[0]["createdId"]]


async def test_a_blank_key_is_no_key_and_a_padded_one_is_the_key_trimmed(
    caseworker: Client,
) -> None:
    case = {"caseNumber": "C-203", "occurredAt": WHEN, "source": "intake form"}
    blank = [await ok(caseworker, OPEN, input=case, key="  ") for _ in range(2)]
    assert blank[0]["familyId"] != blank[1]["familyId"] and not blank[1]["duplicate"]
    padded = await ok(caseworker, OPEN, input=case, key=" open-C-203 ")
    trimmed = await ok(caseworker, OPEN, input=case, key="open-C-203")
    assert trimmed["duplicate"] and trimmed["createdId"] == padded["createdId"]


async def test_another_caller_reusing_a_key_is_refused_not_answered(
    caseworker: Client, http: httpx.AsyncClient, server_settings: Settings
) -> None:
    case = {"caseNumber": "C-202", "occurredAt": WHEN, "source": "intake form"}
    await ok(caseworker, OPEN, input=case, key="open-C-202")
    other = Client(http, token(server_settings, Role.CASEWORKER, subject="someone.else"))
    refused = next(iter((await other.run(OPEN, input=case, key="open-C-202")).values()))
    assert refused["__typename"] == "ValidationError"
    assert "already used for a different command" in refused["message"]


async def test_requests_without_a_valid_token_get_401(http: httpx.AsyncClient) -> None:
    anonymous = await http.post("/graphql", json={"query": "{ __typename }"})
    assert anonymous.status_code == 401
    forged = await http.post(
        "/graphql",
        json={"query": "{ __typename }"},
        headers={"Authorization": "Bearer not.a.token"},
    )
    assert forged.status_code == 401
    assert (await http.get("/health")).status_code == 200
