"""While serving, start-up's objects are frozen and young collections rarer; undone after."""

from __future__ import annotations

import gc

import pytest

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
