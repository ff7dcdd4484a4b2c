"""The caches' bounds follow memory: what a kept family or fold is estimated to hold stays
near what it holds, measured with tracemalloc, whatever the family's shape."""

from __future__ import annotations

import gc
import pickle
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from bench.long_family import long_history
from domain.family import Family
from projections.case_fold import case_rows
from projections.cases import KEY, family_rows
from projections.folded import FoldedFamilies
from projections.projection import effective_envelopes
from projections.row_changes import fingerprint
from service.application import family_cache
from tests.scenarios.events import stream
from tests.scenarios.shapes import generated, grown, replay

# An estimate may miss by this factor either way: the bound is a budget, not an account.
WITHIN = 1.5


@contextmanager
def measured(into: list[int]) -> Iterator[None]:
    """The bytes allocated, and still held, while the block runs."""
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        yield
        gc.collect()
        into.append(tracemalloc.get_traced_memory()[0] - before)
    finally:
        tracemalloc.stop()


SHAPES: dict[str, Callable[[], list[Family]]] = {
    "generated": lambda: generated(200),
    "grown": lambda: grown(4, 300),
    "long": lambda: [long_history(2000)],
}


@pytest.mark.parametrize("shape", SHAPES)
def test_a_loaded_family_holds_about_what_the_family_cache_counts(shape: str) -> None:
    histories = [list(family.history) for family in SHAPES[shape]()]
    held: list[int] = []
    with measured(held):
        loaded = [replay(history) for history in histories]
    estimated = sum(map(family_cache.weight, loaded))
    assert 1 / WITHIN <= estimated / held[0] <= WITHIN, (estimated, held[0])


@pytest.mark.parametrize("shape", SHAPES)
def test_pickled_families_hold_about_what_the_family_cache_counts(shape: str) -> None:
    loaded = [replay(list(family.history)) for family in SHAPES[shape]()]
    for family in loaded:  # pickling makes each object's __dict__ real: not the cache's
        pickle.dumps(family)
    cache = family_cache.FamilyCache(budget=2**40, hot=0)
    held: list[int] = []
    with measured(held):
        for family in loaded:
            cache.keep(family.id, family_cache.Loaded(family, b"h"))
    assert 1 / WITHIN <= cache.held / held[0] <= WITHIN, (cache.held, held[0])


@pytest.mark.parametrize("shape", SHAPES)
def test_the_fold_memo_holds_about_what_it_counts(shape: str) -> None:
    folds, memo = [], FoldedFamilies(budget=2**40)
    for family in SHAPES[shape]():
        history = stream(family)
        rows = case_rows(history, effective_envelopes)
        written = {t: fingerprint(found, KEY.get(t)) for t, found in family_rows(rows).items()}
        folds.append((family.id, len(history), rows, written))
    held: list[int] = []
    with measured(held):
        for family_id, version, rows, written in folds:
            memo.keep(family_id, version, rows, written)
    assert 1 / WITHIN <= memo.held / held[0] <= WITHIN, (memo.held, held[0])
