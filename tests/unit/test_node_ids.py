"""Global ids (schema/node.py): opaque base64 of a type and its key, refused when not ours;
and what a page asked backwards, or a list of ids, costs."""

from __future__ import annotations

import base64
from uuid import UUID

import pytest
from graphql import parse

from schema.build import create_schema
from schema.cost import estimate
from schema.errors import PublicError
from schema.node import global_id, parse_global_id

CHILD = UUID("6f1c2a3e-1111-4222-8333-444455556666")


def test_an_id_is_the_base64_of_its_type_and_key() -> None:
    assert global_id("Child", CHILD) == base64.urlsafe_b64encode(f"Child:{CHILD}".encode()).decode()
    assert parse_global_id(global_id("Child", CHILD)) == ("Child", [str(CHILD)])
    assert parse_global_id(global_id("TimelineEntry", CHILD, 24)) == (
        "TimelineEntry",
        [str(CHILD), "24"],
    )
    # A facility's key is the source's own text, whatever it holds.
    assert parse_global_id(global_id("Facility", "bcfs: harlingen")) == (
        "Facility",
        ["bcfs: harlingen"],
    )


@pytest.mark.parametrize(
    "value",
    ["", "!!", "Q2hpbGQ", base64.b64encode(b"Nope:1").decode(), global_id("Member", CHILD)],
)
def test_anything_else_is_refused_with_its_code(value: str) -> None:
    with pytest.raises(PublicError) as refused:
        parse_global_id(value)
    assert refused.value.extensions == {"code": "BAD_NODE_ID"}


def test_a_backward_page_and_a_list_of_ids_cost_as_many_rows() -> None:
    schema = create_schema()._schema

    def cost(query: str) -> int:
        found = estimate(schema, parse(query), None, {})
        assert found is not None
        return found.cost

    page = "{ children(%s) { edges { node { childId facility { facilityId } } } } }"
    assert cost(page % "last: 40") == cost(page % "first: 40") == 1 + 40 * 3
    ids = ", ".join(f'"{global_id("Child", CHILD)}"' for _ in range(30))
    assert (
        cost(f"{{ nodes(ids: [{ids}]) {{ id ... on Child {{ facility {{ facilityId }} }} }} }}")
        == 1 + 30 * 1
    )
