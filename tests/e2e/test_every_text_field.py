"""No text field of any mutation records a NUL: each is found in the schema, not listed by hand."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import httpx
import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
)

from schema.build import create_schema
from service.access.auth import Role
from service.settings import Settings
from tests.scenarios.graphql import OPEN, RESULT, WHEN, Client, ok, token

pytestmark = pytest.mark.e2e

POISON = "A\x00B"
SCALARS = {"UUID": None, "DateTime": WHEN, "Date": "2018-05-01", "Int": 4, "Boolean": False}


# Text fields with a format of their own; any other takes plain text.
FORMATTED = {"country": "GT", "state": "TX", "aNumber": "A012345678"}


def valid(kind: GraphQLInputType, name: str = "") -> Any:
    """A value of the type that GraphQL accepts (the command may still refuse it)."""
    if isinstance(kind, GraphQLNonNull):
        return valid(kind.of_type, name)
    if isinstance(kind, GraphQLList):
        return [valid(kind.of_type, name)]
    if isinstance(kind, GraphQLEnumType):
        return next(iter(kind.values))
    if isinstance(kind, GraphQLInputObjectType):
        return {field: valid(f.type, field) for field, f in kind.fields.items()}
    assert isinstance(kind, GraphQLScalarType)
    if kind.name == "UUID":
        return str(uuid4())
    return SCALARS.get(kind.name, FORMATTED.get(name, "text"))


def text_paths(kind: GraphQLInputType, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every String field inside an input type, as a path of field names."""
    while isinstance(kind, (GraphQLNonNull, GraphQLList)):
        kind = kind.of_type
    if isinstance(kind, GraphQLInputObjectType):
        return [p for name, f in kind.fields.items() for p in text_paths(f.type, (*path, name))]
    return [path] if isinstance(kind, GraphQLScalarType) and kind.name == "String" else []


def poisoned(value: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    head, *rest = path
    inner = value[head]
    if isinstance(inner, list):
        inner = inner[0]
    return {**value, head: POISON if not rest else poisoned(inner, tuple(rest))}


def cases() -> list[tuple[str, str, tuple[str, ...]]]:
    mutation = create_schema()._schema.mutation_type
    assert mutation is not None
    found = []
    for name, field in mutation.fields.items():
        for argument, arg in field.args.items():
            found += [(name, argument, path) for path in text_paths(arg.type)]
    return found


async def test_the_schema_has_the_text_fields_this_test_walks() -> None:
    walked = {(m, a, p) for m, a, p in cases()}
    assert ("openCase", "input", ("caseNumber",)) in walked
    assert ("addMember", "idempotencyKey", ()) in walked
    assert ("recordPlacement", "input", ("facility", "name")) in walked
    assert len(walked) > 80


async def test_a_nul_in_any_text_field_of_any_mutation_is_never_recorded(
    caseworker: Client, http: httpx.AsyncClient, server_settings: Settings
) -> None:
    # Erasure is an admin's command; every other one a caseworker's.
    callers = {"erasePersonalData": Client(http, token(server_settings, Role.ADMIN))}
    opened = await ok(
        caseworker, OPEN, input={"caseNumber": "C-1", "occurredAt": WHEN, "source": "intake"}
    )
    family_id = str(opened["familyId"])
    mutation = create_schema()._schema.mutation_type
    assert mutation is not None
    for name, argument, path in cases():
        args = mutation.fields[name].args
        variables = {
            a: valid(arg.type) for a, arg in args.items() if isinstance(arg.type, GraphQLNonNull)
        }
        if "input" in variables and "familyId" in variables["input"]:
            variables["input"]["familyId"] = family_id
        if path:
            base = variables.get(argument) or valid(args[argument].type)
            variables[argument] = poisoned(base, path)
        else:
            variables[argument] = POISON
        declared = ", ".join(f"${a}: {arg.type}" for a, arg in args.items() if a in variables)
        passed = ", ".join(f"{a}: ${a}" for a in variables)
        query = f"mutation({declared}) {{ {name}({passed}) {{ {RESULT} }} }}"
        response = await callers.get(name, caseworker).post(query, **variables)
        body = response.json()
        where = f"{name}({argument}{'.' + '.'.join(path) if path else ''})"
        assert "errors" not in body, (where, body)
        result = body["data"][name]
        assert result["__typename"] != "CommandSuccess", f"{where} recorded a NUL"
        if path[-1:] == ("field",):  # the name of the field a correction changes: unknown
            continue
        named = (path or (argument,))[-1]
        assert result["__typename"] == "ValidationError", (where, result)
        assert result["field"].split(".")[-1] == named, (where, result)
        assert "\x00" not in result["message"], where  # refusals never echo the input
