"""While serving: start-up's objects frozen, young collections rarer, glibc trimmed and the
survivors of each full collection frozen, thawed at intervals so cyclic garbage among them is
still freed (the caches hold none); all undone after."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from projections.case_fold import case_rows
from projections.projection import effective_envelopes
from service.entrypoints import collector
from service.entrypoints.collector import YOUNG_THRESHOLD, AfterFull, settled
from tests.scenarios.events import stream
from tests.scenarios.shapes import generated, grown, replay


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


def test_start_up_is_frozen_and_the_young_threshold_raised_only_inside() -> None:
    before = gc.get_threshold()
    with settled():
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold() == (YOUNG_THRESHOLD, *before[1:])
    assert gc.get_freeze_count() == 0
    assert gc.get_threshold() == before


def test_undone_after_a_failure_inside() -> None:
    before = gc.get_threshold()
    with pytest.raises(ZeroDivisionError), settled(1234):
        _ = 1 / 0
    assert gc.get_freeze_count() == 0
    assert gc.get_threshold() == before


def test_glibc_is_trimmed_after_each_full_collection_only_inside(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    trims: list[int] = []

    def trim(pad: int) -> int:
        trims.append(pad)
        return 1

    monkeypatch.setattr(collector, "TRIM", trim)
    with settled():
        gc.collect(0)
        assert trims == []  # a young collection frees little: not worth a trim
        gc.collect()
        assert trims == [0]
    gc.collect()
    assert trims == [0]
    assert not any(isinstance(c, AfterFull) for c in gc.callbacks)


def test_this_machine_has_malloc_trim() -> None:
    """The service's Linux images are glibc: a missing trim would go unnoticed."""
    assert collector.TRIM is not None


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
