"""Parsed documents are kept within a budget of query text, however many callers send."""

from __future__ import annotations

from graphql import parse

from schema.documents import KEPT_VARIABLES_BYTES, KeptDocuments, variables_key


def query(n: int, width: int = 10) -> str:
    return "{ " + f"a{n}: __typename" + " " * width + "}"


def test_the_text_kept_never_exceeds_the_budget() -> None:
    kept = KeptDocuments(budget=1000)
    for n in range(500):
        text = query(n, width=n % 50)
        kept.keep(text, parse(text))
        assert kept.held <= 1000
        assert kept.held == sum(map(len, kept.kept))


def test_the_least_recently_used_goes_first() -> None:
    first, second, third = (query(n, width=400) for n in range(3))
    kept = KeptDocuments(budget=900)
    kept.keep(first, parse(first))
    kept.keep(second, parse(second))
    assert kept.get(first) is not None  # used: now the most recent
    kept.keep(third, parse(third))
    assert kept.get(second) is None and kept.get(first) is not None


def test_a_text_larger_than_the_budget_is_not_kept() -> None:
    kept = KeptDocuments(budget=10)
    text = query(1, width=20)
    assert kept.keep(text, parse(text)).document is not None
    assert kept.get(text) is None and kept.held == 0


def test_keeping_a_text_again_keeps_its_validations() -> None:
    kept = KeptDocuments()
    text = query(1)
    kept.keep(text, parse(text)).validated[()] = []
    assert kept.keep(text, parse(text)).validated == {(): []}
    assert kept.held == len(text)


def test_variables_are_a_key_only_when_json_and_short() -> None:
    assert variables_key({"n": 1}) == b'{"n":1}'
    assert variables_key(None) == b"null"
    assert variables_key({"when": object()}) is None  # an in-process caller's object
    assert variables_key({"pad": "x" * KEPT_VARIABLES_BYTES}) is None
