"""Over HTTP, every text a mutation takes is refused with a typed error or read back as stored."""

from __future__ import annotations

import json
import unicodedata
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.scenarios.graphql import ADD, FAMILY, OPEN, RESULT, TIMELINE, WHEN, Client, ok

pytestmark = pytest.mark.e2e

TEXT = settings(
    max_examples=30,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
# What breaks text: NUL and other controls, lone surrogates, decomposed accents, bidi
# overrides, line breaks, and lengths about the limits; mixed with any text at all.
AWKWARD = st.sampled_from(
    ["\x00", "\ud800", "\udfff", "\x1b", "\t", "\n", "\r\n", "\u202e", "e\u0301", " ", "a", "Ñ"]
)
TEXTS = st.one_of(
    st.text(max_size=30),
    st.lists(AWKWARD, max_size=12).map("".join),
    st.builds(lambda c, n: c * n, AWKWARD, st.sampled_from([199, 200, 201, 500, 501])),
)
FLAG = f"""mutation($input: FlagDataQualityInput!, $key: String, $p: ProvenanceInput) {{
  flagDataQuality(input: $input, idempotencyKey: $key, provenance: $p) {{ {RESULT} }} }}"""
FLAGS = """query($id: UUID!, $pos: Int) { family(id: $id, minPosition: $pos) {
  dataQualityFlags { rule detail } } }"""


async def send(client: Client, query: str, **variables: Any) -> dict[str, Any]:
    """The mutation's result; the body is ASCII JSON, so a lone surrogate travels as \\udXXX."""
    body = json.dumps({"query": query, "variables": variables})
    response = await client.http.post(
        "/graphql", content=body, headers={**client.headers, "Content-Type": "application/json"}
    )
    data = response.json()
    assert response.status_code == 200 and "errors" not in data, data
    result: dict[str, Any] = next(iter(data["data"].values()))
    return result


def stored(value: str) -> str:
    return unicodedata.normalize("NFC", value.strip().replace("\r\n", "\n"))


def refused_or(result: dict[str, Any], field: str | None) -> bool:
    """True if the command was recorded; a refusal must be the typed ValidationError."""
    if result["__typename"] == "CommandSuccess":
        return True
    assert result["__typename"] == "ValidationError", result
    assert result["field"] == field, result
    return False


async def opened(client: Client) -> str:
    input = {"caseNumber": "C-1", "occurredAt": WHEN, "source": "intake"}
    return str((await ok(client, OPEN, input=input))["familyId"])


@TEXT
@given(value=TEXTS)
async def test_a_case_number_is_refused_or_read_back_as_stored(
    caseworker: Client, value: str
) -> None:
    input = {"caseNumber": value, "occurredAt": WHEN, "source": "intake"}
    result = await send(caseworker, OPEN, input=input)
    if refused_or(result, "caseNumber"):
        family = await caseworker.run(FAMILY, id=result["familyId"], pos=result["position"])
        assert family["family"]["caseNumber"] == stored(value)


@TEXT
@given(value=TEXTS)
async def test_a_name_is_refused_or_read_back_as_stored(caseworker: Client, value: str) -> None:
    fid = await opened(caseworker)
    input = {"familyId": fid, "role": "PARENT", "sex": "FEMALE", "name": value, "occurredAt": WHEN}
    result = await send(caseworker, ADD, input=input)
    if refused_or(result, "name"):
        family = await caseworker.run(FAMILY, id=fid, pos=result["position"])
        assert [m["name"] for m in family["family"]["members"]] == [stored(value)]


@TEXT
@given(rule=TEXTS, detail=TEXTS, key=TEXTS, source=TEXTS, reason=TEXTS)
async def test_flag_texts_keys_and_provenance_are_refused_or_read_back_as_stored(
    caseworker: Client, rule: str, detail: str, key: str, source: str, reason: str
) -> None:
    fid = await opened(caseworker)
    input = {"familyId": fid, "aboutVersion": 1, "rule": rule, "detail": detail, "occurredAt": WHEN}
    result = await send(
        caseworker, FLAG, input=input, key=key, p={"source": source, "reason": reason}
    )
    fields = ("rule", "detail", "idempotencyKey", "provenance.source", "provenance.reason")
    if result["__typename"] != "CommandSuccess":
        assert result["__typename"] == "ValidationError", result
        assert result["field"] in (*fields, None), result
        return
    family = await caseworker.run(FLAGS, id=fid, pos=result["position"])
    assert family["family"]["dataQualityFlags"] == [
        {"rule": stored(rule), "detail": stored(detail)}
    ]
    entries = (await caseworker.run(TIMELINE_ALL, id=fid, pos=result["position"]))["timeline"]
    flagged = entries["edges"][-1]["node"]
    assert flagged["source"] == (stored(source) or "graphql:flagDataQuality")
    assert flagged["reason"] == (stored(reason) or None)


TIMELINE_ALL = TIMELINE.replace("first: 3", "first: 10").replace("source }", "source reason }")


async def test_a_case_number_with_a_nul_is_refused_and_nothing_is_appended(
    caseworker: Client,
) -> None:
    input = {"caseNumber": "A\x00B", "occurredAt": WHEN, "source": "intake"}
    result = await send(caseworker, OPEN, input=input)
    assert (result["__typename"], result["field"]) == ("ValidationError", "caseNumber")
    assert "U+0000" in result["message"]


async def test_a_provenance_reason_with_a_lone_surrogate_is_a_typed_error_not_a_masked_one(
    caseworker: Client,
) -> None:
    fid = await opened(caseworker)
    input = {"familyId": fid, "aboutVersion": 1, "rule": "r", "detail": "d", "occurredAt": WHEN}
    result = await send(caseworker, FLAG, input=input, p={"reason": "why\ud800"})
    assert (result["__typename"], result["field"]) == ("ValidationError", "provenance.reason")


async def test_an_idempotency_key_with_a_lone_surrogate_on_open_case_is_a_typed_error(
    caseworker: Client,
) -> None:
    input = {"caseNumber": "C-2", "occurredAt": WHEN, "source": "intake"}
    result = await send(caseworker, OPEN, input=input, key="k\ud800")
    assert (result["__typename"], result["field"]) == ("ValidationError", "idempotencyKey")
