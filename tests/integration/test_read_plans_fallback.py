"""What a plan does not answer is executed, and answered as before: operations it does not
cover, refusals, rows execution answers with an error, and an outage (answered without
executing again)."""

from __future__ import annotations

from typing import Any

import pytest

from service.access.auth import Identity, Role
from service.application.container import Container
from tests.scenarios.counsel import World, build_world
from tests.scenarios.plans import both, everyone, same

pytestmark = pytest.mark.integration

# Executed whatever the role: not covered by any plan, and answered as before.
UNCOVERED: list[tuple[str, dict[str, Any]]] = [
    ("{ families(first: 2) { edges { node { dataQualityFlags { rule } } } } }", {}),
    ("{ families(first: 2) { edges { node { counselOfRecord { counsel } } } } }", {}),
    ("{ children(first: 2, minPosition: 1) { edges { node { childId } } } }", {}),
    ("{ children(first: 2) { edges { node { childId @include(if: true) } } } }", {}),
    ("{ children(first: 2) { totalCount } projectionStatus { name } }", {}),
    (
        "query($id: UUID!) { timeline(familyId: $id, minPosition: 1) { pageInfo { endCursor } } }",
        {},
    ),
]

# Refused by the resolver: the plan falls back, and the refusal is the executed one.
REFUSED: list[tuple[str, dict[str, Any]]] = [
    ("{ children(first: 101) { edges { node { childId } } } }", {}),
    ("{ children(first: 0) { totalCount } }", {}),
    ('{ children(first: 2, after: "bad") { edges { cursor } } }', {}),
    ('{ children(first: 2, after: "x", before: "y", last: 1) { totalCount } }', {}),
    ('{ families(first: 2, search: "a\\u0000b") { edges { cursor } } }', {}),
]


@pytest.fixture
async def world(container: Container) -> World:
    return await build_world(container)


async def test_what_plans_do_not_cover_is_executed(container: Container, world: World) -> None:
    family = str(world.cases["ana"].family_id)
    for identity in everyone(world):
        for query, variables in UNCOVERED:
            if "$id" in query:
                variables = {"id": family}
            assert not await same(container, identity, query, **variables), query


async def test_refusals_are_the_executed_ones(container: Container, world: World) -> None:
    for identity in everyone(world):
        for query, variables in REFUSED:
            executed, planned = await both(container, identity, query, **variables)
            assert planned.text == executed.text
            # Refused (an auditor may ask for 101): executed, so refused as before.
            assert planned.planned is ('"errors"' not in executed.text)


async def test_rows_execution_answers_with_an_error_are_executed(
    container: Container, world: World
) -> None:
    """A null where GraphQL wants a value, or a value its enum does not know (a read
    model written by hand, say): the plan falls back, and the error is the executed one."""
    pool = container.database.pool
    child, parent = world.cases["bea"].child, world.cases["bea"].parent
    caseworker = Identity("jo", Role.CASEWORKER)
    query = """{ children(first: 10) { edges { node { childId status
      facility { facilityName } parents { parentId situation } } } } }"""
    assert await same(container, caseworker, query)
    for corrupt in (
        "UPDATE child_case SET facility_name = NULL WHERE child_id = $1",
        "UPDATE child_case SET status = 'lost' WHERE child_id = $1",
        "UPDATE parent_case SET situation = 'lost' WHERE parent_id = $2",
    ):
        await pool.execute(corrupt.replace("$2", "$1"), parent if "$2" in corrupt else child)
        executed, planned = await both(container, caseworker, query)
        assert not planned.planned, corrupt
        assert planned.text == executed.text and '"errors"' in executed.text


async def test_a_broken_element_of_a_nested_list_alone_is_executed(
    container: Container, world: World
) -> None:
    """Only a parent under a child broken (found in the row's JSON, not by a second
    look-up): a page and the child by id both fall back, and answer the executed error."""
    case = world.cases["ana"]
    caseworker = Identity("jo", Role.CASEWORKER)
    parents = "parents { parentId situation }"
    page = f"{{ children(first: 10) {{ edges {{ node {{ childId {parents} }} }} }} }}"
    one = f"query($id: UUID!) {{ child(id: $id) {{ childId {parents} }} }}"
    assert await same(container, caseworker, page)
    assert await same(container, caseworker, one, id=str(case.child))
    await container.database.pool.execute(
        "UPDATE parent_case SET situation = 'lost' WHERE parent_id = $1", case.parent
    )
    for query, variables in ((page, {}), (one, {"id": str(case.child)})):
        executed, planned = await both(container, caseworker, query, **variables)
        assert not planned.planned, query
        assert planned.text == executed.text and '"errors"' in executed.text


class Unreachable:
    """A read pool whose database cannot be reached (a replica that went down)."""

    async def fetch(self, *args: Any) -> Any:
        raise ConnectionRefusedError("the replica is down")

    fetchrow = fetchval = fetch


async def test_an_outage_is_answered_alike(container: Container, world: World) -> None:
    """Retryable DATABASE_UNAVAILABLE, null where execution gives null, never executed
    again (that would wait out the database's timeouts twice)."""
    ids = {"id": str(world.cases["ana"].family_id), "child": str(world.cases["ana"].child)}
    queries = [
        "{ children(first: 2) { totalCount edges { node { childId } } } }",
        """query($id: UUID!, $child: UUID!) { __typename
          a: family(id: $id) { caseNumber members { name } } b: child(id: $child) { childId } }""",
    ]
    container.database.replica = Unreachable()  # type: ignore[assignment]
    try:
        for query in queries:
            variables = ids if "$id" in query else {}
            executed, planned = await both(
                container, Identity("jo", Role.CASEWORKER), query, **variables
            )
            assert planned.planned and planned.text == executed.text
            assert "DATABASE_UNAVAILABLE" in planned.text and '"retryable":true' in planned.text
    finally:
        container.database.replica = None
