"""Global object identification: every cached type has an id, and node(id:) / nodes(ids:)
answer each object exactly as the query that answers it directly does, for every kind of
caller: the same data (ids included), the same refusals, the same reads in the access log.

The world is tests/scenarios/counsel's (counsel of record with and without consent, asylum
records), with an analyst and an admin besides: what each may see is the policy's business
(tests/integration/test_access_policy.py); here node() must only agree with the direct query.
"""

from __future__ import annotations

import base64
from collections import Counter
from typing import Any
from uuid import UUID

import pytest
from graphql import GraphQLObjectType, get_named_type, is_leaf_type

from schema.context import Context
from schema.loaders import Loaders
from schema.node import global_id
from service.access.auth import Identity, Role
from service.application.container import Container
from tests.scenarios.counsel import SCHEMA, Viewer, World, build_world
from tests.scenarios.court import on

pytestmark = pytest.mark.integration

GRAPH = SCHEMA._schema
TRUTH = "jo.caseworker"


@pytest.fixture
async def world(container: Container) -> World:
    built = await build_world(container)
    for viewer in (Viewer("an.analyst", Role.ANALYST), Viewer("ad.admin", Role.ADMIN)):
        built.viewers[viewer.subject] = viewer
    return built


def leaves(type_name: str) -> str:
    graphql_type = GRAPH.type_map[type_name]
    assert isinstance(graphql_type, GraphQLObjectType)
    return " ".join(
        name
        for name, f in graphql_type.fields.items()
        if is_leaf_type(get_named_type(f.type)) and not f.args
    )


FAMILY = f"{leaves('Family')} members {{ {leaves('Member')} }}"
CHILD = f"{leaves('Child')} facility {{ {leaves('Facility')} }} parents {{ {leaves('Parent')} }}"
SELECTIONS = {
    "Family": FAMILY,
    "Child": CHILD,
    "Parent": leaves("Parent"),
    "Member": leaves("Member"),
    "TimelineEntry": leaves("TimelineEntry"),
    "Facility": leaves("Facility"),
}


async def run(world: World, viewer: Viewer, query: str, **variables: Any) -> dict[str, Any]:
    """One request as this viewer: its data, its errors (message and extensions, without
    the path, which names the root asked) and the families its answer noted as read."""
    context = Context(
        world.container,
        None,
        None,
        Identity(viewer.subject, viewer.role),
        Loaders.create(world.container.database.pool),
    )
    result = await SCHEMA.execute(query, variable_values=variables, context_value=context)
    return {
        "data": result.data,
        "errors": [(e.message, e.extensions) for e in result.errors or []],
        "read": context.read_families,
    }


def node_query(type_name: str) -> str:
    selection = f"__typename ... on {type_name} {{ {SELECTIONS[type_name]} }}"
    return f"query($id: ID!) {{ node(id: $id) {{ {selection} }} }}"


def without_typename(found: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if found is None else {k: v for k, v in found.items() if k != "__typename"}


OUTCOMES: Counter[str] = Counter()


async def agree(
    world: World, viewer: Viewer, type_name: str, node_id: str, direct: dict[str, Any], pick: Any
) -> None:
    """node(id) answers as the direct answer, from which `pick` takes the object."""
    via_node = await run(world, viewer, node_query(type_name), id=node_id)
    data = via_node["data"]
    assert via_node["errors"] == direct["errors"], (viewer.name, type_name, node_id)
    assert via_node["read"] == direct["read"], (viewer.name, type_name, node_id)
    if direct["errors"] and direct["data"] is None:
        assert data is None or data["node"] is None, (viewer.name, type_name)
        OUTCOMES["refused"] += 1
        return
    expected = pick(direct["data"])
    assert without_typename(data["node"]) == expected, (viewer.name, type_name, node_id)
    OUTCOMES["refused" if direct["errors"] else "null" if expected is None else "answered"] += 1
    if expected is not None and None in expected.values():
        OUTCOMES["answered with nulls"] += 1
    if expected is not None:
        assert data["node"]["__typename"] == type_name
        assert expected["id"] == node_id


def first_or_none(items: list[dict[str, Any]], key: str, value: str) -> dict[str, Any] | None:
    return next((item for item in items if item[key] == value), None)


async def test_node_answers_as_the_direct_query_for_every_caller(world: World) -> None:
    OUTCOMES.clear()
    compared: dict[str, int] = {}
    for viewer in world.viewers.values():
        for case in world.cases.values():
            family_id = str(case.family_id)
            direct = await run(
                world,
                viewer,
                f"query($id: UUID!) {{ family(id: $id) {{ {FAMILY} }} }}",
                id=family_id,
            )
            await agree(
                world,
                viewer,
                "Family",
                global_id("Family", family_id),
                direct,
                lambda d: d["family"],
            )
            for person in (case.parent, case.child, UUID(int=case.parent.int ^ 1)):
                await agree(
                    world,
                    viewer,
                    "Member",
                    global_id("Member", family_id, person),
                    direct,
                    lambda d, p=str(person): (
                        d["family"] and first_or_none(d["family"]["members"], "personId", p)
                    ),
                )
            child = await run(
                world,
                viewer,
                f"query($id: UUID!) {{ child(id: $id) {{ {CHILD} }} }}",
                id=str(case.child),
            )
            await agree(
                world, viewer, "Child", global_id("Child", case.child), child, lambda d: d["child"]
            )
            facility = (child["data"] or {}).get("child") and child["data"]["child"]["facility"]
            if facility:
                facility_id = facility["facilityId"]
                # A facility has no query of its own: it is read as a child's is (its gate),
                # and is nobody's personal data (nothing noted).
                alone = {**child, "read": set()}
                await agree(
                    world,
                    viewer,
                    "Facility",
                    global_id("Facility", facility_id),
                    alone,
                    lambda d, shown=facility: shown,
                )
            for adult in (case.parent, UUID(int=case.parent.int ^ 1)):
                parent = await run(
                    world,
                    viewer,
                    f"query($id: UUID!) {{ parent(id: $id) {{ {leaves('Parent')} }} }}",
                    id=str(adult),
                )
                await agree(
                    world,
                    viewer,
                    "Parent",
                    global_id("Parent", adult),
                    parent,
                    lambda d: d["parent"],
                )
            history = await run(
                world,
                viewer,
                f"""query($id: UUID!) {{ timeline(familyId: $id, first: 100) {{
                  edges {{ node {{ {SELECTIONS["TimelineEntry"]} }} }} }} }}""",
                id=family_id,
            )
            # The refusals of the list itself, asked no deeper than node() is.
            gate = await run(
                world,
                viewer,
                "query($id: UUID!) { timeline(familyId: $id) { __typename } }",
                id=family_id,
            )
            versions = range(1, await world.version(case) + 2)  # one past the last
            for version in versions:
                entry_id = global_id("TimelineEntry", family_id, version)
                found = await run(world, viewer, node_query("TimelineEntry"), id=entry_id)
                assert found["errors"] == gate["errors"], (viewer.name, version)
                if gate["errors"]:
                    assert found["data"] is None or found["data"]["node"] is None
                    assert not found["read"]
                    continue
                assert not history["errors"], (viewer.name, history["errors"])
                listed = [e["node"] for e in history["data"]["timeline"]["edges"]]
                expected = next((n for n in listed if n["version"] == version), None)
                assert without_typename(found["data"]["node"]) == expected, (viewer.name, version)
                # Read as the page of one entry from that version: noted when it has one.
                assert found["read"] <= {case.family_id}
                assert found["read"] or expected is None
            compared[viewer.name] = compared.get(viewer.name, 0) + 1
    assert set(compared) == set(world.viewers)
    # Each kind of answer was compared: whole, with what the caller may not read as null,
    # none, and refused.
    assert min(OUTCOMES.values()) > 0 and len(OUTCOMES) == 4, OUTCOMES


async def test_nodes_answers_each_id_at_its_own_path(world: World) -> None:
    ana, bea = world.cases["ana"], world.cases["bea"]
    ids = [
        global_id("Family", ana.family_id),
        global_id("Family", bea.family_id),
        "not-a-node-id",
        global_id("Child", UUID(int=7)),
        global_id("Child", bea.child),
    ]
    query = """query($ids: [ID!]!) { nodes(ids: $ids) { id __typename
      ... on Family { familyId caseNumber } ... on Child { childId name } } }"""
    caseworker = await run(world, world.viewers[TRUTH], query, ids=ids)
    found = caseworker["data"]["nodes"]
    assert [n and n["id"] for n in found] == [ids[0], ids[1], None, None, ids[4]]
    assert found[0]["familyId"] == str(ana.family_id) and found[4]["__typename"] == "Child"
    assert [e[1]["code"] for e in caseworker["errors"]] == ["BAD_NODE_ID"]
    assert caseworker["read"] == {ana.family_id, bea.family_id}
    # Counsel of Bea's family: both answered, Ana's family's identity withheld as family()
    # withholds it; the child's name of a family it represents no one in is null.
    counsel = await run(world, world.viewers["ana.attorney"], query, ids=ids)
    direct = await run(
        world,
        world.viewers["ana.attorney"],
        """query($a: UUID!, $b: UUID!, $c: UUID!) { a: family(id: $a) { familyId caseNumber }
          b: family(id: $b) { familyId caseNumber } c: child(id: $c) { childId name } }""",
        a=str(ana.family_id),
        b=str(bea.family_id),
        c=str(bea.child),
    )
    strip = [without_typename(n) for n in counsel["data"]["nodes"]]
    for got, want in zip(
        [strip[0], strip[1], strip[4]], [direct["data"][k] for k in "abc"], strict=True
    ):
        assert {k: v for k, v in (got or {}).items() if k != "id"} == want
    analyst = await run(world, world.viewers["an.analyst"], query, ids=ids)
    assert analyst["data"] is None
    assert [e[1]["code"] for e in analyst["errors"]] == ["FORBIDDEN"]
    assert not analyst["read"]


@pytest.mark.parametrize(
    "node_id",
    [
        "",
        "%%%",
        base64.urlsafe_b64encode(b"Family").decode(),  # no key
        base64.urlsafe_b64encode(b"Secret:1").decode(),  # no such type
        base64.urlsafe_b64encode(b"Child:not-a-uuid").decode(),
        base64.urlsafe_b64encode(b"Facility:\x00").decode(),
        base64.urlsafe_b64encode(b"Member:" + str(UUID(int=1)).encode()).decode(),  # one part
        global_id("TimelineEntry", UUID(int=1), "x"),
        global_id("TimelineEntry", UUID(int=1), 2**31),
        global_id("TimelineEntry", UUID(int=1), "\u00b2"),  # a digit int() refuses
        global_id("TimelineEntry", UUID(int=1), "9" * 5000),  # past int()'s digit limit
        global_id("Family", UUID(int=1)).rstrip("="),  # not the canonical text
    ],
)
async def test_a_malformed_id_is_refused_with_a_code(world: World, node_id: str) -> None:
    found = await run(
        world, world.viewers[TRUTH], "query($id: ID!) { node(id: $id) { id } }", id=node_id
    )
    assert found["data"] == {"node": None}
    assert [e[1]["code"] for e in found["errors"]] == ["BAD_NODE_ID"]


async def test_a_family_keeps_its_id_as_it_is_written_to(world: World) -> None:
    case = world.cases["cruz"]
    query = "query($id: UUID!) { family(id: $id) { id version } }"
    before = await run(world, world.viewers[TRUTH], query, id=str(case.family_id))
    await case.then(lambda f: f.flag_data_quality("late", f.version, "checked", on(8, 1)))
    await world.container.runner.catch_up()
    after = await run(world, world.viewers[TRUTH], query, id=str(case.family_id))
    assert after["data"]["family"]["version"] == before["data"]["family"]["version"] + 1
    assert after["data"]["family"]["id"] == before["data"]["family"]["id"]


def test_snapshots_of_the_past_are_not_nodes() -> None:
    """A case replayed to a point holds its members and parents as they were: not the
    objects themselves, so no id a cache would file them under."""
    case_as_of = GRAPH.type_map["CaseAsOf"]
    assert isinstance(case_as_of, GraphQLObjectType)
    for name, type_name in (("members", "MemberAsOf"), ("parents", "ParentAsOf")):
        kind = get_named_type(case_as_of.fields[name].type)
        assert kind.name == type_name
        assert isinstance(kind, GraphQLObjectType)
        assert "id" not in kind.fields and not kind.interfaces
    implementing = {t.name for t in GRAPH.get_possible_types(GRAPH.type_map["Node"])}  # type: ignore[arg-type]
    assert implementing == {"Family", "Child", "Parent", "Member", "Facility", "TimelineEntry"}


async def test_a_replayed_case_holds_its_members_and_parents_as_they_were(world: World) -> None:
    case = world.cases["ana"]
    auditor = world.viewers["al.auditor"]
    now = await run(
        world,
        auditor,
        """query($id: UUID!, $child: UUID!) { family(id: $id) { members { personId name } }
          child(id: $child) { parents { parentId name stale } } }""",
        id=str(case.family_id),
        child=str(case.child),
    )
    replayed = await run(
        world,
        auditor,
        """query($id: UUID!) { familyAsOf(id: $id) {
          members { __typename personId name } parents { __typename parentId name stale } } }""",
        id=str(case.family_id),
    )
    assert not replayed["errors"] and not now["errors"]
    members = replayed["data"]["familyAsOf"]["members"]
    assert {m["__typename"] for m in members} == {"MemberAsOf"}
    assert [without_typename(m) for m in members] == now["data"]["family"]["members"]
    parents = replayed["data"]["familyAsOf"]["parents"]
    assert {p["__typename"] for p in parents} == {"ParentAsOf"}
    linked = now["data"]["child"]["parents"]
    assert [
        without_typename(p) for p in parents if p["parentId"] == linked[0]["parentId"]
    ] == linked


# families(search:, representedBy:) refuse what is not one line of a label with a code,
# before the database is asked (Postgres holds no NUL: it would fail there, as a 500).
SEARCH = "query($s: String, $r: String) { families(search: $s, representedBy: $r) { totalCount } }"


@pytest.mark.parametrize(
    ("search", "represented_by"),
    [("a\x00b", None), ("a\x1bb", None), ("x" * 10_000, None), (None, "\x00")],
)
async def test_a_search_that_is_not_a_label_is_refused_with_a_code(
    world: World, search: str | None, represented_by: str | None
) -> None:
    found = await run(world, world.viewers[TRUTH], SEARCH, s=search, r=represented_by)
    assert found["data"] is None
    assert [e[1]["code"] for e in found["errors"]] == ["BAD_USER_INPUT"]
