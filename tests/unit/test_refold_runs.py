"""A batch's refolds are read in runs bounded by their stored events."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast
from uuid import UUID

from hypothesis import given
from hypothesis import strategies as st

from projections.cases import runs
from projections.projection import Envelope


def _own(stored: list[int]) -> dict[UUID, list[Envelope]]:
    """Families whose first event in the batch follows `stored` events."""
    first = (SimpleNamespace(recorded=SimpleNamespace(version=n + 1)) for n in stored)
    return {UUID(int=i): [cast(Any, e)] for i, e in enumerate(first)}


@given(st.lists(st.integers(0, 50), max_size=30), st.integers(1, 60))
def test_runs_keep_every_family_in_order_within_the_bound(stored: list[int], events: int) -> None:
    own = _own(stored)
    found = list(runs(list(own), own, events))
    assert [i for run in found for i in run] == list(own)
    for run in found:
        held = sum(own[i][0].recorded.version - 1 for i in run)
        assert run and (held <= events or len(run) == 1)


def test_a_long_family_runs_alone_and_short_ones_share() -> None:
    own = _own([3, 3, 100, 2, 2])
    assert [len(run) for run in runs(list(own), own, 6)] == [2, 1, 2]
