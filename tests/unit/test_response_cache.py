"""Which operations the response cache may keep: read-model queries only."""

from __future__ import annotations

import pytest
from graphql import parse

from schema.response_cache import read_model_query


@pytest.mark.parametrize(
    ("document", "name", "kept"),
    [
        ("{ __typename }", None, True),
        ('{ child(id: "x") { status } courtReport(asOf: "2018-07-26") { asOf } }', None, True),
        ("query Q { families { edges { cursor } } }", "Q", True),
        ("{ families(minPosition: 3) { edges { cursor } } }", None, False),
        (
            '{ courtReport(asOf: "2018-07-26", knownAt: "2019-01-01T00:00:00Z") { asOf } }',
            None,
            False,
        ),
        ("{ families { edges { cursor } } accessLog { edges { cursor } } }", None, False),
        ('{ familyAsOf(id: "x") { version } }', None, False),
        ("{ projectionStatus { lag } }", None, False),
        ("{ ... on Query { families { edges { cursor } } } }", None, False),
        ("mutation { openCase { __typename } }", None, False),
        ("subscription { familyEvents { version } }", None, False),
        ("query A { families { edges { cursor } } } query B { __typename }", "B", True),
        ("query A { families { edges { cursor } } } query B { __typename }", None, False),
        ("query A { __typename }", "C", False),
    ],
)
def test_only_queries_of_read_model_roots_are_kept(
    document: str, name: str | None, kept: bool
) -> None:
    assert read_model_query(parse(document), name) is kept


@pytest.mark.parametrize(
    ("variables", "kept"),
    [({}, True), ({"p": None}, True), ({"p": 0}, False), ({"p": 12}, False)],
)
def test_a_position_sent_as_a_variable_is_waited_for(
    variables: dict[str, int | None], kept: bool
) -> None:
    document = parse("query($p: Int) { families(minPosition: $p) { edges { cursor } } }")
    assert read_model_query(document, None, variables) is kept


@pytest.mark.parametrize(
    ("default", "variables", "kept"),
    [
        ('"2100-01-01T00:00:00Z"', {}, False),  # the default reads the log as known then
        ('"2100-01-01T00:00:00Z"', {"k": None}, True),
        ("null", {}, True),
    ],
)
def test_a_variable_default_counts_as_sent(
    default: str, variables: dict[str, str | None], kept: bool
) -> None:
    document = parse(
        f"query($k: DateTime = {default}) {{"
        ' courtReport(asOf: "2019-01-01", knownAt: $k) { asOf } }'
    )
    assert read_model_query(document, None, variables) is kept


def test_a_null_position_waits_for_nothing() -> None:
    assert read_model_query(parse("{ families(minPosition: null) { totalCount } }"), None)


def test_no_document_is_not_kept() -> None:
    assert not read_model_query(None, None)
