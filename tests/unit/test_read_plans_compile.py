"""Compiling read plans without a database: what is covered, what is not, and how a
role's reach shapes the SQL (schema/read_plans.py, schema/plan_fields.py)."""

from __future__ import annotations

import msgspec
import pytest
from graphql import parse

from schema.build import create_schema
from schema.documents import KEPT_QUERY_CHARS
from schema.plan_fields import NotCovered
from schema.plan_reports import ReportPlan, Shape
from schema.read_plans import PlanCache, compile_plan, materialized
from service.access.auth import Role

SCHEMA = create_schema()._schema
PAGE = """{ children(first: 2) { edges { cursor node { id childId name status ageBand
  facility { facilityName } parents { parentId aNumber credibleFear } } } } }"""


def columns(query: str, role: Role = Role.CASEWORKER) -> str:
    plan = compile_plan(SCHEMA, parse(query), None, role)
    root = plan.roots[0].plan
    assert root is not None
    return str(getattr(root, "columns"))  # noqa: B009


@pytest.mark.parametrize(
    "query",
    [
        "mutation { __typename }",
        '{ node(id: "Q2hpbGQ6eA==") { id } }',
        "{ projectionStatus { name } }",
        "{ children(first: 2) { edges { node { childId @include(if: true) } } } }",
        "query @skip(if: false) { children(first: 2) { totalCount } }",
        "{ families(first: 2) { edges { node { counselOfRecord { counsel } } } } }",
        "{ families(first: 2) { edges { node { dataQualityFlags { rule } } } } }",
        "{ children(first: 2) { ...Missing } }",
        "{ children(first: 2) { edges { node { "
        + " ".join(f"a{i}: childId" for i in range(51))
        + " } } } }",
    ],
)
def test_what_a_plan_does_not_cover(query: str) -> None:
    with pytest.raises(NotCovered):
        compile_plan(SCHEMA, parse(query), None, Role.CASEWORKER)


def test_a_caseworker_reads_every_field_as_stored() -> None:
    sql = columns(PAGE)
    assert "'name', child_case.name" in sql
    assert "{families}" not in sql and "{people}" not in sql


def test_counsel_reads_identity_of_client_families_and_asylum_of_consenting_clients() -> None:
    sql = columns(PAGE, Role.COUNSEL)
    assert "(CASE WHEN child_case.family_id = ANY({families}) THEN child_case.name END)" in sql
    assert "ANY({people}) THEN child_case_p.credible_fear END" in sql
    assert "'status', (CASE child_case.status" in sql  # status: every family


def test_a_role_that_reads_no_identity_gets_null() -> None:
    # An analyst is refused the root at run time (the gate); its plan still withholds.
    assert "'name', NULL" in columns(PAGE, Role.ANALYST)


def test_enums_ids_and_non_null_fields_as_graphql_answers_them() -> None:
    sql = columns(PAGE)
    assert "WHEN 'in_care' THEN 'IN_CARE'" in sql and "WHEN '0-4' THEN 'UNDER_5'" in sql
    assert "convert_to('Child:' || child_case.child_id::text, 'UTF8')" in sql
    # A null where GraphQL wants a value: the row says so, and the plan falls back.
    assert "AS plan_broken" in sql and "child_case.child_id IS NULL" in sql


def test_plans_are_kept_per_role_and_so_is_not_covered() -> None:
    cache = PlanCache(size=2)
    document = parse(PAGE)
    first = cache.plan(SCHEMA, document, PAGE, None, Role.CASEWORKER)
    assert first is not None
    assert cache.plan(SCHEMA, document, PAGE, None, Role.CASEWORKER) is first
    assert cache.plan(SCHEMA, document, PAGE, None, Role.COUNSEL) is not first
    uncovered = "{ projectionStatus { name } }"
    assert cache.plan(SCHEMA, parse(uncovered), uncovered, None, Role.ADMIN) is None
    assert len(cache.kept) == 2  # bounded: the oldest went
    padded = PAGE + " " * KEPT_QUERY_CHARS  # a long document: compiled, not kept
    assert cache.plan(SCHEMA, parse(padded), padded, None, Role.CASEWORKER) is not None
    assert all(len(query) <= KEPT_QUERY_CHARS for query, *_ in cache.kept)


def test_the_statistics_roots_compile_to_their_selection() -> None:
    query = """{ courtReport(asOf: "2018-07-31") { asOf children { total n: under5 } }
      facilities(on: "2018-07-31") { ... on FacilityStats { census } __typename } }"""
    report, facilities = (
        r.plan for r in compile_plan(SCHEMA, parse(query), None, Role.ANALYST).roots
    )
    assert isinstance(report, ReportPlan) and isinstance(facilities, ReportPlan)
    assert [f[:2] for f in report.shape.fields] == [("asOf", "as_of"), ("children", "children")]
    children = report.shape.fields[1][3]
    assert isinstance(children, Shape)
    assert [f[:2] for f in children.fields] == [("total", "total"), ("n", "under_5")]
    assert facilities.listed and [f[0] for f in facilities.shape.fields] == ["census", "__typename"]


def test_json_left_raw_is_decoded_wherever_it_sits_for_a_caller_in_process() -> None:
    value = {"edges": msgspec.Raw('[{"a":1}]'), "list": [msgspec.Raw("2")], "n": 3}
    assert materialized(value) == {"edges": [{"a": 1}], "list": [2], "n": 3}
