"""Compiled plans answer exactly as execution does: every role, the same JSON byte for byte
(data and errors), the same families in the read audit (what falls back:
test_read_plans_fallback.py)."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any
from uuid import uuid4

import msgspec
import pytest
from graphql import GraphQLError, OperationDefinitionNode, parse, print_ast
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schema.context import Context
from schema.loaders import Loaders
from schema.types import encode_cursor
from service.access.auth import Identity, Role
from service.application.container import Container
from tests.scenarios.counsel import World, build_world
from tests.scenarios.plans import SCHEMA, both, everyone, run, same
from tests.scenarios.selections import documents

pytestmark = pytest.mark.integration

NODE = """id childId familyId name age ageBand sex country status separatedAt
  separationReason separationReasonText referredAt referringOffice placedAt dischargedAt
  dischargeKind parentSituation removalCountry __typename"""
PARENT = """id parentId familyId name sex country aNumber custody facilityName releasedAt
  removalOrder removalElection removedAt removedTo timesRemoved returnedAt returnRoute
  locationAttempts located preference eligibility redFlag situation settlementElection
  asylumReopened credibleFear credibleFearWhileSeparated reinterviewOutcome reinterviewStance"""
PAGE = "pageInfo { hasNextPage hasPreviousPage startCursor endCursor __typename }"
# The bench's query (c): a page of children with their parents and facilities.
CHILDREN_PAGE = f"""query($first: Int!, $after: String, $order: ChildOrder) {{
  children(first: $first, after: $after, orderBy: $order) {{ totalCount {PAGE}
    edges {{ cursor node {{ {NODE} facility {{ id facilityId facilityName programType }}
      parents {{ {PARENT} }} }} }} }} }}"""
BACKWARDS = f"""query($last: Int!, $before: String) {{
  children(last: $last, before: $before) {{ {PAGE} edges {{ cursor node {{ childId }} }} }} }}"""
PARENTS = f"""query($filter: ParentFilter) {{
  parents(first: 100, filter: $filter) {{ totalCount {PAGE}
    edges {{ cursor node {{ {PARENT} }} }} }} }}"""
FAMILIES = f"""query($search: String, $by: String) {{
  families(first: 10, search: $search, representedBy: $by) {{ totalCount {PAGE}
    edges {{ cursor node {{ id familyId caseNumber status openedAt version lastPosition
      updatedAt __typename }} }} }} }}"""
FRAGMENTS = """query { __typename ...Lists }
fragment Lists on Query {
  kids: children(first: 3, filter: { status: IN_CARE }) {
    edges { node { ...Kid ... on Node { id } } } }
  grownups: parents(first: 2) { edges { node { ... on Parent { parentId name } } } } }
fragment Kid on Child {
  childId a: name b: name parents { ...Grownup } facility { ...on Facility { facilityName } } }
fragment Grownup on Parent { parentId credibleFear }"""
STAKEHOLDERS = f"""query($stance: ReinterviewStance, $outcome: CredibleFearOutcome) {{
  reinterviewEligible(first: 10, stance: $stance, outcome: $outcome) {{ totalCount {PAGE}
    edges {{ cursor node {{ {PARENT} }} }} }}
  removalsWithoutDocumentedChoice(first: 10) {{ totalCount edges {{ node {{ parentId }} }} }} }}"""
CURATED: list[tuple[str, dict[str, Any]]] = [
    (CHILDREN_PAGE, {"first": 100}),
    (CHILDREN_PAGE, {"first": 2}),
    (CHILDREN_PAGE, {"first": 2, "order": "SEPARATED_AT"}),
    (BACKWARDS, {"last": 2}),
    (PARENTS, {}),
    (PARENTS, {"filter": {"located": False}}),
    (FAMILIES, {}),
    (FAMILIES, {"search": "Ana"}),
    (FAMILIES, {"by": "cy.counsel"}),
    (FRAGMENTS, {}),
    (STAKEHOLDERS, {}),
    (STAKEHOLDERS, {"stance": "DECLINED_REVIEW"}),
    (STAKEHOLDERS, {"outcome": "POSITIVE"}),
]
TIMELINE = f"""query($id: UUID!, $first: Int, $after: String, $types: [String!]) {{
  timeline(familyId: $id, first: $first, after: $after, filter: {{ eventTypes: $types }}) {{
    {PAGE} edges {{ cursor node {{ id position version eventType summary occurredAt recordedAt
      actor role source reason correlationId causationId amends amendedBy __typename }} }} }} }}"""


@pytest.fixture
async def world(container: Container) -> World:
    return await build_world(container)


async def test_curated_queries_answer_alike_for_every_role(
    container: Container, world: World
) -> None:
    for identity in everyone(world):
        for query, variables in CURATED:
            planned = await same(container, identity, query, **variables)
            # A plan answers every role the root admits; the others are refused as before.
            assert planned is (identity.role in (Role.CASEWORKER, Role.COUNSEL, Role.AUDITOR))


OBJECTS = """query($family: UUID!, $child: UUID!, $parent: UUID!) {
  family(id: $family) { id familyId caseNumber status openedAt version lastPosition updatedAt
    members { id personId role name sex birthDate age country aNumber status facilityId
      facilityName separatedAt reunifiedAt reunifiedWith __typename } __typename }
  child(id: $child) { id childId name status facility { facilityName } parents { parentId name
    credibleFear reinterviewStance } }
  parent(id: $parent) { id parentId name aNumber credibleFear settlementElection asylumReopened
    reinterviewOutcome reinterviewStance situation } }"""


async def test_objects_by_id_answer_alike(container: Container, world: World) -> None:
    for identity in everyone(world):
        for case in world.cases.values():
            ids = {"family": str(case.family_id), "child": str(case.child)}
            assert await same(container, identity, OBJECTS, parent=str(case.parent), **ids) is (
                identity.role in (Role.CASEWORKER, Role.COUNSEL, Role.AUDITOR)
            )
        # None found: null, and no read recorded.
        nobody = {"family": str(uuid4()), "child": str(uuid4()), "parent": str(uuid4())}
        await same(container, identity, OBJECTS, **nobody)


async def test_a_caller_in_this_process_reads_objects_not_json_text(
    container: Container, world: World
) -> None:
    """Only the service's encoder is handed a plan's JSON as text (msgspec.Raw): any other
    caller of the schema reads what execution would give it."""
    identity = Identity("jo.caseworker", Role.CASEWORKER)
    case = next(iter(world.cases.values()))
    ids = {"family": str(case.family_id), "child": str(case.child), "parent": str(case.parent)}
    executed = await SCHEMA.execute(OBJECTS, ids, context(container, identity, False, False))
    for raw in (False, True):
        answer = await SCHEMA.execute(OBJECTS, ids, context(container, identity, True, raw))
        assert answer.data is not None and executed.data is not None
        assert isinstance(answer.data["family"], msgspec.Raw) is raw
        assert msgspec.json.encode(answer.data) == msgspec.json.encode(executed.data)
    page = "{ children(first: 3) { edges { node { childId } } } }"
    answer = await SCHEMA.execute(page, context_value=context(container, identity, True, False))
    assert answer.data is not None and isinstance(answer.data["children"]["edges"], list)


def context(container: Container, identity: Identity, planned: bool, raw: bool) -> Context:
    loaders = Loaders.create(container.database.pool)
    return Context(container, None, None, identity, loaders, read_plans=planned, raw_json=raw)


COUNTS = "total under5 from5To17 adult unknownAge __typename"
REPORT = f"""query($on: Date!) {{
  courtReport(asOf: $on) {{ asOf __typename children {{ {COUNTS} }}
    discharged {{ total {{ {COUNTS} }} reunifiedWithSeparatedParent {{ total }}
      otherAppropriateCircumstances {{ ...Split }} sponsor {{ total }} agedOut {{ total }}
      other {{ total under5 }} }}
    inCare {{ total {{ ...Split }} removed {{ total under5 }} iceCustody {{ total }}
      criminalCustody {{ total }} releasedInterior {{ total }} locationUnknown {{ total }}
      ineligible {{ total }} waived {{ total }} }} }}
  facilities(on: $on) {{ facilityId facilityName census stays medianDays p90Days __typename }}
  again: facilities(on: $on) {{ ... on FacilityStats {{ census id: facilityId }} }} }}
fragment Split on Counts {{ total a: adult unknownAge }}"""
KNOWN_AT = """query($on: Date!, $at: DateTime) {
  courtReport(asOf: $on, knownAt: $at) { children { total under5 } } }"""


async def test_reports_answer_alike_for_every_role(container: Container, world: World) -> None:
    """Exact figures, analysts' rounded ones on a month's last day, and their refusal on
    any other day (executed, so refused alike); knownAt is executed."""
    for identity in everyone(world):
        for day in ("2018-07-31", "2018-07-26", "2018-06-30", "2026-01-31"):
            planned = await same(container, identity, REPORT, on=day)
            readers = identity.role is not Role.ADMIN
            on_calendar = identity.role is not Role.ANALYST or day.endswith(("31", "30"))
            assert planned is (readers and on_calendar), (identity.role, day)
        at = "2026-01-01T00:00:00+00:00"
        assert not await same(container, identity, KNOWN_AT, on="2018-07-31", at=at)
        assert await same(container, identity, KNOWN_AT, on="2018-07-31") is (
            identity.role is not Role.ADMIN
        )


def every_field(type_name: str) -> str:
    """Every field of a type that holds a value of its own (no resolver), as the schema
    has it now: a field added later is compared too."""
    graphql_type = SCHEMA._schema.type_map[type_name]
    names = []
    for name, field in graphql_type.fields.items():  # type: ignore[attr-defined]
        definition = field.extensions.get("strawberry-definition")
        named = field.type
        while hasattr(named, "of_type"):
            named = named.of_type
        plain = definition is not None and definition.base_resolver is None
        if (plain or name == "id") and not hasattr(named, "fields"):
            names.append(name)
    return " ".join(names)


async def test_every_plain_field_of_every_covered_type(container: Container, world: World) -> None:
    query = f"""query($family: UUID!) {{
      children(first: 100) {{ edges {{ node {{ {every_field("Child")}
        parents {{ {every_field("Parent")} }} facility {{ {every_field("Facility")} }} }} }} }}
      families(first: 100) {{ edges {{ node {{ {every_field("Family")}
        members {{ {every_field("Member")} }} }} }} }}
      timeline(familyId: $family, first: 100) {{
        edges {{ node {{ {every_field("TimelineEntry")} }} }} }} }}"""
    for identity in everyone(world)[:2]:  # a caseworker and an auditor read every timeline
        assert await same(container, identity, query, family=str(world.cases["ana"].family_id))
    for identity in everyone(world)[2:5]:  # counsel, each under its own reach
        for case in world.cases.values():
            await same(container, identity, query, family=str(case.family_id))


STALE = """{ children(first: 10) { edges { node { childId stale parents { stale } } } }
  families(first: 10) { edges { node { familyId stale parkedSince staleReadModels } } } }"""


async def test_stale_families_answer_alike(container: Container, world: World) -> None:
    """A family some read models parked events of: stale, since when, and which."""
    family = world.cases["bea"].family_id
    for projection, version in (("timeline", 3), ("cases", 3), ("cases", 4)):
        await container.database.pool.execute(
            "INSERT INTO parked_events (projection, stream_id, version, transaction_id,"
            " position, topic) VALUES ($1, $2, $3, '1', 1, 'x')",
            projection,
            family,
            version,
        )
    executed, planned = await both(container, Identity("jo", Role.CASEWORKER), STALE)
    assert planned.planned and planned.text == executed.text
    assert '"staleReadModels":["cases","timeline"]' in planned.text


async def test_timelines_answer_alike_or_are_refused_alike(
    container: Container, world: World
) -> None:
    planned = 0
    for identity in everyone(world):
        for case in world.cases.values():
            for variables in (
                {"first": 50},
                {"first": 3, "after": encode_cursor(4)},
                {"types": ["CredibleFearDecided"]},
                {"first": 2},
            ):
                planned += await same(
                    container, identity, TIMELINE, id=str(case.family_id), **variables
                )
    # Caseworkers and auditors read every timeline; counsel only those of its clients.
    assert planned >= 2 * 3 * 4


async def test_pages_and_their_cursors_answer_alike(container: Container, world: World) -> None:
    for identity in everyone(world)[:3]:
        after = None
        for _ in range(4):  # forwards, page by page, by the cursors a plan answered
            executed, planned = await both(
                container, identity, CHILDREN_PAGE, first=2, after=after, order="SEPARATED_AT"
            )
            assert planned.planned and planned.text == executed.text
            after = _end(planned.text)
        before = None
        for _ in range(3):
            executed, planned = await both(container, identity, BACKWARDS, last=2, before=before)
            assert planned.planned and planned.text == executed.text
            before = _start(planned.text)


def _end(text: str) -> str | None:
    found: str | None = json.loads(text)["data"]["children"]["pageInfo"]["endCursor"]
    return found


def _start(text: str) -> str | None:
    found: str | None = json.loads(text)["data"]["children"]["pageInfo"]["startCursor"]
    return found


async def test_the_read_audit_records_the_same_reads(container: Container, world: World) -> None:
    counsel = Identity("cy.counsel", Role.COUNSEL)
    pool = container.database.pool
    rows = []
    for planned in (False, True):
        before = await pool.fetchval("SELECT coalesce(max(id), 0) FROM access_log")
        answer = await _via_audit(container, counsel, planned)
        assert answer.planned is planned and answer.families
        rows.append(
            await pool.fetch(
                "SELECT subject, role, operation, family_ids FROM access_log WHERE id > $1",
                before,
            )
        )
    executed, planned_rows = rows
    assert len(executed) == len(planned_rows) == 1
    assert dict(executed[0]) | {"family_ids": sorted(executed[0]["family_ids"])} == dict(
        planned_rows[0]
    ) | {"family_ids": sorted(planned_rows[0]["family_ids"])}


async def _via_audit(container: Container, identity: Identity, planned: bool) -> Any:
    """One request through the schema, whose ReadAudit extension writes access_log."""
    return await run(container, identity, CHILDREN_PAGE, planned, first=100)


COVERED_ROOTS = (
    "children",
    "parents",
    "families",
    "timeline",
    "child",
    "parent",
    "family",
    "reinterviewEligible",
    "removalsWithoutDocumentedChoice",
    "courtReport",
    "facilities",
)


def suite_queries(root: Path = Path(__file__).parents[1]) -> list[OperationDefinitionNode]:
    """Every query of the test suite's sources (string constants) that asks for a root a
    plan may cover, as written there."""
    found = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                if not any(f"{r}(" in node.value for r in COVERED_ROOTS):
                    continue
                try:
                    document = parse(node.value)
                except GraphQLError:
                    continue
                found += [
                    d
                    for d in document.definitions
                    if isinstance(d, OperationDefinitionNode) and d.operation.value == "query"
                ]
    return found


def variables_for(operation: OperationDefinitionNode, world: World) -> dict[str, Any]:
    """Values for a query's variables from the world: ids of its people and families by
    the variable's name, small page sizes; others left out (null, or their default)."""
    case = world.cases["ana"]
    values: dict[str, Any] = {}
    for definition in operation.variable_definitions or ():
        name = definition.variable.name.value
        kind = print_ast(definition.type).rstrip("!")
        if kind == "UUID":
            lowered = name.lower()
            person = case.child if "child" in lowered or "kid" in lowered else case.parent
            values[name] = str(case.family_id if "famil" in lowered or name == "id" else person)
        elif kind == "Int" and name not in ("pos", "minPosition", "position"):
            values[name] = 2
        elif kind == "Date":  # a month's last day: analysts' figures are published for it
            values[name] = "2018-07-31"
    return values


async def test_every_query_of_the_test_suite_answers_alike(
    container: Container, world: World
) -> None:
    operations = suite_queries()
    assert len(operations) >= 20
    planned = 0
    for operation in operations:
        query = print_ast(operation)
        variables = variables_for(operation, world)
        for identity in everyone(world):
            planned += await same(container, identity, query, **variables)
    assert planned >= 20


@settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
async def test_generated_selections_answer_alike_for_every_role(
    container: Container, data: st.DataObject
) -> None:
    world = await _world(container)
    families = tuple(str(c.family_id) for c in world.cases.values())
    ids = {
        "family": families,
        "child": tuple(str(c.child) for c in world.cases.values()),
        "parent": tuple(str(c.parent) for c in world.cases.values()),
    }
    query = data.draw(documents(families, ids))
    for identity in everyone(world):
        await same(container, identity, query)


_WORLDS: dict[int, World] = {}


async def _world(container: Container) -> World:
    """One world per test (examples share it: they only read)."""
    if id(container) not in _WORLDS:
        _WORLDS.clear()
        _WORLDS[id(container)] = await build_world(container)
    return _WORLDS[id(container)]
