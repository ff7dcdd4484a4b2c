"""Small counts hidden from analysts, so that no hidden count can be worked back out."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from schema.report import SMALL, hidden_bands

BANDS = ("under_5", "from_5_to_17", "adult", "unknown_age")


def test_a_lone_small_band_under_a_shown_total_takes_the_next_smallest_with_it() -> None:
    split = {"under_5": 2, "from_5_to_17": 7, "adult": 11, "unknown_age": 0}
    assert hidden_bands(20, split) == {"under_5", "from_5_to_17"}


def test_two_small_bands_already_hide_each_other() -> None:
    split = {"under_5": 2, "from_5_to_17": 3, "adult": 11, "unknown_age": 0}
    assert hidden_bands(16, split) == {"under_5", "from_5_to_17"}


def test_nothing_small_hides_nothing() -> None:
    assert (
        hidden_bands(20, {"under_5": 5, "from_5_to_17": 15, "adult": 0, "unknown_age": 0}) == set()
    )


@given(st.lists(st.integers(min_value=0, max_value=40), min_size=4, max_size=4))
def test_no_hidden_band_is_the_shown_total_minus_the_shown_bands(counts: list[int]) -> None:
    split = dict(zip(BANDS, counts, strict=True))
    total = sum(counts)
    hidden = hidden_bands(total, split)
    assert all(split[b] == 0 or split[b] >= SMALL for b in BANDS if b not in hidden)
    if total >= SMALL:  # the total is shown: a hidden small band never stands alone
        assert len({b for b in hidden if split[b] > 0}) != 1
