"""The collector while serving: survivors of a full collection frozen out of the next ones,
thawed at intervals so cyclic garbage among them is still freed; the caches hold none."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from projections.case_fold import case_rows
from projections.projection import effective_envelopes
from service.entrypoints.collector import AfterFull, settled
from tests.scenarios.events import stream
from tests.unit.test_cache_weights import generated, grown, replay


class Clock:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Node:
    """An object that can be part of a reference cycle."""

    def __init__(self) -> None:
        self.other: Node | None = None


@pytest.fixture
def clock() -> Iterator[Clock]:
    clock = Clock()
    with settled(after_full=AfterFull(thaw_every=60, clock=clock)):
        yield clock
    assert gc.get_freeze_count() == 0  # everything thawed after serving


def test_what_survives_a_full_collection_is_frozen_out_of_the_next(clock: Clock) -> None:
    survivor = [Node() for _ in range(1_000)]
    before = gc.get_freeze_count()
    gc.collect()
    assert gc.get_freeze_count() >= before + len(survivor)


def test_a_frozen_object_dropped_is_still_freed_by_its_count(clock: Clock) -> None:
    kept = Node()
    gone = weakref.ref(kept)
    gc.collect()
    del kept
    assert gone() is None


def test_a_frozen_cycle_is_freed_once_thawed(clock: Clock) -> None:
    a, b = Node(), Node()
    a.other, b.other = b, a
    gone = weakref.ref(a)
    gc.collect()  # a and b survive, and are frozen
    del a, b
    gc.collect()
    assert gone() is not None  # garbage, but frozen: not walked
    clock.now = 61
    gc.collect()  # thaws at its end
    gc.collect()
    assert gone() is None


def test_cached_families_and_folds_hold_no_reference_cycles() -> None:
    families = grown(3, 50) + generated(20)
    histories = [list(family.history) for family in families]
    gc.collect()
    gc.disable()
    try:
        for history in histories:
            loaded = replay(history)
            rows = case_rows(stream(loaded), effective_envelopes)
            del loaded, rows
        assert gc.collect() == 0  # all freed by their counts: nothing left for the collector
    finally:
        gc.enable()
