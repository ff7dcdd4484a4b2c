"""While serving, start-up's objects are frozen and young collections rarer; undone after."""

from __future__ import annotations

import gc

import pytest

from service.entrypoints import collector
from service.entrypoints.collector import YOUNG_THRESHOLD, settled


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
    assert collector.trim_after_full not in gc.callbacks


def test_this_machine_has_malloc_trim() -> None:
    """The service's Linux images are glibc: a missing trim would go unnoticed."""
    assert collector.TRIM is not None
