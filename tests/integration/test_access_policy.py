"""What each caller sees of whom, derived from the policy table (schema/policy.py).

Every field of the case types is read by every kind of caller and compared with what a
caseworker reads: equal where the table's reach covers that family (and person), null
where not. Every list is asked as every caller, bare and with each argument that filters by
a fact some caller reaches only in part, and must answer exactly the caseworker's rows the
caller may read, in the same order, with a count to match. The expectations come from the
table and from whom the world records each caller as representing (tests/scenarios/counsel),
never from the code under test; a field, list or filter the table does not classify fails
`test_the_policy_classifies_every_field_and_argument`, and one these tests cannot exercise
fails here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLObjectType,
    GraphQLScalarType,
    get_named_type,
    is_leaf_type,
)

from domain.values import CredibleFearOutcome, RepresentationBasis
from schema import policy
from schema.context import Context
from schema.loaders import Loaders
from schema.policy import Fact, Reach, Use
from service.access.auth import Identity
from service.application.container import Container
from tests.scenarios.counsel import SCHEMA, Viewer, World, answer, ask, build_world
from tests.scenarios.court import on

pytestmark = pytest.mark.integration

TRUTH = "jo.caseworker"
GRAPH = SCHEMA._schema


@pytest.fixture
async def world(container: Container) -> World:
    return await build_world(container)


def reaches(viewer: Viewer, fact: Fact, use: Use, family: UUID, person: UUID | None) -> bool:
    """The table's reach for this caller, read against whom the world says it represents."""
    found = policy.reach(viewer.role, fact, use)
    if found is Reach.CLIENT_FAMILIES:
        return family in viewer.families
    if found is Reach.CONSENTING_CLIENTS:
        return person in viewer.consenting
    return found is not Reach.NONE


def partial_facts(use: Use) -> set[Fact]:
    """The facts some role reaches, in this use, for some people only."""
    return {
        fact
        for facts in policy.POLICY.values()
        for fact, uses in facts.items()
        if uses.get(use) in policy.PARTIAL
    }


def leaves(type_name: str) -> list[str]:
    graphql_type = GRAPH.type_map[type_name]
    assert isinstance(graphql_type, GraphQLObjectType)
    return [
        name
        for name, f in graphql_type.fields.items()
        if is_leaf_type(get_named_type(f.type)) and not f.args
    ]


def selection(type_name: str) -> str:
    return " ".join(leaves(type_name))


FAMILY = f"""query($id: UUID!) {{ family(id: $id) {{ {selection("Family")}
  members {{ {selection("Member")} }}
  counselOfRecord {{ {selection("Representation")} }}
  dataQualityFlags {{ version rule }} }} }}"""
CHILD = f"""query($id: UUID!) {{ child(id: $id) {{ {selection("Child")}
  parents {{ {selection("Parent")} }} }} }}"""
PARENT = f"""query($id: UUID!) {{ parent(id: $id) {{ {selection("Parent")} }} }}"""


def objects(
    type_name: str, found: Any, family: UUID, person_key: str | None
) -> Iterator[tuple[str, dict[str, Any], UUID, UUID | None]]:
    """Each object of a type in an answer: its fields, family and person."""
    for item in found if isinstance(found, list) else [found]:
        person = UUID(item[person_key]) if person_key else None
        yield type_name, {k: v for k, v in item.items() if k in leaves(type_name)}, family, person


async def read_everything(
    world: World, viewer: Viewer
) -> list[tuple[str, dict[str, Any], UUID, UUID | None]]:
    """Every object of the case types the world holds, as this viewer reads it, in order."""
    seen: list[tuple[str, dict[str, Any], UUID, UUID | None]] = []
    container = world.container
    for case in world.cases.values():
        family = (await answer(container, viewer, FAMILY, id=str(case.family_id)))["family"]
        seen += objects("Family", family, case.family_id, None)
        seen += objects("Member", family["members"], case.family_id, "personId")
        # Who represents whom is read whole or not at all: an empty list where not.
        seen.append(
            ("Family.counselOfRecord", {"list": family["counselOfRecord"]}, case.family_id, None)
        )
        seen.append(
            ("Family.dataQualityFlags", {"list": family["dataQualityFlags"]}, case.family_id, None)
        )
        child = (await answer(container, viewer, CHILD, id=str(case.child)))["child"]
        seen += objects("Child", child, case.family_id, "childId")
        seen += objects("Parent", child["parents"], case.family_id, "parentId")
        for adult in (case.parent, UUID(int=case.parent.int ^ 1)):
            found = (await answer(container, viewer, PARENT, id=str(adult)))["parent"]
            if found is not None:
                seen += objects("Parent", found, case.family_id, "parentId")
    return seen


async def test_each_field_reads_as_the_policy_table_says(world: World) -> None:
    truth = await read_everything(world, world.viewers[TRUTH])
    withheld: set[tuple[str, str]] = set()
    for viewer in world.viewers.values():
        seen = await read_everything(world, viewer)
        assert len(seen) == len(truth)
        for (type_name, values, family, person), (_, expected, _, _) in zip(
            seen, truth, strict=True
        ):
            if type_name == "Family.counselOfRecord":
                allowed = reaches(viewer, Fact.IDENTITY, Use.READ, family, None)
                assert values["list"] == (expected["list"] if allowed else []), viewer.name
                withheld |= {(type_name, "list")} if expected["list"] and not allowed else set()
                continue
            if type_name == "Family.dataQualityFlags":
                continue  # by the asylum record each is about: see the flags test below
            for name, value in values.items():
                fact = policy.FIELDS[type_name][name]
                allowed = fact is None or reaches(viewer, fact, Use.READ, family, person)
                assert value == (expected[name] if allowed else None), (
                    viewer.name,
                    type_name,
                    name,
                    person,
                )
                if expected[name] is not None and not allowed:
                    withheld.add((type_name, name))
    # Each field the table lets some caller read of some people only is withheld somewhere
    # in this world: a new one needs the world to hold a value for it.
    maskable = {
        (type_name, name)
        for type_name in ("Family", "Member", "Child", "Parent")
        for name, fact in policy.FIELDS[type_name].items()
        if fact in partial_facts(Use.READ) and name in leaves(type_name)
    }
    assert maskable <= withheld, maskable - withheld
    assert ("Family.counselOfRecord", "list") in withheld


# Every list root: the query of one page of it, and which node key names its person.
LISTS: dict[str, tuple[str, str | None]] = {
    "families": (
        "families(first: 100{args}) {{ totalCount edges {{ node {{ familyId }} }} }}",
        None,
    ),
    "children": (
        "children(first: 100{args}) {{ totalCount edges {{ node {{ familyId childId }} }} }}",
        "childId",
    ),
    "parents": (
        "parents(first: 100{args}) {{ totalCount edges {{ node {{ familyId parentId }} }} }}",
        "parentId",
    ),
    "reinterviewEligible": (
        "reinterviewEligible(first: 100{args}) {{ totalCount"
        " edges {{ node {{ familyId parentId reinterviewStance reinterviewOutcome }} }} }}",
        "parentId",
    ),
    "removalsWithoutDocumentedChoice": (
        "removalsWithoutDocumentedChoice(first: 100{args}) {{ totalCount"
        " edges {{ node {{ familyId parentId }} }} }}",
        "parentId",
    ),
}
# Lists of one family's history, and subscriptions: tested by name below.
ONE_FAMILY_LISTS = {"timeline", "familyEvents", "caseStatusChanged"}
# Values of the arguments that filter by a partially reached fact and are neither enums nor
# booleans (those are tried with every value).
SAMPLES: dict[tuple[str, str], list[Any]] = {
    ("families", "representedBy"): ["cy.counsel", "ana.attorney", "nobody"],
    # A member's name, an A-number (as typed: a dash, lower case), and text found nowhere.
    ("families", "search"): ["Ana", "a-012345678", "nobody"],
}


def test_every_list_is_exercised() -> None:
    listed = {
        name
        for roots in (policy.QUERIES, policy.SUBSCRIPTIONS)
        for name, (_, use) in roots.items()
        if use is Use.LIST
    }
    assert listed == set(LISTS) | ONE_FAMILY_LISTS


def literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and value.isupper():
        return value
    return f'"{value}"'


def argument_text(path: str, value: Any) -> str:
    """`filter.status`, IN_CARE -> `filter: {status: IN_CARE}`."""
    head, _, rest = path.partition(".")
    return f"{head}: {{{argument_text(rest, value)}}}" if rest else f"{head}: {literal(value)}"


def argument_type(root: str, path: str) -> Any:
    query = GRAPH.query_type
    assert query is not None
    head, *rest = path.split(".")
    named = get_named_type(query.fields[root].args[head].type)
    for part in rest:
        assert isinstance(named, GraphQLInputObjectType)
        named = get_named_type(named.fields[part].type)
    return named


def calls(root: str) -> Iterator[tuple[str, set[Fact]]]:
    """The list bare, then once per value of each argument filtering by a fact reached in
    part: the argument text and the facts the answer is made of."""
    own = policy.QUERIES[root][0]
    yield "", {own}
    for path, fact in policy.ARGUMENTS[root].items():
        if fact is None or fact not in partial_facts(Use.LIST):
            continue
        kind = argument_type(root, path)
        if isinstance(kind, GraphQLEnumType):
            values: list[Any] = list(kind.values)
        elif isinstance(kind, GraphQLScalarType) and kind.name == "Boolean":
            values = [True, False]
        else:
            assert (root, path) in SAMPLES, f"give SAMPLES a value of {root}({path})"
            values = SAMPLES[(root, path)]
        for value in values:
            yield f", {argument_text(path, value)}", {own, fact}


def nodes(data: Any, root: str, person_key: str | None) -> list[tuple[UUID, UUID | None]]:
    return [
        (UUID(e["node"]["familyId"]), UUID(e["node"][person_key]) if person_key else None)
        for e in data[root]["edges"]
    ]


async def test_lists_are_computed_over_what_each_caller_may_read(world: World) -> None:
    container, truth_viewer = world.container, world.viewers[TRUTH]
    restricted = 0
    for root, (template, person_key) in LISTS.items():
        for args, facts in calls(root):
            query = "{ " + template.format(args=args) + " }"
            everyone = await answer(container, truth_viewer, query)
            truth = nodes(everyone, root, person_key)
            counted = everyone[root]["totalCount"] is not None  # a list may not be counted
            for viewer in world.viewers.values():
                data = await answer(container, viewer, query)
                expected = [
                    (family, person)
                    for family, person in truth
                    if all(reaches(viewer, f, Use.LIST, family, person) for f in facts)
                ]
                assert nodes(data, root, person_key) == expected, (viewer.name, query)
                count = data[root]["totalCount"]
                assert count == (len(expected) if counted else None), (viewer.name, query)
                restricted += len(expected) < len(truth)
    assert restricted  # the world makes some list answer some caller less


async def test_the_settlement_list_says_where_each_stands_to_whom_may_read_it(
    world: World,
) -> None:
    query = """{ reinterviewEligible(first: 10) { edges { node {
      parentId reinterviewStance reinterviewOutcome settlementElection } } } }"""
    cases = world.cases
    everyone = await answer(world.container, world.viewers[TRUTH], query)
    stands: list[dict[str, Any]] = [
        {
            "parentId": str(cases["ana"].parent),
            "reinterviewStance": "AWAITING_REINTERVIEW",
            "reinterviewOutcome": None,
            "settlementElection": "elect_review",
        },
        {
            "parentId": str(cases["bea"].parent),
            "reinterviewStance": "REINTERVIEW_DECIDED",
            "reinterviewOutcome": "positive",
            "settlementElection": "elect_review",
        },
        {
            "parentId": str(cases["cruz"].parent),
            "reinterviewStance": "DECLINED_REVIEW",
            "reinterviewOutcome": None,
            "settlementElection": "decline_review",
        },
    ]
    stands.sort(key=lambda n: str(n["parentId"]))
    assert [e["node"] for e in everyone["reinterviewEligible"]["edges"]] == stands
    own = await answer(world.container, world.viewers["cy.counsel"], query)
    assert [e["node"]["parentId"] for e in own["reinterviewEligible"]["edges"]] == [
        str(cases["ana"].parent)
    ]
    # Bea is cy.counsel's client, without consent: not listed, not counted, not filtered on.
    decided = await answer(
        world.container,
        world.viewers["cy.counsel"],
        "{ reinterviewEligible(stance: REINTERVIEW_DECIDED) { totalCount } }",
    )
    assert decided["reinterviewEligible"]["totalCount"] == 0
    for caller in ("class.counsel", "ana.attorney"):
        none = await answer(
            world.container, world.viewers[caller], "{ reinterviewEligible { totalCount } }"
        )
        assert none["reinterviewEligible"]["totalCount"] == 0


TIMELINE = """query($id: UUID!, $filter: TimelineFilter) {
  timeline(familyId: $id, first: 100, filter: $filter) { edges { node { version eventType } } } }"""


async def test_a_history_is_read_by_who_may_and_asylum_entries_by_who_may_read_them(
    world: World,
) -> None:
    for case in world.cases.values():
        truth = await answer(
            world.container, world.viewers[TRUTH], TIMELINE, id=str(case.family_id)
        )
        versions = [e["node"]["version"] for e in truth["timeline"]["edges"]]
        asylum = world.asylum_entries[case.family_id]
        assert set(asylum) <= set(versions)
        for viewer in world.viewers.values():
            data, errors = await ask(world.container, viewer, TIMELINE, id=str(case.family_id))
            if not reaches(viewer, Fact.IDENTITY, Use.LIST, case.family_id, None):
                assert [e.extensions["code"] for e in errors] == ["FORBIDDEN"], viewer.name
                continue
            assert not errors and data is not None
            expected = [
                v
                for v in versions
                if v not in asylum
                or reaches(viewer, Fact.ASYLUM, Use.LIST, case.family_id, asylum[v])
            ]
            assert [e["node"]["version"] for e in data["timeline"]["edges"]] == expected
            # Nor can a filter find them.
            for flt in ({"eventTypes": ["CredibleFearDecided"]}, {"memberId": str(case.parent)}):
                found, _ = await ask(
                    world.container, viewer, TIMELINE, id=str(case.family_id), filter=flt
                )
                assert found is not None
                for entry in found["timeline"]["edges"]:
                    version = entry["node"]["version"]
                    assert version in expected, (viewer.name, flt, version)


async def test_flags_about_asylum_records_count_only_where_they_may_be_read(world: World) -> None:
    flagged = """{ children(filter: {dataQualityFlag: "asylum_flag"}) {
      totalCount edges { node { childId familyId } } } }"""
    cases = world.cases
    parent_of = {c.family_id: c.parent for c in cases.values()}
    data = await answer(world.container, world.viewers[TRUTH], flagged)
    truth = [(e["node"]["childId"], UUID(e["node"]["familyId"])) for e in data["children"]["edges"]]
    assert {family for _, family in truth} == {cases["ana"].family_id, cases["cruz"].family_id}
    for viewer in world.viewers.values():
        data = await answer(world.container, viewer, flagged)
        expected = [
            child
            for child, family in truth
            if reaches(viewer, Fact.ASYLUM, Use.LIST, family, parent_of[family])
        ]
        assert [e["node"]["childId"] for e in data["children"]["edges"]] == expected
        assert data["children"]["totalCount"] == len(expected)
        for case in (cases["ana"], cases["cruz"]):
            family = await answer(
                world.container,
                viewer,
                "query($id: UUID!) { family(id: $id) { dataQualityFlags { rule } } }",
                id=str(case.family_id),
            )
            rules = [f["rule"] for f in family["family"]["dataQualityFlags"]]
            allowed = reaches(viewer, Fact.ASYLUM, Use.LIST, case.family_id, case.parent)
            assert rules == (["asylum_flag"] if allowed else []), viewer.name


async def test_reach_follows_the_record_as_it_stands(world: World) -> None:
    """A representation ended (or begun) changes what the counsel reads on its next request."""
    ana, cy = world.cases["ana"], world.viewers["cy.counsel"]
    listed = "{ reinterviewEligible { totalCount } }"
    assert (await answer(world.container, cy, listed))["reinterviewEligible"]["totalCount"] == 1
    await ana.then(lambda f: f.end_representation("cy.counsel", ana.parent, "withdrew", on(8, 1)))
    await world.container.runner.catch_up()
    assert (await answer(world.container, cy, listed))["reinterviewEligible"]["totalCount"] == 0
    _, errors = await ask(world.container, cy, TIMELINE, id=str(ana.family_id))
    assert [e.extensions["code"] for e in errors] == ["FORBIDDEN"]
    name = "query($id: UUID!) { parent(id: $id) { name credibleFear situation } }"
    assert (await answer(world.container, cy, name, id=str(ana.parent)))["parent"] == {
        "name": None,
        "credibleFear": None,
        "situation": "LOCATION_UNKNOWN",
    }
    # Class counsel becomes counsel of record for Cruz, who consents.
    cruz = world.cases["cruz"]
    await cruz.then(
        lambda f: f.record_representation(
            "class.counsel",
            cruz.parent,
            RepresentationBasis.CLIENT_AUTHORIZATION,
            None,
            True,
            on(8, 2),
        )
    )
    await world.container.runner.catch_up()
    data = await answer(world.container, world.viewers["class.counsel"], name, id=str(cruz.parent))
    assert data["parent"] == {
        "name": "Parent",
        "credibleFear": "negative",
        "situation": "LOCATION_UNKNOWN",
    }


FAMILY_EVENTS = """subscription($id: UUID!) { familyEvents(familyId: $id, afterVersion: 0) {
  version eventType } }"""


async def subscribe(world: World, viewer: Viewer, query: str, **variables: Any) -> Any:
    context = Context(
        world.container,
        None,
        None,
        Identity(viewer.subject, viewer.role),
        Loaders.create(world.container.database.pool),
    )
    return await SCHEMA.subscribe(query, variable_values=variables, context_value=context)


async def test_a_subscription_follows_the_same_policy(world: World) -> None:
    cy, bea, cruz = world.viewers["cy.counsel"], world.cases["bea"], world.cases["cruz"]
    refused = await subscribe(world, cy, FAMILY_EVENTS, id=str(cruz.family_id))
    first = await anext(refused)
    assert [e.extensions["code"] for e in first.errors] == ["FORBIDDEN"]
    truth = await answer(world.container, world.viewers[TRUTH], TIMELINE, id=str(bea.family_id))
    asylum = world.asylum_entries[bea.family_id]
    expected = [
        e["node"]["version"]
        for e in truth["timeline"]["edges"]
        if e["node"]["version"] not in asylum
    ]
    stream = await subscribe(world, cy, FAMILY_EVENTS, id=str(bea.family_id))
    delivered = [(await anext(stream)).data["familyEvents"]["version"] for _ in expected]
    await stream.aclose()
    assert delivered == expected

    changes = """subscription { caseStatusChanged { child { childId name
      parents { parentId name credibleFear } } } }"""
    streams = {
        name: await subscribe(world, world.viewers[name], changes)
        for name in ("jo.caseworker", "cy.counsel", "class.counsel")
    }
    pending = {name: anext(s) for name, s in streams.items()}  # subscribed before the change
    ana = world.cases["ana"]
    tasks = {name: asyncio.ensure_future(p) for name, p in pending.items()}
    await asyncio.sleep(0.2)
    await ana.then(lambda f: f.reunify(ana.child, ana.parent, None, on(8, 1)))
    await world.container.runner.catch_up()
    seen = {
        name: (await asyncio.wait_for(t, 10)).data["caseStatusChanged"]["child"]
        for name, t in tasks.items()
    }
    for s in streams.values():
        await s.aclose()
    assert seen["jo.caseworker"]["name"] == seen["cy.counsel"]["name"] == "Child"
    assert seen["class.counsel"]["name"] is None
    assert seen["cy.counsel"]["parents"][0]["credibleFear"] == "negative"
    assert seen["class.counsel"]["parents"][0] == {
        "parentId": str(ana.parent),
        "name": None,
        "credibleFear": None,
    }


def test_an_asylum_outcome_enum_is_the_domain_one() -> None:
    kind = argument_type("reinterviewEligible", "outcome")
    assert isinstance(kind, GraphQLEnumType)
    assert set(kind.values) == {o.name for o in CredibleFearOutcome}
    stance = argument_type("reinterviewEligible", "stance")
    assert isinstance(stance, GraphQLEnumType)
    assert set(stance.values) == {"AWAITING_REINTERVIEW", "DECLINED_REVIEW", "REINTERVIEW_DECIDED"}
