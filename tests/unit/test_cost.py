"""The static cost of a request, and the per-subject allowance for expensive work."""

from __future__ import annotations

from graphql import parse

from schema.build import create_schema
from schema.cost import (
    ESTIMATES_KEPT,
    KNOWN_AT_REPORT,
    Limits,
    budget_of,
    estimate,
)
from schema.documents import KEPT_QUERY_CHARS, KEPT_VARIABLES_BYTES
from schema.throttle import Throttle
from service.access.auth import Role

SCHEMA = create_schema()._schema
PAGE = """query($n: Int!) { children(first: $n) { edges { node { childId
  parents { parentId } facility { facilityId } } } } }"""


def cost(query: str, **variables: object) -> int:
    found = estimate(SCHEMA, parse(query), None, variables)
    assert found is not None
    return found.cost


def test_a_scalar_costs_nothing_and_a_page_scales_with_its_first() -> None:
    assert cost("{ __typename }") == 0
    assert cost(PAGE, n=100) == 1 + 100 * 4
    assert cost(PAGE, n=10) == 1 + 10 * 4


def test_a_report_as_known_at_a_time_costs_a_replay_of_the_log() -> None:
    live = cost('{ courtReport(asOf: "2018-07-26") { children { total } } }')
    known = cost(
        """{ courtReport(asOf: "2018-07-26", knownAt: "2018-08-01T00:00:00Z") {
             children { total } } }"""
    )
    assert known == live + KNOWN_AT_REPORT


def test_fragments_are_counted_where_they_are_spread() -> None:
    spread = """query { a: courtReport(asOf: "2018-07-26", knownAt: "2018-08-01T00:00:00Z") { ...F }
      b: courtReport(asOf: "2018-07-27", knownAt: "2018-08-01T00:00:00Z") { ...F } }
      fragment F on CourtReport { children { total } }"""
    found = estimate(SCHEMA, parse(spread), None, {})
    assert found is not None and found.cost > 2 * KNOWN_AT_REPORT and len(found.reports) == 2


def test_budgets_come_from_the_role_and_may_be_configured() -> None:
    assert budget_of(Role.ANALYST) < KNOWN_AT_REPORT * 2
    assert budget_of(Role.ANALYST, (("analyst", 5000),)) == 5000
    assert budget_of(None) < KNOWN_AT_REPORT


def test_a_subject_over_its_allowance_is_told_when_to_retry() -> None:
    now = [0.0]
    throttle = Throttle(concurrency=2, per_minute=3, clock=lambda: now[0])
    assert throttle.enter("ana") is None and throttle.enter("ana") is None
    assert throttle.enter("ana") == 1  # two under way: retry when one is likely done
    assert throttle.enter("ben") is None  # the limits are each subject's own
    throttle.leave("ana", 0.5)
    assert throttle.enter("ana") is None  # the third of three a minute
    throttle.leave("ana", 0.5)
    throttle.leave("ana", 0.5)
    assert throttle.enter("ana") == 20  # the next token in 60 / 3 seconds
    now[0] = 20.0
    assert throttle.enter("ana") is None


def test_estimates_are_kept_by_text_and_variables_bounded_and_small() -> None:
    limits = Limits()
    document = parse(PAGE)
    ten = limits.estimate(SCHEMA, document, PAGE, None, {"n": 10})
    hundred = limits.estimate(SCHEMA, document, PAGE, None, {"n": 100})
    assert ten is not None and hundred is not None
    assert (ten.cost, hundred.cost) == (1 + 10 * 4, 1 + 100 * 4)  # variables are the key too
    assert limits.estimate(SCHEMA, document, PAGE, None, {"n": 10}) is ten
    padded = PAGE + " " * KEPT_QUERY_CHARS
    limits.estimate(SCHEMA, parse(padded), padded, None, {"n": 1})
    limits.estimate(SCHEMA, document, PAGE, None, {"n": 1, "pad": "x" * KEPT_VARIABLES_BYTES})
    assert len(limits.estimates) == 2  # neither the long text nor the long variables kept
    for n in range(ESTIMATES_KEPT + 5):
        limits.estimate(SCHEMA, document, PAGE, None, {"n": n})
    assert len(limits.estimates) == ESTIMATES_KEPT
